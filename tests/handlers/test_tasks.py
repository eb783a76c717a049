"""Tasks and the task feed, against the running service."""

from datetime import timedelta

import pytest

from tests.factories import CAMPAIGNS, SPOT, TASKS, iso, make_campaign, make_task


@pytest.fixture
async def campaign(api, tree, staff):
    return await make_campaign(api, staff, tree.east.id)


@pytest.fixture
async def volunteer(api, tree):
    token, _ = await api.person("volunteer", tree.east_village.id)
    return token


async def enroll(api, token, task_id):
    return await api.call("POST", f"{TASKS}/{task_id}/enroll", token=token)


async def feed(api, token, query=""):
    reply = await api.call("GET", f"{TASKS}{query}", token=token)
    assert reply.status == 200, reply.body
    return reply.body


async def feed_ids(api, token, query=""):
    return [item["id"] for item in (await feed(api, token, query))["items"]]


# -- create, edit, cancel -----------------------------------------------------


async def test_create_with_location_and_audience(api, tree, staff, campaign):
    body = {
        "title": "普法宣传",
        "starts_at": iso(-timedelta(hours=1)),
        "ends_at": iso(timedelta(days=3)),
        "quota": 20,
        "points": 10,
        "location": SPOT,
        "audience": {"roles": ["volunteer"], "org_ids": [str(tree.east_village.id)]},
    }

    reply = await api.call("POST", f"{CAMPAIGNS}/{campaign['id']}/tasks", token=staff, json=body)

    assert reply.status == 201, reply.body
    assert reply.body["location"] == SPOT
    assert reply.body["audience"] == {"roles": ["volunteer"], "org_ids": [str(tree.east_village.id)]}
    assert reply.body["campaign_id"] == campaign["id"]
    assert reply.body["status"] == "open"
    assert reply.body["enrolled_count"] == 0
    assert reply.body["my_enrollment"] is None


async def test_patch_changes_the_task(api, staff, campaign):
    task = await make_task(api, staff, campaign["id"])

    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"title": "新标题", "quota": 30})

    assert reply.status == 200, reply.body
    assert (reply.body["title"], reply.body["quota"]) == ("新标题", 30)
    again = await api.call("GET", f"{TASKS}/{task['id']}", token=staff)
    assert (again.body["title"], again.body["quota"]) == ("新标题", 30)


async def test_patch_min_photos_above_stored_max_is_invalid(api, staff, campaign):
    task = await make_task(api, staff, campaign["id"], min_photos=1, max_photos=3)

    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"min_photos": 5})

    assert reply.status == 400
    assert "min_photos" in reply.body["error"]["details"]["fields"]


async def test_quota_cannot_drop_below_enrollments(api, tree, staff, campaign):
    task = await make_task(api, staff, campaign["id"], quota=5)
    for _ in range(3):
        token, _ = await api.person("volunteer", tree.east_village.id)
        assert (await enroll(api, token, task["id"])).status == 201

    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"quota": 2})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "quota" in reply.body["error"]["details"]["fields"]


async def test_cancel_sets_status_cancelled(api, staff, campaign):
    task = await make_task(api, staff, campaign["id"])

    reply = await api.call("POST", f"{TASKS}/{task['id']}/cancel", token=staff)

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "cancelled"


async def test_cancelled_task_refuses_enrollment(api, staff, campaign, volunteer):
    task = await make_task(api, staff, campaign["id"])
    await api.call("POST", f"{TASKS}/{task['id']}/cancel", token=staff)

    reply = await enroll(api, volunteer, task["id"])

    assert reply.status == 409
    assert reply.error_code == "task_closed"


async def test_task_past_its_end_is_ended(api, staff, campaign, volunteer):
    task = await make_task(
        api, staff, campaign["id"], starts_at=iso(-timedelta(days=2)), ends_at=iso(-timedelta(days=1))
    )

    reply = await api.call("GET", f"{TASKS}/{task['id']}", token=volunteer)

    assert reply.body["status"] == "ended"


async def test_ended_task_refuses_enrollment(api, staff, campaign, volunteer):
    task = await make_task(
        api, staff, campaign["id"], starts_at=iso(-timedelta(days=2)), ends_at=iso(-timedelta(minutes=1))
    )

    reply = await enroll(api, volunteer, task["id"])

    assert reply.status == 409
    assert reply.error_code == "task_closed"


