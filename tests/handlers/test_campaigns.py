"""Campaigns and the validation of campaign and task input, against the running service."""

from datetime import datetime, timedelta

import pytest

from tests.factories import (
    CAMPAIGNS,
    SPOT,
    TASKS,
    campaign_body,
    hand_in,
    iso,
    make_campaign,
    make_task,
    task_body,
)
from tests.support import counting_queries


@pytest.fixture
async def volunteer(api, tree):
    token, _ = await api.person("volunteer", tree.east_village.id)
    return token


async def listed_ids(api, token, query=""):
    reply = await api.call("GET", f"{CAMPAIGNS}{query}", token=token)
    assert reply.status == 200, reply.body
    return [item["id"] for item in reply.body["items"]]


def invalid_fields(reply):
    assert reply.status == 400, reply.body
    assert reply.error_code == "invalid_request"
    return reply.body["error"]["details"]["fields"]


# -- lifecycle ----------------------------------------------------------------


async def test_staff_create_a_draft(api, tree, staff):
    reply = await api.call("POST", CAMPAIGNS, token=staff, json=campaign_body(tree.east_village.id))

    assert reply.status == 201, reply.body
    assert reply.body["status"] == "draft"
    assert reply.body["kind"] == "village_visit"
    assert reply.body["org"]["id"] == str(tree.east_village.id)
    assert isinstance(reply.body["id"], str)


async def test_staff_edit_a_campaign(api, tree, staff):
    campaign = await make_campaign(api, staff, tree.east.id, publish=False)

    reply = await api.call("PATCH", f"{CAMPAIGNS}/{campaign['id']}", token=staff, json={"title": "网络普法进万家"})

    assert reply.status == 200, reply.body
    assert reply.body["title"] == "网络普法进万家"
    again = await api.call("GET", f"{CAMPAIGNS}/{campaign['id']}", token=staff)
    assert again.body["title"] == "网络普法进万家"


async def test_publish_makes_a_draft_visible_to_volunteers(api, tree, staff, volunteer):
    campaign = await make_campaign(api, staff, tree.east.id, publish=False)
    assert (await api.call("GET", f"{CAMPAIGNS}/{campaign['id']}", token=volunteer)).status == 404

    reply = await api.call("POST", f"{CAMPAIGNS}/{campaign['id']}/publish", token=staff)

    assert reply.status == 200
    assert reply.body["status"] == "published"
    seen = await api.call("GET", f"{CAMPAIGNS}/{campaign['id']}", token=volunteer)
    assert seen.status == 200
    assert seen.body["status"] == "published"


async def test_close_sets_status_closed(api, tree, staff):
    campaign = await make_campaign(api, staff, tree.east.id)

    reply = await api.call("POST", f"{CAMPAIGNS}/{campaign['id']}/close", token=staff)

    assert reply.status == 200
    assert reply.body["status"] == "closed"


async def test_volunteers_see_published_and_closed_but_not_drafts(api, tree, staff, volunteer):
    draft = await make_campaign(api, staff, tree.east.id, publish=False)
    published = await make_campaign(api, staff, tree.east.id)
    closed = await make_campaign(api, staff, tree.east.id)
    await api.call("POST", f"{CAMPAIGNS}/{closed['id']}/close", token=staff)

    ids = await listed_ids(api, volunteer)

    assert set(ids) == {published["id"], closed["id"]}
    assert draft["id"] not in ids


async def test_draft_is_not_found_for_volunteers(api, tree, staff, volunteer):
    draft = await make_campaign(api, staff, tree.east.id, publish=False)

    reply = await api.call("GET", f"{CAMPAIGNS}/{draft['id']}", token=volunteer)

    assert reply.status == 404
    assert reply.error_code == "not_found"


async def test_staff_of_a_sibling_township_cannot_edit(api, tree, staff):
    campaign = await make_campaign(api, staff, tree.east.id)
    west_staff, _ = await api.person("staff", tree.west.id)

    reply = await api.call("PATCH", f"{CAMPAIGNS}/{campaign['id']}", token=west_staff, json={"title": "改"})

    assert reply.status == 403
    assert reply.error_code == "forbidden"
    unchanged = await api.call("GET", f"{CAMPAIGNS}/{campaign['id']}", token=staff)
    assert unchanged.body["title"] == campaign["title"]


