"""GET /api/v1/users and PATCH /api/v1/users/{id} against the running service."""

import asyncio
from urllib.parse import urlsplit

import orjson
import pytest

from models.orgs import create_org
from models.users import User
from server.kernel.pagination import encode_cursor

USERS = "/api/v1/users"


@pytest.fixture
async def county_tree(api):
    """A county with two townships, a village under the first."""
    county = await create_org("县", "county", None)
    east = await create_org("东镇", "township", county.id)
    west = await create_org("西镇", "township", county.id)
    village = await create_org("东村", "village", east.id)
    return county, east, west, village


async def ids_of(api, token, query=""):
    reply = await api.call("GET", f"{USERS}{query}", token=token)
    assert reply.status == 200, reply.body
    return {int(item["id"]) for item in reply.body["items"]}


# -- listing ------------------------------------------------------------------


async def test_staff_lists_only_own_subtree(api, county_tree):
    _, east, west, village = county_tree
    staff_token, staff_id = await api.person("staff", east.id)
    _, in_township = await api.person("volunteer", east.id)
    _, in_village = await api.person("influencer", village.id)
    await api.person("volunteer", west.id)
    await api.person("volunteer", None)

    assert await ids_of(api, staff_token) == {staff_id, in_township, in_village}


async def test_admin_lists_everyone(api, county_tree):
    county, east, west, _ = county_tree
    admin_token, admin_id = await api.person("admin")
    others = {(await api.person("volunteer", org))[1] for org in (county.id, east.id, west.id, None)}

    assert await ids_of(api, admin_token) == {admin_id, *others}


async def test_list_items_have_user_shape(api, county_tree):
    _, east, _, _ = county_tree
    token, staff_id = await api.person("staff", east.id)

    reply = await api.call("GET", USERS, token=token)

    [item] = reply.body["items"]
    assert item["id"] == str(staff_id)
    assert item["role"] == "staff"
    assert item["org"]["id"] == str(east.id)
    assert reply.body["next_cursor"] is None


async def test_filter_by_role(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)
    _, influencer = await api.person("influencer", east.id)
    await api.person("volunteer", east.id)

    assert await ids_of(api, token, "?role=influencer") == {influencer}


async def test_filter_by_org_covers_its_subtree(api, county_tree):
    county, east, west, village = county_tree
    token, _ = await api.person("admin")
    _, in_village = await api.person("volunteer", village.id)
    _, in_township = await api.person("volunteer", east.id)
    await api.person("volunteer", west.id)
    await api.person("volunteer", county.id)

    assert await ids_of(api, token, f"?org_id={east.id}") == {in_township, in_village}


async def test_staff_asking_for_an_org_outside_their_subtree_is_forbidden(api, county_tree):
    """As for reports: another township's people are refused outright, not answered with an empty list."""
    _, east, west, _ = county_tree
    token, _ = await api.person("staff", east.id)
    await api.person("volunteer", west.id)

    reply = await api.call("GET", f"{USERS}?org_id={west.id}", token=token)

    assert reply.status == 403, reply.body
    assert reply.error_code == "forbidden"


async def test_filter_by_unknown_org_is_invalid(api, county_tree):
    token, _ = await api.person("admin")

    reply = await api.call("GET", f"{USERS}?org_id=999999", token=token)

    assert reply.status == 400
    assert "org_id" in reply.body["error"]["details"]["fields"]


async def test_filter_by_unknown_role_is_invalid(api):
    token, _ = await api.person("admin")

    reply = await api.call("GET", f"{USERS}?role=king", token=token)

    assert reply.status == 400
    assert "role" in reply.body["error"]["details"]["fields"]


async def test_q_matches_nickname(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)
    _, wang = await api.person("volunteer", east.id)
    _, li = await api.person("volunteer", east.id)
    await User.filter(id=wang).update(nickname="王小明")
    await User.filter(id=li).update(nickname="李大山")

    assert await ids_of(api, token, "?q=小明") == {wang}


