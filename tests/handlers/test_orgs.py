"""GET and POST /api/v1/orgs against the running service."""

import asyncio

import pytest

from models.orgs import Org, create_org

ORGS = "/api/v1/orgs"


@pytest.fixture
async def county_tree(api):
    """A county with two townships, a village under the first."""
    county = await create_org("县", "county", None)
    east = await create_org("东镇", "township", county.id)
    west = await create_org("西镇", "township", county.id)
    village = await create_org("东村", "village", east.id)
    return county, east, west, village


async def test_tree_nests_county_township_village(api, county_tree):
    county, east, west, village = county_tree
    token, _ = await api.login()

    reply = await api.call("GET", ORGS, token=token)

    assert reply.status == 200
    [root] = reply.body["items"]
    assert (root["id"], root["kind"], root["parent_id"]) == (str(county.id), "county", None)
    townships = {t["id"]: t for t in root["children"]}
    assert set(townships) == {str(east.id), str(west.id)}
    assert townships[str(east.id)]["parent_id"] == str(county.id)
    assert [v["id"] for v in townships[str(east.id)]["children"]] == [str(village.id)]
    assert townships[str(east.id)]["children"][0]["kind"] == "village"
    assert townships[str(west.id)]["children"] == []


async def test_tree_needs_sign_in(api, county_tree):
    reply = await api.call("GET", ORGS)

    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


async def test_admin_creates_root_county(api):
    token, _ = await api.person("admin")

    reply = await api.call("POST", ORGS, token=token, json={"name": "新县", "kind": "county"})

    assert reply.status == 201
    assert set(reply.body) == {"id", "name", "kind", "parent_id"}
    assert isinstance(reply.body["id"], str)
    assert (reply.body["name"], reply.body["kind"], reply.body["parent_id"]) == ("新县", "county", None)


async def test_admin_creates_township_under_county(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("admin")

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "南镇", "kind": "township", "parent_id": str(county.id)}
    )

    assert reply.status == 201
    assert reply.body["parent_id"] == str(county.id)
    assert await Org.filter(id=int(reply.body["id"]), parent_id=county.id).exists()


async def test_created_org_appears_in_tree(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("admin")

    created = await api.call(
        "POST", ORGS, token=token, json={"name": "南镇", "kind": "township", "parent_id": str(county.id)}
    )
    tree = await api.call("GET", ORGS, token=token)

    assert created.body["id"] in {t["id"] for t in tree.body["items"][0]["children"]}


async def test_staff_creates_under_own_org(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "新村", "kind": "village", "parent_id": str(east.id)}
    )

    assert reply.status == 201
    assert reply.body["parent_id"] == str(east.id)


async def test_staff_creates_under_a_descendant(api, county_tree):
    _, east, _, village = county_tree
    token, _ = await api.person("staff", east.id)

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "东村小学", "kind": "unit", "parent_id": str(village.id)}
    )

    assert reply.status == 201
    assert reply.body["parent_id"] == str(village.id)


async def test_staff_may_not_create_under_sibling_township(api, county_tree):
    _, east, west, _ = county_tree
    token, _ = await api.person("staff", east.id)

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "西村", "kind": "village", "parent_id": str(west.id)}
    )

    assert reply.status == 403
    assert reply.error_code == "forbidden"
    assert not await Org.filter(name="西村").exists()


async def test_staff_may_not_create_above_own_org(api, county_tree):
    county, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "南镇", "kind": "township", "parent_id": str(county.id)}
    )

    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_staff_may_not_create_a_root(api, county_tree):
    _, east, _, _ = county_tree
    token, _ = await api.person("staff", east.id)

    reply = await api.call("POST", ORGS, token=token, json={"name": "另一县", "kind": "county"})

    assert reply.status == 403
    assert reply.error_code == "forbidden"
    assert not await Org.filter(name="另一县").exists()


async def test_staff_without_org_may_not_create(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("staff", None)

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "南镇", "kind": "township", "parent_id": str(county.id)}
    )

    assert reply.status == 403
    assert reply.error_code == "forbidden"