async def test_staff_of_a_sibling_township_may_read_published_but_not_drafts(api, tree, staff):
    published = await make_campaign(api, staff, tree.east.id)
    draft = await make_campaign(api, staff, tree.east.id, publish=False)
    west_staff, _ = await api.person("staff", tree.west.id)

    assert (await api.call("GET", f"{CAMPAIGNS}/{published['id']}", token=west_staff)).status == 200
    assert (await api.call("GET", f"{CAMPAIGNS}/{draft['id']}", token=west_staff)).status == 404


async def test_staff_without_an_org_learn_nothing_of_drafts(api, tree, staff):
    draft = await make_campaign(api, staff, tree.east.id, publish=False)
    unplaced, _ = await api.person("staff", None)

    reply = await api.call("GET", f"{CAMPAIGNS}/{draft['id']}", token=unplaced)

    assert reply.status == 404, reply.body


async def test_volunteer_cannot_create(api, tree, volunteer):
    reply = await api.call("POST", CAMPAIGNS, token=volunteer, json=campaign_body(tree.east.id))

    assert reply.status == 403
    assert reply.error_code == "forbidden"


# -- listing ------------------------------------------------------------------


async def test_list_filters_by_status(api, tree, staff):
    draft = await make_campaign(api, staff, tree.east.id, publish=False)
    await make_campaign(api, staff, tree.east.id)

    assert await listed_ids(api, staff, "?status=draft") == [draft["id"]]


async def test_list_filters_by_kind(api, tree, staff, volunteer):
    law = await make_campaign(api, staff, tree.east.id, kind="law_outreach")
    await make_campaign(api, staff, tree.east.id, kind="village_visit")

    assert await listed_ids(api, volunteer, "?kind=law_outreach") == [law["id"]]


async def test_list_filters_by_org_subtree(api, tree, staff, volunteer):
    county_staff, _ = await api.person("staff", tree.county.id)
    in_village = await make_campaign(api, staff, tree.east_village.id)
    in_east = await make_campaign(api, staff, tree.east.id)
    await make_campaign(api, county_staff, tree.west.id)

    ids = await listed_ids(api, volunteer, f"?org_id={tree.east.id}")

    assert set(ids) == {in_village["id"], in_east["id"]}


async def test_cursor_pages_cover_every_campaign_once(api, tree, staff, volunteer):
    made = [(await make_campaign(api, staff, tree.east.id))["id"] for _ in range(5)]

    seen, cursor = [], None
    for _ in range(5):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        reply = await api.call("GET", f"{CAMPAIGNS}{query}", token=volunteer)
        assert len(reply.body["items"]) <= 2
        seen += [item["id"] for item in reply.body["items"]]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))
    assert cursor is None


# -- summary ------------------------------------------------------------------


async def test_summary_counts_enrollments_by_state(api, tree, staff):
    campaign = await make_campaign(api, staff, tree.east.id)
    task = await make_task(api, staff, campaign["id"], location=SPOT)
    other = await make_task(api, staff, campaign["id"])
    people = [(await api.person("volunteer", tree.east_village.id))[0] for _ in range(4)]
    for token in people:
        assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    assert (await api.call("POST", f"{TASKS}/{other['id']}/enroll", token=people[0])).status == 201
    await api.call("POST", f"{TASKS}/{task['id']}/checkin", token=people[0], json={"lat": 30.0, "lng": 120.0})
    await api.call("POST", f"{TASKS}/{task['id']}/checkin", token=people[1], json={"lat": 30.0, "lng": 120.0})
    await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=people[3])

    reply = await api.call("GET", f"{CAMPAIGNS}/{campaign['id']}/summary", token=staff)

    assert reply.status == 200, reply.body
    assert reply.body == {
        "tasks": 2,
        "enrolled": 4,
        "checked_in": 2,
        "submitted": 0,
        "withdrawn": 1,
        "approved": 0,
        "rejected": 0,
    }


async def review(api, staff, submission_id, decision):
    body = {"decision": decision} | ({"reason": "照片与任务无关"} if decision == "reject" else {})
    reply = await api.call("POST", f"/api/v1/submissions/{submission_id}/review", token=staff, json=body)
    assert reply.status == 200, reply.body


