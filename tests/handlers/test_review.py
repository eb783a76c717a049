"""Review, the ledger and /me/points: exact under retries and races."""

from __future__ import annotations

import asyncio

import pytest

from models.ledger import LedgerEntry
from models.submissions import Submission
from models.users import User
from tests.factories import TASKS, hand_in, published_task
from tests.images import encode, scene

QUEUE = "/api/v1/review/queue"
BATCH = "/api/v1/review/batch"


def review_path(submission_id: str) -> str:
    return f"/api/v1/submissions/{submission_id}/review"


@pytest.fixture
async def task(api, staff, tree) -> dict:
    return await published_task(api, staff, tree.east.id, points=10, service_hours="2.5")


@pytest.fixture
async def volunteer(api, tree) -> tuple[str, int]:
    return await api.person("volunteer", tree.east_village.id)


async def totals(user_id: int) -> tuple[int, float]:
    user = await User.get(id=user_id)
    return user.points, float(user.service_hours)


async def test_approval_awards_points_and_hours_once(api, staff, task, volunteer) -> None:
    token, uid = volunteer
    sid = await hand_in(api, token, task)

    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "approved"
    assert reply.body["review"]["decision"] == "approve" and reply.body["review"]["points"] == 10
    assert reply.body["risk"] is not None
    assert await totals(uid) == (10, 2.5)
    again = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})
    assert again.status == 409 and again.error_code == "already_reviewed"
    assert await LedgerEntry.filter(submission_id=int(sid)).count() == 1
    assert await totals(uid) == (10, 2.5)
    me = await api.call("GET", "/api/v1/me", token=token)
    assert me.body["points"] == 10 and me.body["service_hours"] == 2.5


async def test_adjusted_points_within_twice_the_task(api, staff, task, volunteer, tree) -> None:
    token, uid = volunteer
    sid = await hand_in(api, token, task)
    for points in (-1, 21):
        reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve", "points": points})
        assert reply.status == 400 and "points" in reply.body["error"]["details"]["fields"]
    assert await totals(uid) == (0, 0.0)
    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve", "points": 20})
    assert reply.status == 200 and reply.body["review"]["points"] == 20
    assert await totals(uid) == (20, 2.5)


async def test_rejecting_an_approval_writes_a_reversal(api, staff, task, volunteer) -> None:
    token, uid = volunteer
    sid = await hand_in(api, token, task)
    await api.call("POST", review_path(sid), token=staff, json={"decision": "approve", "points": 15})

    no_reason = await api.call("POST", review_path(sid), token=staff, json={"decision": "reject"})
    reply = await api.call(
        "POST", review_path(sid), token=staff, json={"decision": "reject", "reason": "照片与任务无关"}
    )

    assert no_reason.status == 400 and "reason" in no_reason.body["error"]["details"]["fields"]
    assert reply.status == 200 and reply.body["status"] == "rejected"
    assert reply.body["review"]["reason"] == "照片与任务无关"
    assert await totals(uid) == (0, 0.0)
    entries = await LedgerEntry.filter(submission_id=int(sid)).order_by("id")
    assert [(e.kind, e.points, float(e.service_hours)) for e in entries] == [
        ("award", 15, 2.5),
        ("reversal", -15, -2.5),
    ]
    final = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})
    assert final.status == 409 and final.error_code == "already_reviewed"

    points = await api.call("GET", "/api/v1/me/points", token=token)
    assert [(e["kind"], e["points"]) for e in points.body["items"]] == [("reversal", -15), ("award", 15)]
    assert points.body["items"][0]["submission_id"] == sid


async def test_a_rejected_person_may_hand_in_again(api, staff, task, volunteer) -> None:
    token, _ = volunteer
    sid = await hand_in(api, token, task)
    await api.call("POST", review_path(sid), token=staff, json={"decision": "reject", "reason": "看不清"})
    upload = await api.upload(token, encode(scene((320, 240), seed=1), "JPEG"))
    body = {"media_ids": [upload.body["id"]], "text": "重新拍摄"}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body