@pytest.mark.parametrize("role", ["volunteer", "influencer"])
async def test_non_staff_may_not_create(api, county_tree, role):
    county, *_ = county_tree
    token, _ = await api.person(role, county.id)

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "南镇", "kind": "township", "parent_id": str(county.id)}
    )

    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_create_needs_sign_in(api):
    reply = await api.call("POST", ORGS, json={"name": "新县", "kind": "county"})

    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


async def test_bad_kind_is_invalid(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("admin")

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "南镇", "kind": "province", "parent_id": str(county.id)}
    )

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "kind" in reply.body["error"]["details"]["fields"]


async def test_missing_name_is_invalid(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("admin")

    reply = await api.call("POST", ORGS, token=token, json={"kind": "township", "parent_id": str(county.id)})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "name" in reply.body["error"]["details"]["fields"]


async def test_blank_name_is_invalid(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("admin")

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "  ", "kind": "township", "parent_id": str(county.id)}
    )

    assert reply.status == 400
    assert "name" in reply.body["error"]["details"]["fields"]


async def test_village_directly_under_county_is_invalid(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("admin")

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "直属村", "kind": "village", "parent_id": str(county.id)}
    )

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "parent_id" in reply.body["error"]["details"]["fields"]


async def test_township_without_parent_is_invalid(api):
    token, _ = await api.person("admin")

    reply = await api.call("POST", ORGS, token=token, json={"name": "孤镇", "kind": "township"})

    assert reply.status == 400
    assert "parent_id" in reply.body["error"]["details"]["fields"]


async def test_duplicate_name_under_same_parent_is_invalid(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("admin")

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "东镇", "kind": "township", "parent_id": str(county.id)}
    )

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "name" in reply.body["error"]["details"]["fields"]
    assert await Org.filter(name="东镇").count() == 1


async def test_unknown_parent_is_invalid(api):
    token, _ = await api.person("admin")

    reply = await api.call("POST", ORGS, token=token, json={"name": "南镇", "kind": "township", "parent_id": "999999"})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "parent_id" in reply.body["error"]["details"]["fields"]


async def test_huge_parent_id_is_invalid_not_a_crash(api):
    token, _ = await api.person("admin")

    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "南镇", "kind": "township", "parent_id": "99999999999999"}
    )

    assert reply.status == 400
    assert "parent_id" in reply.body["error"]["details"]["fields"]


async def test_duplicate_root_name_is_invalid(api, county_tree):
    token, _ = await api.person("admin")

    reply = await api.call("POST", ORGS, token=token, json={"name": "县", "kind": "county"})

    assert reply.status == 400
    assert "name" in reply.body["error"]["details"]["fields"]


async def test_racing_duplicates_create_one_org(api, county_tree):
    county, *_ = county_tree
    token, _ = await api.person("admin")
    body = {"name": "南镇", "kind": "township", "parent_id": str(county.id)}

    replies = await asyncio.gather(*(api.call("POST", ORGS, token=token, json=body) for _ in range(6)))

    assert sorted(r.status for r in replies) == [201, 400, 400, 400, 400, 400]
    assert await Org.filter(name="南镇").count() == 1


async def test_a_misplaced_kind_is_named_in_chinese(api, county_tree):
    token, _ = await api.person("admin")
    county = county_tree[0]
    reply = await api.call(
        "POST", ORGS, token=token, json={"name": "某村", "kind": "village", "parent_id": str(county.id)}
    )
    assert reply.status == 400
    reason = reply.body["error"]["details"]["fields"]["parent_id"]
    assert "村" in reason and "village" not in reason


@pytest.mark.parametrize("name", ["东\u200b镇", "东\u2028镇", "\u202e镇东"])
async def test_an_org_name_with_invisible_characters_is_refused(api, name):
    token, _ = await api.person("admin")
    reply = await api.call("POST", ORGS, token=token, json={"name": name, "kind": "county"})
    assert reply.status == 400
    assert "不可见字符" in reply.body["error"]["details"]["fields"]["name"]