async def test_closed_campaign_refuses_enrollment(api, staff, campaign, volunteer):
    task = await make_task(api, staff, campaign["id"])
    await api.call("POST", f"{CAMPAIGNS}/{campaign['id']}/close", token=staff)

    reply = await enroll(api, volunteer, task["id"])

    assert reply.status == 409
    assert reply.error_code == "task_closed"


# -- the feed -----------------------------------------------------------------


async def test_feed_hides_tasks_of_draft_campaigns(api, tree, staff, campaign, volunteer):
    draft = await make_campaign(api, staff, tree.east.id, publish=False)
    hidden = await make_task(api, staff, draft["id"])
    shown = await make_task(api, staff, campaign["id"])

    ids = await feed_ids(api, volunteer)

    assert shown["id"] in ids
    assert hidden["id"] not in ids


async def test_feed_filters_by_campaign(api, tree, staff, campaign, volunteer):
    other = await make_campaign(api, staff, tree.east.id)
    mine = await make_task(api, staff, campaign["id"])
    await make_task(api, staff, other["id"])

    assert await feed_ids(api, volunteer, f"?campaign_id={campaign['id']}") == [mine["id"]]


@pytest.fixture
async def three_states(api, staff, campaign):
    """One open, one ended and one cancelled task."""
    open_ = await make_task(api, staff, campaign["id"])
    ended = await make_task(
        api, staff, campaign["id"], starts_at=iso(-timedelta(days=2)), ends_at=iso(-timedelta(days=1))
    )
    cancelled = await make_task(api, staff, campaign["id"])
    await api.call("POST", f"{TASKS}/{cancelled['id']}/cancel", token=staff)
    return {"open": open_["id"], "ended": ended["id"], "cancelled": cancelled["id"]}


@pytest.mark.parametrize("status", ["open", "ended", "cancelled"])
async def test_feed_filters_by_status(api, volunteer, three_states, status):
    items = (await feed(api, volunteer, f"?status={status}"))["items"]

    assert [item["id"] for item in items] == [three_states[status]]
    assert items[0]["status"] == status


async def test_feed_mine_lists_only_my_enrollments(api, staff, campaign, volunteer):
    taken = await make_task(api, staff, campaign["id"])
    await make_task(api, staff, campaign["id"])
    await enroll(api, volunteer, taken["id"])

    assert await feed_ids(api, volunteer, "?mine=1") == [taken["id"]]


async def test_org_audience_excludes_a_sibling_org(api, tree, staff, campaign):
    task = await make_task(api, staff, campaign["id"], audience={"org_ids": [str(tree.east.id)]})
    sibling, _ = await api.person("volunteer", tree.west_village.id)

    assert task["id"] not in await feed_ids(api, sibling)


async def test_org_audience_includes_the_subtree(api, tree, staff, campaign):
    task = await make_task(api, staff, campaign["id"], audience={"org_ids": [str(tree.east.id)]})
    below, _ = await api.person("volunteer", tree.east_village.id)

    assert task["id"] in await feed_ids(api, below)


async def test_role_audience_hides_the_task_from_volunteers(api, tree, staff, campaign, volunteer):
    task = await make_task(api, staff, campaign["id"], audience={"roles": ["influencer"]})
    influencer, _ = await api.person("influencer", tree.east_village.id)

    assert task["id"] not in await feed_ids(api, volunteer)
    assert task["id"] in await feed_ids(api, influencer)


async def test_near_sorts_by_distance_with_distance_m(api, staff, campaign, volunteer):
    far = await make_task(api, staff, campaign["id"], location={**SPOT, "lat": 30.05})
    near = await make_task(api, staff, campaign["id"], location={**SPOT, "lat": 30.001})
    middle = await make_task(api, staff, campaign["id"], location={**SPOT, "lat": 30.01})
    await make_task(api, staff, campaign["id"])  # no location: not in a "near" list

    items = (await feed(api, volunteer, "?near=30.0,120.0"))["items"]

    assert [item["id"] for item in items] == [near["id"], middle["id"], far["id"]]
    assert [item["distance_m"] for item in items] == pytest.approx([111, 1112, 5560], abs=5)