async def test_summary_counts_approved_and_rejected_evidence(api, tree, staff):
    campaign = await make_campaign(api, staff, tree.east.id)
    tasks = [await make_task(api, staff, campaign["id"]) for _ in range(2)]
    people = [(await api.person("volunteer", tree.east_village.id))[0] for _ in range(4)]
    approved = await hand_in(api, people[0], tasks[0], seed=1)
    rejected = await hand_in(api, people[1], tasks[0], seed=2)
    await hand_in(api, people[2], tasks[1], seed=3)  # still pending
    also_approved = await hand_in(api, people[3], tasks[1], seed=4)
    await review(api, staff, approved, "approve")
    await review(api, staff, rejected, "reject")
    await review(api, staff, also_approved, "approve")

    reply = await api.call("GET", f"{CAMPAIGNS}/{campaign['id']}/summary", token=staff)

    assert reply.status == 200, reply.body
    assert (reply.body["submitted"], reply.body["approved"], reply.body["rejected"]) == (4, 2, 1)


async def test_summary_query_count_does_not_grow_with_the_campaign(api, tree, staff):
    small = await make_campaign(api, staff, tree.east.id)
    large = await make_campaign(api, staff, tree.east.id)
    await make_task(api, staff, small["id"])
    for i in range(3):
        task = await make_task(api, staff, large["id"])
        await hand_in(api, (await api.person("volunteer", tree.east_village.id))[0], task, seed=10 + i)
    await api.settle()  # the content checks of those photos write while we count otherwise

    with counting_queries() as few:
        assert (await api.call("GET", f"{CAMPAIGNS}/{small['id']}/summary", token=staff)).status == 200
    with counting_queries() as many:
        assert (await api.call("GET", f"{CAMPAIGNS}/{large['id']}/summary", token=staff)).status == 200

    assert len(many.statements) == len(few.statements) > 0


# -- bad input ----------------------------------------------------------------


async def test_unknown_kind_is_invalid(api, tree, staff):
    reply = await api.call("POST", CAMPAIGNS, token=staff, json=campaign_body(tree.east.id, kind="party"))

    assert "kind" in invalid_fields(reply)


async def test_campaign_ending_before_it_starts_is_invalid(api, tree, staff):
    body = campaign_body(tree.east.id, starts_at=iso(timedelta(days=2)), ends_at=iso(timedelta(days=1)))

    reply = await api.call("POST", CAMPAIGNS, token=staff, json=body)

    assert "ends_at" in invalid_fields(reply)


@pytest.mark.parametrize(
    ("sent", "meant"),
    [
        ("2030-01-01T09:00:00", "2030-01-01T09:00:00+08:00"),
        ("2030-01-01T09:00", "2030-01-01T09:00:00+08:00"),
        ("2030-01-01", "2030-01-01T00:00:00+08:00"),
        ("2030-01-01T09:00:00Z", "2030-01-01T17:00:00+08:00"),
    ],
)
async def test_a_time_without_offset_is_read_in_shanghai(api, tree, staff, sent, meant):
    body = campaign_body(tree.east.id, starts_at=sent, ends_at="2030-02-01")

    reply = await api.call("POST", CAMPAIGNS, token=staff, json=body)

    assert reply.status == 201, reply.body
    assert datetime.fromisoformat(reply.body["starts_at"]) == datetime.fromisoformat(meant)
    assert datetime.fromisoformat(reply.body["ends_at"]) == datetime.fromisoformat("2030-02-01T00:00:00+08:00")


async def test_unknown_campaign_field_is_invalid(api, tree, staff):
    reply = await api.call("POST", CAMPAIGNS, token=staff, json=campaign_body(tree.east.id, budget=100))

    assert "budget" in invalid_fields(reply)


@pytest.fixture
async def campaign(api, tree, staff):
    return await make_campaign(api, staff, tree.east.id)


async def post_task(api, staff, campaign, **fields):
    return await api.call("POST", f"{CAMPAIGNS}/{campaign['id']}/tasks", token=staff, json=task_body(**fields))


@pytest.mark.parametrize("field", ["quota", "points"])
async def test_negative_task_numbers_are_invalid(api, staff, campaign, field):
    reply = await post_task(api, staff, campaign, **{field: -1})

    assert field in invalid_fields(reply)


@pytest.mark.parametrize("lat", [91, -91])
async def test_latitude_out_of_range_is_invalid(api, staff, campaign, lat):
    reply = await post_task(api, staff, campaign, location={**SPOT, "lat": lat})

    assert any("lat" in name for name in invalid_fields(reply))


@pytest.mark.parametrize("radius", [0, -5])
async def test_radius_must_be_positive(api, staff, campaign, radius):
    reply = await post_task(api, staff, campaign, location={**SPOT, "radius_m": radius})

    assert any("radius_m" in name for name in invalid_fields(reply))