async def test_pagination_returns_everyone_exactly_once(api):
    token, admin_id = await api.person("admin")
    everyone = {admin_id} | {(await api.person())[1] for _ in range(4)}

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        reply = await api.call("GET", f"{USERS}{query}", token=token)
        assert reply.status == 200, reply.body
        assert len(reply.body["items"]) <= 2
        seen += [int(item["id"]) for item in reply.body["items"]]
        pages += 1
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
        assert pages < 10

    assert sorted(seen) == sorted(everyone)
    assert pages == 3


async def test_pagination_ignores_people_added_meanwhile(api):
    token, admin_id = await api.person("admin")
    before = {admin_id} | {(await api.person())[1] for _ in range(3)}

    first = await api.call("GET", f"{USERS}?limit=2", token=token)
    await api.person()
    rest = await api.call("GET", f"{USERS}?limit=10&cursor={first.body['next_cursor']}", token=token)

    listed = [int(i["id"]) for i in first.body["items"] + rest.body["items"]]
    assert sorted(listed) == sorted(before)


async def test_garbage_cursor_is_invalid(api):
    token, _ = await api.person("admin")

    reply = await api.call("GET", f"{USERS}?cursor=garbage!!", token=token)

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "cursor" in reply.body["error"]["details"]["fields"]


@pytest.mark.parametrize("key", ["abc", None, 10**15, -1])
async def test_well_formed_cursor_with_a_bad_key_is_invalid(api, key):
    token, _ = await api.person("admin")

    reply = await api.call("GET", f"{USERS}?cursor={encode_cursor(key)}", token=token)

    assert reply.status == 400
    assert "cursor" in reply.body["error"]["details"]["fields"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "many"])
async def test_limit_out_of_range_is_invalid(api, limit):
    token, _ = await api.person("admin")

    reply = await api.call("GET", f"{USERS}?limit={limit}", token=token)

    assert reply.status == 400
    assert "limit" in reply.body["error"]["details"]["fields"]


@pytest.mark.parametrize("role", ["volunteer", "influencer"])
async def test_non_staff_may_not_list(api, county_tree, role):
    _, east, _, _ = county_tree
    token, _ = await api.person(role, east.id)

    reply = await api.call("GET", USERS, token=token)

    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_staff_without_org_may_not_list(api):
    token, _ = await api.person("staff", None)

    reply = await api.call("GET", USERS, token=token)

    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_list_needs_sign_in(api):
    reply = await api.call("GET", USERS)

    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


# -- changing role and org -----------------------------------------------------


async def test_admin_makes_someone_staff_of_an_org(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("admin")
    _, target = await api.person()

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": "staff", "org_id": str(east.id)})

    assert reply.status == 200
    assert reply.body["role"] == "staff"
    assert reply.body["org"]["id"] == str(east.id)
    assert await User.filter(id=target, role="staff", org_id=east.id).exists()


async def test_staff_grants_influencer_inside_subtree(api, county_tree):
    _, east, _, village = county_tree
    token, _ = await api.person("staff", east.id)
    _, target = await api.person("volunteer", village.id)

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": "influencer"})

    assert reply.status == 200
    assert reply.body["role"] == "influencer"
    assert await User.filter(id=target, role="influencer").exists()


async def test_staff_takes_influencer_back(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)
    _, target = await api.person("influencer", east.id)

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": "volunteer"})

    assert reply.status == 200
    assert reply.body["role"] == "volunteer"


@pytest.mark.parametrize("role", ["staff", "admin"])
async def test_staff_may_not_grant_staff_or_admin(api, county_tree, role):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)
    _, target = await api.person("volunteer", east.id)

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": role})

    assert reply.status == 403
    assert reply.error_code == "forbidden"
    assert await User.filter(id=target, role="volunteer").exists()


async def test_staff_may_not_demote_other_staff(api, county_tree):
    _, east, _, village = county_tree
    token, _ = await api.person("staff", east.id)
    _, colleague = await api.person("staff", village.id)

    reply = await api.call("PATCH", f"{USERS}/{colleague}", token=token, json={"role": "volunteer"})

    assert reply.status == 403
    assert await User.filter(id=colleague, role="staff").exists()