async def test_concurrent_approvals_award_once(api, staff, task, volunteer, tree) -> None:
    token, uid = volunteer
    sid = await hand_in(api, token, task)
    other_staff, _ = await api.person("staff", tree.county.id)

    replies = await asyncio.gather(
        *(api.call("POST", review_path(sid), token=t, json={"decision": "approve"}) for t in [staff, other_staff] * 10)
    )

    assert sorted(r.status for r in replies) == [200] + [409] * 19
    assert await LedgerEntry.filter(submission_id=int(sid)).count() == 1
    assert await totals(uid) == (10, 2.5)


async def test_racing_approve_and_reject_leave_ledger_and_status_agreeing(api, staff, task, tree) -> None:
    for seed in range(3):
        token, uid = await api.person("volunteer", tree.east_village.id)
        sid = await hand_in(api, token, task, seed=seed)
        await asyncio.gather(
            api.call("POST", review_path(sid), token=staff, json={"decision": "approve"}),
            api.call("POST", review_path(sid), token=staff, json={"decision": "reject", "reason": "重复"}),
        )
        status = (await Submission.get(id=int(sid))).status
        net = sum(e.points for e in await LedgerEntry.filter(submission_id=int(sid)))
        assert (status, net) in (("approved", 10), ("rejected", 0))
        assert (await totals(uid))[0] == net


# --- who may review -----------------------------------------------------------------------------


async def test_volunteer_cannot_use_review_routes(api, task, volunteer) -> None:
    token, _ = volunteer
    sid = await hand_in(api, token, task)
    for method, path, body in (
        ("GET", QUEUE, None),
        ("POST", review_path(sid), {"decision": "approve"}),
        ("POST", BATCH, {"ids": [sid], "decision": "approve"}),
    ):
        reply = await api.call(method, path, token=token, json=body)
        assert reply.status == 403 and reply.error_code == "forbidden", path


async def test_another_townships_submission_is_404(api, task, volunteer, tree) -> None:
    token, uid = volunteer
    sid = await hand_in(api, token, task)
    west_staff, _ = await api.person("staff", tree.west.id)
    reply = await api.call("POST", review_path(sid), token=west_staff, json={"decision": "approve"})
    assert reply.status == 404 and reply.error_code == "not_found"
    assert await totals(uid) == (0, 0.0)


async def test_review_after_the_task_was_cancelled_is_409(api, staff, task, volunteer) -> None:
    token, uid = volunteer
    sid = await hand_in(api, token, task)
    assert (await api.call("POST", f"{TASKS}/{task['id']}/cancel", token=staff)).status == 200
    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})
    assert reply.status == 409 and reply.error_code == "task_closed"
    assert await totals(uid) == (0, 0.0)
    queue = await api.call("GET", QUEUE, token=staff)
    assert queue.body["items"] == []  # nothing left to do there


async def test_bad_review_bodies_are_400(api, staff, task, volunteer) -> None:
    token, _ = volunteer
    sid = await hand_in(api, token, task)
    for body, field in (
        ({"decision": "maybe"}, "decision"),
        ({}, "decision"),
        ({"decision": "approve", "points": "many"}, "points"),
        ({"decision": "reject", "reason": "x" * 201}, "reason"),
    ):
        reply = await api.call("POST", review_path(sid), token=staff, json=body)
        assert reply.status == 400 and field in reply.body["error"]["details"]["fields"], body


# --- batch and queue ----------------------------------------------------------------------------


