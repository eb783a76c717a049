"""GET and PATCH /api/v1/me against the running service."""

from datetime import datetime

from models.orgs import create_org

ME = "/api/v1/me"
USER_FIELDS = {
    "id",
    "role",
    "nickname",
    "real_name",
    "avatar_url",
    "org",
    "phone",
    "points",
    "service_hours",
    "credit_hours",
    "honour_hours",
    "star_level",
    "leaderboard_visible",
    "created_at",
}


async def test_me_returns_the_user_shape(api):
    token, user = await api.login()

    reply = await api.call("GET", ME, token=token)

    assert reply.status == 200
    # The User, the org change awaiting approval (see test_org_requests.py), unread notices (test_notices.py).
    assert set(reply.body) == USER_FIELDS | {"pending_org", "unread_notices"}
    assert reply.body["pending_org"] is None
    assert reply.body["unread_notices"] == 0
    assert reply.body["id"] == user["id"]
    assert isinstance(reply.body["id"], str)
    assert reply.body["role"] == "volunteer"
    assert reply.body["org"] is None
    assert reply.body["phone"] is None
    assert reply.body["points"] == 0
    assert reply.body["service_hours"] == reply.body["credit_hours"] == reply.body["honour_hours"] == 0
    assert reply.body["star_level"] == 0
    assert reply.body["leaderboard_visible"] is True
    assert datetime.fromisoformat(reply.body["created_at"]).utcoffset() is not None


async def test_me_answers_json_content_type(api):
    token, _ = await api.login()

    reply = await api.call("GET", ME, token=token)

    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_me_without_token_is_unauthenticated(api):
    reply = await api.call("GET", ME)

    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


async def test_me_with_unknown_token_is_unauthenticated(api):
    reply = await api.call("GET", ME, token="not-a-real-token")

    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


async def test_patch_me_without_token_is_unauthenticated(api):
    reply = await api.call("PATCH", ME, json={"nickname": "张三"})

    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


async def test_nickname_change_persists(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"nickname": "张三"})
    again = await api.call("GET", ME, token=token)

    assert reply.status == 200
    assert reply.body["nickname"] == "张三"
    assert again.body["nickname"] == "张三"


async def test_leaderboard_visibility_change_persists(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"leaderboard_visible": False})
    again = await api.call("GET", ME, token=token)

    assert reply.status == 200
    assert again.body["leaderboard_visible"] is False


async def test_empty_nickname_is_invalid(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"nickname": "   "})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "nickname" in reply.body["error"]["details"]["fields"]


async def test_too_long_nickname_is_invalid(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"nickname": "长" * 33})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "nickname" in reply.body["error"]["details"]["fields"]


async def test_non_string_nickname_is_invalid(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"nickname": 42})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "nickname" in reply.body["error"]["details"]["fields"]


async def test_null_nickname_is_invalid(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"nickname": None})

    assert reply.status == 400
    assert "nickname" in reply.body["error"]["details"]["fields"]


async def test_rejected_nickname_leaves_profile_unchanged(api):
    token, user = await api.login()

    await api.call("PATCH", ME, token=token, json={"nickname": "长" * 33})
    again = await api.call("GET", ME, token=token)

    assert again.body["nickname"] == user["nickname"]


async def test_unknown_field_is_invalid(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"role": "admin"})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "role" in reply.body["error"]["details"]["fields"]


async def test_non_bool_leaderboard_visible_is_invalid(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"leaderboard_visible": "yes"})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "leaderboard_visible" in reply.body["error"]["details"]["fields"]


async def test_malformed_json_is_invalid(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, data="{nickname", headers={"Content-Type": "application/json"})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"


async def test_volunteer_joins_an_existing_org(api):
    county = await create_org("县", "county", None)
    township = await create_org("城关镇", "township", county.id)
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"org_id": str(township.id)})

    assert reply.status == 200
    assert reply.body["org"] == {
        "id": str(township.id),
        "name": "城关镇",
        "kind": "township",
        "parent_id": str(county.id),
    }


async def test_joined_org_persists(api):
    county = await create_org("县", "county", None)
    token, _ = await api.login()

    await api.call("PATCH", ME, token=token, json={"org_id": str(county.id)})
    again = await api.call("GET", ME, token=token)

    assert again.body["org"]["id"] == str(county.id)


async def test_unknown_org_is_invalid(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"org_id": "999999"})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "org_id" in reply.body["error"]["details"]["fields"]


async def test_huge_org_id_is_invalid_not_a_crash(api):
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"org_id": "99999999999999"})

    assert reply.status == 400
    assert "org_id" in reply.body["error"]["details"]["fields"]


async def test_numeric_org_id_is_invalid(api):
    # Ids are opaque strings in JSON.
    county = await create_org("县", "county", None)
    token, _ = await api.login()

    reply = await api.call("PATCH", ME, token=token, json={"org_id": county.id})

    assert reply.status == 400
    assert "org_id" in reply.body["error"]["details"]["fields"]


async def test_staff_may_not_change_own_org(api):
    county = await create_org("县", "county", None)
    township = await create_org("镇", "township", county.id)
    token, _ = await api.person("staff", township.id)

    reply = await api.call("PATCH", ME, token=token, json={"org_id": str(county.id)})

    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_staff_org_stays_after_refused_change(api):
    county = await create_org("县", "county", None)
    township = await create_org("镇", "township", county.id)
    token, _ = await api.person("staff", township.id)

    await api.call("PATCH", ME, token=token, json={"org_id": str(county.id)})
    again = await api.call("GET", ME, token=token)

    assert again.body["org"]["id"] == str(township.id)


async def test_staff_may_change_own_nickname(api):
    county = await create_org("县", "county", None)
    token, _ = await api.person("staff", county.id)

    reply = await api.call("PATCH", ME, token=token, json={"nickname": "宣传干事"})

    assert reply.status == 200
    assert reply.body["nickname"] == "宣传干事"