async def test_staff_cannot_see_sibling_townships_people(api, county_tree):
    _, east, west, _ = county_tree
    token, _ = await api.person("staff", east.id)
    _, target = await api.person("volunteer", west.id)

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": "influencer"})

    assert reply.status == 404
    assert reply.error_code == "not_found"
    assert await User.filter(id=target, role="volunteer").exists()


async def test_staff_moves_person_within_subtree(api, county_tree):
    _, east, _, village = county_tree
    token, _ = await api.person("staff", east.id)
    _, target = await api.person("volunteer", east.id)

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"org_id": str(village.id)})

    assert reply.status == 200
    assert reply.body["org"]["id"] == str(village.id)


async def test_staff_may_not_move_person_outside_subtree(api, county_tree):
    _, east, west, _ = county_tree
    token, _ = await api.person("staff", east.id)
    _, target = await api.person("volunteer", east.id)

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"org_id": str(west.id)})

    assert reply.status == 403
    assert reply.error_code == "forbidden"
    assert await User.filter(id=target, org_id=east.id).exists()


async def test_staff_may_not_remove_person_from_org(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)
    _, target = await api.person("volunteer", east.id)

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"org_id": None})

    assert reply.status == 403
    assert await User.filter(id=target, org_id=east.id).exists()


async def test_unknown_user_is_not_found(api):
    token, _ = await api.person("admin")

    reply = await api.call("PATCH", f"{USERS}/999999", token=token, json={"role": "influencer"})

    assert reply.status == 404
    assert reply.error_code == "not_found"


async def test_huge_user_id_is_not_found_not_a_crash(api):
    token, _ = await api.person("admin")

    reply = await api.call("PATCH", f"{USERS}/99999999999999", token=token, json={"role": "influencer"})

    assert reply.status == 404
    assert reply.error_code == "not_found"


async def test_admin_moving_to_unknown_org_is_invalid(api):
    token, _ = await api.person("admin")
    _, target = await api.person()

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"org_id": "99999999999999"})

    assert reply.status == 400
    assert "org_id" in reply.body["error"]["details"]["fields"]


async def test_unknown_role_is_invalid(api):
    token, _ = await api.person("admin")
    _, target = await api.person()

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": "king"})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "role" in reply.body["error"]["details"]["fields"]


async def test_null_role_is_invalid(api):
    token, _ = await api.person("admin")
    _, target = await api.person()

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": None})

    assert reply.status == 400
    assert "role" in reply.body["error"]["details"]["fields"]


async def test_volunteer_may_not_change_people(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("volunteer", east.id)
    _, target = await api.person("volunteer", east.id)

    reply = await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": "influencer"})

    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_new_role_shows_on_targets_existing_token(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)
    target_token, target = await api.person("volunteer", east.id)

    await api.call("PATCH", f"{USERS}/{target}", token=token, json={"role": "influencer"})
    me = await api.call("GET", "/api/v1/me", token=target_token)

    assert me.body["role"] == "influencer"


async def raw_get(api, target: bytes, token: str) -> tuple[int, dict]:
    """GET with the request target's bytes as given: unencoded UTF-8, as some clients send a query."""
    host, port = urlsplit(api.service.base_url).netloc.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"GET " + target + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\nConnection: close\r\n\r\n"
        )
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), orjson.loads(body)


async def test_unencoded_utf8_in_the_query_is_decoded(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)
    _, zhang = await api.person("volunteer", east.id)
    _, li = await api.person("volunteer", east.id)
    await User.filter(id=zhang).update(nickname="张三")
    await User.filter(id=li).update(nickname="李四")

    status, body = await raw_get(api, f"{USERS}?q=张".encode(), token)

    assert status == 200, body
    assert {int(item["id"]) for item in body["items"]} == {zhang}


async def test_bytes_that_are_not_utf8_in_the_query_are_a_clean_answer(api):
    token, _ = await api.person("admin")
    status, body = await raw_get(api, USERS.encode() + b"?q=\xff\xfe", token)
    assert status in (200, 400) and ("items" in body or body["error"]["code"] == "invalid_request")