async def test_cursor_pages_neither_skip_nor_repeat_while_tasks_are_added(api, staff, campaign, volunteer):
    made = [(await make_task(api, staff, campaign["id"]))["id"] for _ in range(5)]

    first = await feed(api, volunteer, "?limit=2")
    added = await make_task(api, staff, campaign["id"])
    seen, cursor = [item["id"] for item in first["items"]], first["next_cursor"]
    while cursor:
        page = await feed(api, volunteer, f"?limit=2&cursor={cursor}")
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]

    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))
    assert added["id"] not in seen
    assert added["id"] in await feed_ids(api, volunteer, "?limit=2")


async def test_feed_carries_my_enrollment(api, staff, campaign, volunteer):
    taken = await make_task(api, staff, campaign["id"])
    other = await make_task(api, staff, campaign["id"])
    enrollment = (await enroll(api, volunteer, taken["id"])).body

    items = {item["id"]: item for item in (await feed(api, volunteer))["items"]}

    assert items[taken["id"]]["my_enrollment"] == enrollment
    assert items[other["id"]]["my_enrollment"] is None


@pytest.mark.parametrize("near", ["abc", "91,0"])
async def test_bad_near_is_invalid(api, volunteer, near):
    reply = await api.call("GET", f"{TASKS}?near={near}", token=volunteer)

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "near" in reply.body["error"]["details"]["fields"]


async def test_feed_mine_keeps_a_task_someone_else_withdrew_from(api, tree, staff, campaign, volunteer):
    task = await make_task(api, staff, campaign["id"])
    other, _ = await api.person("volunteer", tree.east_village.id)
    await enroll(api, volunteer, task["id"])
    await enroll(api, other, task["id"])
    await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=other)

    assert await feed_ids(api, volunteer, "?mine=1") == [task["id"]]


async def test_feed_mine_drops_a_task_i_withdrew_from(api, staff, campaign, volunteer):
    task = await make_task(api, staff, campaign["id"])
    await enroll(api, volunteer, task["id"])
    await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=volunteer)

    assert await feed_ids(api, volunteer, "?mine=1") == []


async def test_an_enrollment_moves_the_count_without_emptying_the_cached_feed(api, tree, staff, campaign, volunteer):
    task = await make_task(api, staff, campaign["id"], quota=5)
    other, _ = await api.person("volunteer", tree.east_village.id)
    caches = api.service.services.caches
    caches.clear()
    assert (await feed(api, volunteer))["items"][0]["enrolled_count"] == 0
    assert len(caches.feed) == 1

    assert (await enroll(api, other, task["id"])).status == 201

    assert len(caches.feed) == 1, "an enrollment moves a counter, not the page"
    item = (await feed(api, volunteer))["items"][0]
    assert (item["id"], item["enrolled_count"], item["my_enrollment"]) == (task["id"], 1, None)
    mine = (await feed(api, other))["items"][0]
    assert mine["enrolled_count"] == 1 and mine["my_enrollment"]["status"] == "enrolled"


async def test_an_edit_empties_the_cached_feed(api, staff, campaign, volunteer):
    task = await make_task(api, staff, campaign["id"])
    assert (await feed(api, volunteer))["items"][0]["title"] == task["title"]
    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"title": "网络普法进社区"})
    assert reply.status == 200
    assert (await feed(api, volunteer))["items"][0]["title"] == "网络普法进社区"


async def test_a_query_string_asked_again_or_reordered_gives_the_same_page_and_a_bad_one_is_refused_each_time(
    api, staff, campaign, volunteer
):
    first, second = [await make_task(api, staff, campaign["id"]) for _ in range(2)]
    paged = await feed(api, volunteer, "?limit=1&status=open")
    assert len(paged["items"]) == 1 and paged["next_cursor"]
    assert await feed(api, volunteer, "?limit=1&status=open") == paged
    assert await feed(api, volunteer, "?status=open&limit=1") == paged
    assert set(await feed_ids(api, volunteer, "?status=open")) >= {first["id"], second["id"]}
    for _ in range(2):
        reply = await api.call("GET", f"{TASKS}?limit=1&status=gone", token=volunteer)
        assert reply.status == 400 and set(reply.body["error"]["details"]["fields"]) == {"status"}, reply.body