async def test_min_photos_above_max_is_invalid(api, staff, campaign):
    reply = await post_task(api, staff, campaign, min_photos=5, max_photos=2)

    assert "min_photos" in invalid_fields(reply)


async def test_audience_with_unknown_org_is_invalid(api, staff, campaign):
    reply = await post_task(api, staff, campaign, audience={"org_ids": ["999999"]})

    assert any("org_ids" in name for name in invalid_fields(reply))


async def test_unknown_task_field_is_invalid(api, staff, campaign):
    reply = await post_task(api, staff, campaign, color="red")

    assert "color" in invalid_fields(reply)


async def test_task_ending_before_it_starts_is_invalid(api, staff, campaign):
    reply = await post_task(api, staff, campaign, starts_at=iso(timedelta(days=2)), ends_at=iso(timedelta(days=1)))

    assert "ends_at" in invalid_fields(reply)


# -- a task lies inside its campaign's dates -----------------------------------


def has_chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture
async def week(api, tree, staff):
    """A published campaign running from a day ago to six days from now."""
    return await make_campaign(
        api, staff, tree.east.id, starts_at=iso(-timedelta(days=1)), ends_at=iso(timedelta(days=6))
    )


async def test_task_starting_before_its_campaign_is_invalid(api, staff, week):
    reply = await post_task(api, staff, week, starts_at=iso(-timedelta(days=2)), ends_at=iso(timedelta(days=1)))

    fields = invalid_fields(reply)
    assert list(fields) == ["starts_at"]
    assert has_chinese(fields["starts_at"])


async def test_task_ending_after_its_campaign_is_invalid(api, staff, week):
    reply = await post_task(api, staff, week, starts_at=iso(), ends_at=iso(timedelta(days=7)))

    fields = invalid_fields(reply)
    assert list(fields) == ["ends_at"]
    assert has_chinese(fields["ends_at"])


async def test_task_spanning_its_whole_campaign_is_accepted(api, staff, week):
    reply = await post_task(api, staff, week, starts_at=week["starts_at"], ends_at=week["ends_at"])

    assert reply.status == 201, reply.body


async def test_task_patched_past_its_campaign_end_is_invalid(api, staff, week):
    task = await make_task(api, staff, week["id"], starts_at=iso(), ends_at=iso(timedelta(days=2)))

    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"ends_at": iso(timedelta(days=8))})

    assert "ends_at" in invalid_fields(reply)
    stored = await api.call("GET", f"{TASKS}/{task['id']}", token=staff)
    assert stored.body["ends_at"] == task["ends_at"]


async def test_task_patched_before_its_campaign_start_is_invalid(api, staff, week):
    task = await make_task(api, staff, week["id"], starts_at=iso(), ends_at=iso(timedelta(days=2)))

    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"starts_at": iso(-timedelta(days=3))})

    assert "starts_at" in invalid_fields(reply)


async def test_campaign_start_moved_past_a_task_start_is_invalid(api, staff, week):
    await make_task(api, staff, week["id"], starts_at=iso(), ends_at=iso(timedelta(days=2)))

    reply = await api.call(
        "PATCH", f"{CAMPAIGNS}/{week['id']}", token=staff, json={"starts_at": iso(timedelta(days=1))}
    )

    fields = invalid_fields(reply)
    assert list(fields) == ["starts_at"]
    assert has_chinese(fields["starts_at"])
    stored = await api.call("GET", f"{CAMPAIGNS}/{week['id']}", token=staff)
    assert stored.body["starts_at"] == week["starts_at"]


async def test_campaign_end_moved_before_a_task_end_is_invalid(api, staff, week):
    await make_task(api, staff, week["id"], starts_at=iso(), ends_at=iso(timedelta(days=5)))

    reply = await api.call("PATCH", f"{CAMPAIGNS}/{week['id']}", token=staff, json={"ends_at": iso(timedelta(days=3))})

    fields = invalid_fields(reply)
    assert list(fields) == ["ends_at"]
    assert has_chinese(fields["ends_at"])


async def test_campaign_dates_may_move_around_its_tasks(api, staff, week):
    await make_task(api, staff, week["id"], starts_at=iso(), ends_at=iso(timedelta(days=2)))

    reply = await api.call(
        "PATCH",
        f"{CAMPAIGNS}/{week['id']}",
        token=staff,
        json={"starts_at": iso(-timedelta(hours=1)), "ends_at": iso(timedelta(days=3))},
    )

    assert reply.status == 200, reply.body
