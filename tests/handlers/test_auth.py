"""Sign-in through the fake WeChat over real HTTP, phone binding, sign-out."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from models.users import AuthToken, User
from server.wechat.client import CODE2SESSION_PATH, PHONE_PATH, STABLE_TOKEN_PATH

LOGIN = "/api/v1/auth/wechat-login"


async def test_first_sign_in_creates_a_volunteer(api):
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code("o-new")})
    assert reply.status == 200
    assert reply.body["expires_in"] > 0
    assert reply.body["user"]["role"] == "volunteer"
    assert await User.filter(openid="o-new").count() == 1


async def test_second_sign_in_finds_the_same_person(api):
    _, first = await api.login("o-again")
    _, second = await api.login("o-again")
    assert first["id"] == second["id"]
    assert await User.filter(openid="o-again").count() == 1


async def test_token_opens_me(api):
    token, user = await api.login()
    reply = await api.call("GET", "/api/v1/me", token=token)
    assert reply.status == 200
    assert reply.body["id"] == user["id"]


async def test_session_key_never_leaves_the_server(api):
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code("o-key")})
    assert "session_key" not in reply.body and "session_key" not in reply.body["user"]
    stored = await User.get(openid="o-key")
    # Stored encrypted, and the clear key appears in no response.
    assert stored.session_key_enc and "session" not in stored.session_key_enc


async def test_tokens_are_stored_only_as_hashes(api):
    token, _ = await api.login()
    rows = await AuthToken.all().values_list("token_hash", flat=True)
    assert token not in rows
    assert len(rows) == 1 and len(rows[0]) == 64


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "code"),
        ({"code": ""}, "code"),
        ({"code": "   "}, "code"),
        ({"code": 123}, "code"),
        ({"code": None}, "code"),
        ({"code": ["a"]}, "code"),
        ({"code": "x" * 500}, "code"),
    ],
)
async def test_bad_code_field_is_400(api, body, field):
    reply = await api.call("POST", LOGIN, json=body)
    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert field in reply.body["error"]["details"]["fields"]
    assert api.wechat.count(CODE2SESSION_PATH) == 0


async def test_body_that_is_not_an_object_is_400(api):
    reply = await api.call("POST", LOGIN, json=["code"])
    assert reply.status == 400
    assert reply.error_code == "invalid_request"


async def test_malformed_json_is_400(api):
    reply = await api.call("POST", LOGIN, data=b'{"code": ', headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.error_code == "invalid_request"


async def test_used_code_is_401(api):
    code = api.wechat.issue_code()
    assert (await api.call("POST", LOGIN, json={"code": code})).status == 200
    reply = await api.call("POST", LOGIN, json={"code": code})
    assert reply.status == 401
    assert reply.error_code == "wechat_code_invalid"


async def test_unknown_code_is_401(api):
    reply = await api.call("POST", LOGIN, json={"code": "never-issued"})
    assert reply.status == 401
    assert reply.error_code == "wechat_code_invalid"


async def test_wechat_busy_every_time_is_503_and_writes_nothing(api):
    api.wechat.fail_next(CODE2SESSION_PATH, -1, times=10)
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code("o-busy")})
    assert reply.status == 503
    assert reply.error_code == "wechat_unavailable"
    assert int(reply.headers["Retry-After"]) >= 1
    assert await User.all().count() == 0
    assert await AuthToken.all().count() == 0


async def test_wechat_busy_once_is_retried(api):
    api.wechat.fail_next(CODE2SESSION_PATH, -1, times=1)
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code()})
    assert reply.status == 200
    assert api.wechat.count(CODE2SESSION_PATH) == 2


async def test_wechat_too_slow_is_503_and_writes_nothing(api):
    api.wechat.delay(CODE2SESSION_PATH, 5)
    started = asyncio.get_running_loop().time()
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code()})
    assert reply.status == 503
    assert reply.error_code == "wechat_unavailable"
    assert "Retry-After" in reply.headers
    # Bounded by the configured WeChat timeout (1.5 s in tests), not by WeChat.
    assert asyncio.get_running_loop().time() - started < 4
    assert await User.all().count() == 0


async def test_wechat_rate_limit_is_429(api):
    api.wechat.fail_next(CODE2SESSION_PATH, 45011)
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code()})
    assert reply.status == 429
    assert reply.error_code == "wechat_rate_limited"
    assert int(reply.headers["Retry-After"]) >= 1


async def test_blocked_wechat_user_is_403(api):
    api.wechat.fail_next(CODE2SESSION_PATH, 40226)
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code()})
    assert reply.status == 403
    assert reply.error_code == "wechat_user_blocked"


async def test_sign_in_is_rate_limited_per_ip(api):
    limiter, rate = api.service.services.limiter, api.service.config.limit_signin
    for _attempt in range(2):
        # Fill this window's allowance; retry once if the window turned over meanwhile.
        window = int(time.time()) // rate.period
        for _ in range(rate.limit):
            await limiter.hit("signin", "127.0.0.1", rate)
        reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code()})
        if int(time.time()) // rate.period == window:
            break
    assert reply.status == 429
    assert reply.error_code == "rate_limited"
    assert int(reply.headers["Retry-After"]) >= 1
    assert api.wechat.count(CODE2SESSION_PATH) == 0


async def test_logout_revokes_at_once(api):
    token, _ = await api.login()
    assert (await api.call("POST", "/api/v1/auth/logout", token=token)).status == 204
    reply = await api.call("GET", "/api/v1/me", token=token)
    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


async def test_logout_leaves_other_sessions_signed_in(api):
    first, _ = await api.login("o-two-phones")
    second, _ = await api.login("o-two-phones")
    await api.call("POST", "/api/v1/auth/logout", token=first)
    assert (await api.call("GET", "/api/v1/me", token=second)).status == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer forged-token-value", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 4000, "token"],
)
async def test_forged_or_malformed_token_is_401(api, header):
    await api.login()
    reply = await api.call("GET", "/api/v1/me", headers={"Authorization": header})
    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


async def test_expired_token_is_401(api):
    token, _ = await api.login()
    await AuthToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    reply = await api.call("GET", "/api/v1/me", token=token)
    assert reply.status == 401


async def test_volunteer_calling_staff_route_is_403(api):
    token, _ = await api.login()
    reply = await api.call("GET", "/api/v1/users", token=token)
    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_phone_is_bound_masked_and_encrypted(api):
    token, _ = await api.login("o-phone")
    code = api.wechat.issue_phone_code("13912345678")
    reply = await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": code})
    assert reply.status == 200
    assert reply.body["phone"] == "139****5678"
    stored = await User.get(openid="o-phone")
    assert "13912345678" not in (stored.phone_enc or "")
    assert api.service.services.vault.decrypt(stored.phone_enc) == "13912345678"
    assert (await api.call("GET", "/api/v1/me", token=token)).body["phone"] == "139****5678"


async def test_used_phone_code_is_400_and_the_person_stays_signed_in(api):
    """The person is signed in: a 401 would make the mini-program sign them out over a bad phone code."""
    token, _ = await api.login()
    code = api.wechat.issue_phone_code()
    await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": code})
    reply = await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": code})
    assert reply.status == 400
    assert reply.error_code == "wechat_code_invalid"
    assert "手机号" in reply.body["error"]["message"]
    assert (await api.call("GET", "/api/v1/me", token=token)).status == 200


async def test_phone_code_errors_are_documented_as_400(api):
    spec = (await api.call("GET", "/docs/openapi.json")).body
    responses = spec["paths"]["/api/v1/auth/phone"]["post"]["responses"]
    assert "wechat_code_invalid" in responses["400"]["description"]
    assert "wechat_code_invalid" not in responses["401"]["description"]


async def test_phone_moves_to_whoever_proves_it(api):
    first, _ = await api.login("o-old-owner")
    second, _ = await api.login("o-new-owner")
    for token in (first, second):
        code = api.wechat.issue_phone_code("13700001111")
        assert (await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": code})).status == 200
    assert (await api.call("GET", "/api/v1/me", token=first)).body["phone"] is None
    assert (await api.call("GET", "/api/v1/me", token=second)).body["phone"] == "137****1111"


async def test_phone_needs_sign_in(api):
    reply = await api.call("POST", "/api/v1/auth/phone", json={"code": "x"})
    assert reply.status == 401


async def test_fifty_sign_ins_with_phone_fetch_at_most_one_access_token(api):
    for i in range(50):
        token, _ = await api.login(f"o-many-{i}")
        code = api.wechat.issue_phone_code(f"1380000{i:04d}")
        reply = await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": code})
        assert reply.status == 200
    assert api.wechat.count(PHONE_PATH) == 50
    assert api.wechat.count(STABLE_TOKEN_PATH) <= 1


async def test_concurrent_first_sign_ins_make_one_person(api):
    codes = [api.wechat.issue_code("o-race") for _ in range(8)]
    replies = await asyncio.gather(*(api.call("POST", LOGIN, json={"code": c}) for c in codes))
    assert {r.status for r in replies} == {200}
    assert len({r.body["user"]["id"] for r in replies}) == 1
    assert await User.filter(openid="o-race").count() == 1


async def test_the_same_code_tried_again_and_again_is_rate_limited(api):
    replies = [
        await api.call("POST", "/api/v1/auth/wechat-login", json={"code": "a-used-or-made-up-code"}) for _ in range(7)
    ]
    assert [r.status for r in replies[:5]] == [401] * 5  # WeChat says: code invalid
    assert replies[5].status == 429 and replies[5].error_code == "rate_limited"
    assert int(replies[5].headers["Retry-After"]) >= 1
    fresh = await api.call("POST", "/api/v1/auth/wechat-login", json={"code": api.wechat.issue_code()})
    assert fresh.status == 200  # other codes from the same address still work
