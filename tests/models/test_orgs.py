"""The org tree's domain operations, on the real database."""

import pytest
from tortoise.connection import get_connection

from models.orgs import Org, create_org, org_path, org_tree
from server.kernel.errors import InvalidRequest


async def test_create_org_sets_materialised_path(api):
    county = await create_org("县", "county", None)
    township = await create_org("镇", "township", county.id)
    village = await create_org("村", "village", township.id)

    assert county.path == f"/{county.id}/"
    assert township.path == f"/{county.id}/{township.id}/"
    assert village.path == f"/{county.id}/{township.id}/{village.id}/"


async def test_created_path_is_stored(api):
    county = await create_org("县", "county", None)
    township = await create_org("镇", "township", county.id)

    assert await org_path(township.id) == f"/{county.id}/{township.id}/"


async def test_org_path_of_unknown_org_is_none(api):
    assert await org_path(123456) is None


async def test_contains_is_not_fooled_by_shared_id_prefix(api):
    # Ids 1 and 12 share a text prefix; the trailing slash keeps them apart.
    org = Org(name="镇", kind="township", path="/1/")

    assert org.contains("/1/5/")
    assert not org.contains("/12/")


async def test_village_directly_under_county_is_refused(api):
    county = await create_org("县", "county", None)

    with pytest.raises(InvalidRequest) as caught:
        await create_org("村", "village", county.id)

    assert "parent_id" in caught.value.details["fields"]
    assert not await Org.filter(name="村").exists()


async def test_duplicate_name_under_same_parent_is_refused(api):
    county = await create_org("县", "county", None)
    await create_org("城关镇", "township", county.id)

    with pytest.raises(InvalidRequest) as caught:
        await create_org("城关镇", "township", county.id)

    assert "name" in caught.value.details["fields"]
    assert await Org.filter(name="城关镇").count() == 1


async def test_same_name_under_different_parents_is_allowed(api):
    county = await create_org("县", "county", None)
    east = await create_org("东镇", "township", county.id)
    west = await create_org("西镇", "township", county.id)

    await create_org("新村", "village", east.id)
    await create_org("新村", "village", west.id)

    assert await Org.filter(name="新村").count() == 2


async def test_org_tree_nests_county_township_village(api):
    county = await create_org("县", "county", None)
    township = await create_org("镇", "township", county.id)
    village = await create_org("村", "village", township.id)

    tree = await org_tree()

    assert tree == [
        {
            "id": str(county.id),
            "name": "县",
            "kind": "county",
            "parent_id": None,
            "children": [
                {
                    "id": str(township.id),
                    "name": "镇",
                    "kind": "township",
                    "parent_id": str(county.id),
                    "children": [
                        {
                            "id": str(village.id),
                            "name": "村",
                            "kind": "village",
                            "parent_id": str(township.id),
                            "children": [],
                        }
                    ],
                }
            ],
        }
    ]


async def test_org_tree_is_one_query(api):
    county = await create_org("县", "county", None)
    for n in range(3):
        township = await create_org(f"镇{n}", "township", county.id)
        await create_org(f"村{n}", "village", township.id)
    conn = get_connection("default")
    queries: list[str] = []
    original = conn.execute_query

    async def counting(query, values=None):
        queries.append(query)
        return await original(query, values)

    conn.execute_query = counting
    try:
        tree = await org_tree()
    finally:
        del conn.execute_query

    assert len(queries) == 1
    assert [len(t["children"]) for t in tree[0]["children"]] == [1, 1, 1]