async def test_batch_reports_each_item_and_does_the_rest(api, staff, task, tree) -> None:
    people = [await api.person("volunteer", tree.east_village.id) for _ in range(3)]
    sids = [await hand_in(api, token, task, seed=i) for i, (token, _) in enumerate(people)]
    await api.call("POST", review_path(sids[0]), token=staff, json={"decision": "approve"})
    west_task = await published_task(api, (await api.person("staff", tree.west.id))[0], tree.west.id)
    outsider = await hand_in(api, (await api.person("volunteer", tree.west_village.id))[0], west_task)

    reply = await api.call("POST", BATCH, token=staff, json={"ids": [*sids, "99999", outsider], "decision": "approve"})

    assert reply.status == 200
    assert reply.body["done"] == sids[1:]
    assert reply.body["failed"] == {sids[0]: "already_reviewed", "99999": "not_found", outsider: "not_found"}
    assert [await totals(uid) for _, uid in people] == [(10, 2.5)] * 3


async def test_batch_reject_needs_a_reason(api, staff, task, volunteer) -> None:
    token, _ = volunteer
    sid = await hand_in(api, token, task)
    reply = await api.call("POST", BATCH, token=staff, json={"ids": [sid], "decision": "reject"})
    assert reply.status == 200 and reply.body["failed"] == {sid: "invalid_request"}
    bad = await api.call("POST", BATCH, token=staff, json={"ids": [], "decision": "approve"})
    assert bad.status == 400 and "ids" in bad.body["error"]["details"]["fields"]


async def test_queue_is_oldest_first_with_flags_and_filters(api, staff, task, tree) -> None:
    people = [await api.person("volunteer", tree.east_village.id) for _ in range(3)]
    sids = [await hand_in(api, token, task, seed=i) for i, (token, _) in enumerate(people)]
    other_task = await published_task(api, staff, tree.east.id)
    extra = await hand_in(api, people[0][0], other_task, seed=5)
    await api.call("POST", review_path(sids[1]), token=staff, json={"decision": "approve"})

    queue = await api.call("GET", f"{QUEUE}?limit=2", token=staff)
    rest = await api.call("GET", f"{QUEUE}?limit=2&cursor={queue.body['next_cursor']}", token=staff)
    by_campaign = await api.call("GET", f"{QUEUE}?campaign_id={other_task['campaign_id']}", token=staff)
    approved = await api.call("GET", f"{QUEUE}?status=approved", token=staff)

    assert [s["id"] for s in queue.body["items"] + rest.body["items"]] == [sids[0], sids[2], extra]
    assert rest.body["next_cursor"] is None
    assert all(s["risk"] is not None for s in queue.body["items"])
    assert [s["id"] for s in by_campaign.body["items"]] == [extra]
    assert [s["id"] for s in approved.body["items"]] == [sids[1]]
    west_staff, _ = await api.person("staff", tree.west.id)
    assert (await api.call("GET", QUEUE, token=west_staff)).body["items"] == []


async def test_service_hours_reach_the_first_star_at_100(api, staff, tree, volunteer) -> None:
    token, _ = volunteer
    long_task = await published_task(api, staff, tree.east.id, points=5, service_hours="99.5")
    short_task = await published_task(api, staff, tree.east.id, points=5, service_hours="0.5")
    await api.call("POST", review_path(await hand_in(api, token, long_task)), token=staff, json={"decision": "approve"})
    assert (await api.call("GET", "/api/v1/me", token=token)).body["star_level"] == 0
    sid = await hand_in(api, token, short_task, seed=1)
    await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})
    me = (await api.call("GET", "/api/v1/me", token=token)).body
    assert (me["service_hours"], me["star_level"], me["points"]) == (100.0, 1, 10)


async def test_my_points_are_paged_newest_first(api, staff, tree, volunteer) -> None:
    token, _ = volunteer
    for i in range(3):
        t = await published_task(api, staff, tree.east.id, points=i + 1)
        await api.call(
            "POST", review_path(await hand_in(api, token, t, seed=i)), token=staff, json={"decision": "approve"}
        )
    seen, cursor = [], None
    while True:
        page = await api.call("GET", "/api/v1/me/points?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=token)
        assert page.status == 200
        seen += [e["points"] for e in page.body["items"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert seen == [3, 2, 1]
    other, _ = await api.person("volunteer", tree.east_village.id)
    assert (await api.call("GET", "/api/v1/me/points", token=other)).body["items"] == []
