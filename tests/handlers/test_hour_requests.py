"""Make-up requests for service hours (补录): asked by the person, decided once by staff of the task's subtree."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models.audit import AuditEntry
from models.hour_requests import HourRequest
from models.hours import credited_hours
from models.ledger import LedgerEntry
from models.notifications import Notification
from models.users import User
from tests.factories import hand_in, iso, published_task
from tests.images import encode, scene
from tests.support import counting_queries

REQUESTS = "/api/v1/hour-requests"


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


@pytest.fixture
async def task(api, staff, tree) -> dict:
    """A task that started five hours ago, worth 4 hours and 10 points."""
    return await published_task(
        api,
        staff,
        tree.east.id,
        title="东村网络普法宣传",
        starts_at=iso(-timedelta(hours=5)),
        service_hours="4",
        points=10,
    )


@pytest.fixture
async def volunteer(api, tree) -> tuple[str, int]:
    return await api.person("volunteer", tree.east_village.id)


async def photo(api, token: str, seed: int = 0) -> str:
    reply = await api.upload(token, encode(scene((320, 240), seed=seed), "JPEG"))
    assert reply.status == 201, reply.body
    return reply.body["id"]


def claim(task: dict, **overrides) -> dict:
    body = {"task_id": task["id"], "started_at": ago(4), "ended_at": ago(1), "note": "手机没电，未能签到"}
    body.update(overrides)
    return body


async def ask(api, token: str, task: dict, **overrides):
    return await api.call("POST", REQUESTS, token=token, json=claim(task, **overrides))


async def decide(api, token: str, request_id: str, decision: str = "approve", reason: str | None = None):
    body = {"decision": decision} | ({"reason": reason} if reason is not None else {})
    return await api.call("POST", f"{REQUESTS}/{request_id}/review", token=token, json=body)


def bad_fields(reply) -> dict:
    assert reply.status == 400, reply.body
    return reply.body["error"]["details"]["fields"]


# -- asking ----------------------------------------------------------------------------------------


async def test_a_request_with_photos_is_pending_with_its_hours(api, task, volunteer):
    token, _ = volunteer
    media_id = await photo(api, token)

    reply = await ask(api, token, task, ended_at=ago(1.2), media_ids=[media_id])

    assert reply.status == 201, reply.body
    body = reply.body
    assert body["status"] == "pending" and body["task_id"] == task["id"]
    assert body["hours"] == 2.5  # 2 h 48 min, rounded down to the half hour
    assert body["awarded_hours"] == 0 and body["awarded_points"] == 0 and body["reviewed_at"] is None
    assert [p["id"] for p in body["photos"]] == [media_id]
    assert body["photos"][0]["url"].startswith("http") and "s=" in body["photos"][0]["url"]
    assert body["user"] is None  # the person's own view


async def test_no_enrollment_is_needed(api, task, volunteer):
    token, uid = volunteer
    assert (await ask(api, token, task)).status == 201
    assert await HourRequest.filter(user_id=uid, task_id=int(task["id"])).count() == 1


async def test_hours_are_capped_by_the_task(api, task, volunteer):
    reply = await ask(api, volunteer[0], task, started_at=ago(5.5), ended_at=ago(0))
    assert reply.status == 201, reply.body
    assert reply.body["hours"] == 4.0


async def test_a_second_open_request_for_the_task_is_a_conflict(api, task, volunteer):
    token, _ = volunteer
    assert (await ask(api, token, task)).status == 201

    again = await ask(api, token, task, note="再申请一次")

    assert again.status == 409
    assert again.error_code == "hour_request_open"
    assert "待审核" in again.body["error"]["message"]


async def test_two_requests_at_once_one_is_made(api, task, volunteer):
    token, uid = volunteer
    replies = await asyncio.gather(ask(api, token, task), ask(api, token, task, note="同时"))
    assert sorted(r.status for r in replies) == [201, 409]
    assert [r.error_code for r in replies if r.status == 409] == ["hour_request_open"]
    assert await HourRequest.filter(user_id=uid).count() == 1


async def test_after_a_rejection_the_person_may_ask_again(api, staff, task, volunteer):
    token, _ = volunteer
    first = (await ask(api, token, task)).body
    assert (await decide(api, staff, first["id"], "reject", "时间对不上")).status == 200
    assert (await ask(api, token, task, started_at=ago(3))).status == 201


async def test_a_retried_request_with_the_same_key_is_answered_once(api, task, volunteer):
    token, uid = volunteer
    headers = {"Idempotency-Key": "b7d5a3c1-0000-4000-8000-000000000001"}
    body = claim(task)
    first = await api.call("POST", REQUESTS, token=token, json=body, headers=headers)
    again = await api.call("POST", REQUESTS, token=token, json=body, headers=headers)
    assert first.status == again.status == 201
    assert first.body["id"] == again.body["id"]
    assert await HourRequest.filter(user_id=uid).count() == 1


async def test_someone_outside_the_audience_is_refused(api, staff, tree):
    task = await published_task(
        api, staff, tree.east.id, starts_at=iso(-timedelta(hours=5)), audience={"org_ids": [str(tree.east_village.id)]}
    )
    outsider, _ = await api.person("volunteer", tree.west_village.id)
    reply = await ask(api, outsider, task)
    assert reply.status == 403
    assert "参与范围" in reply.body["error"]["message"]


async def test_someone_elses_photo_is_refused(api, task, volunteer, tree):
    other, _ = await api.person("volunteer", tree.east_village.id)
    theirs = await photo(api, other, seed=3)
    reply = await ask(api, volunteer[0], task, media_ids=[theirs])
    assert reply.status == 403
    assert reply.error_code == "media_not_yours"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"started_at": ago(2), "ended_at": ago(3)}, "ended_at"),  # ends before it starts
        ({"started_at": ago(1), "ended_at": ago(0.9)}, "ended_at"),  # six minutes: 0 hours
        ({"started_at": ago(1), "ended_at": iso(timedelta(hours=2))}, "ended_at"),  # in the future
        ({"started_at": ago(8), "ended_at": ago(6)}, "started_at"),  # before the task's window (−2 h)
        ({"note": "字" * 201}, "note"),
        ({"media_ids": ["1", "1"]}, "media_ids"),
        ({"media_ids": ["1", "2", "3", "4"]}, "media_ids"),
        ({"started_at": "昨天"}, "started_at"),
    ],
)
async def test_bad_claims_name_the_field(api, task, volunteer, overrides, field):
    reply = await ask(api, volunteer[0], task, **overrides)
    fields = bad_fields(reply)
    assert field in fields
    assert any("\u4e00" <= ch <= "\u9fff" for ch in fields[field])  # a Chinese reason
    assert await HourRequest.all().count() == 0


async def test_an_unknown_task_is_not_found(api, volunteer):
    reply = await ask(api, volunteer[0], {"id": "999999"})
    assert reply.status == 404


# -- reading ---------------------------------------------------------------------------------------


async def test_mine_lists_my_requests_newest_first_paged(api, staff, tree, volunteer):
    token, _ = volunteer
    made = []
    for i in range(3):
        t = await published_task(api, staff, tree.east.id, title=f"任务{i}", starts_at=iso(-timedelta(hours=5)))
        made.append((await ask(api, token, t)).body["id"])
    other, _ = await api.person("volunteer", tree.east_village.id)
    await ask(api, other, t)

    first = await api.call("GET", f"{REQUESTS}?mine=1&limit=2", token=token)
    second = await api.call("GET", f"{REQUESTS}?mine=1&limit=2&cursor={first.body['next_cursor']}", token=token)

    assert [r["id"] for r in first.body["items"]] == made[::-1][:2]
    assert [r["id"] for r in second.body["items"]] == made[:1]
    assert second.body["next_cursor"] is None


async def test_staff_see_pending_requests_of_their_subtree_only(api, staff, tree, task, volunteer):
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_staff, tree.west.id, starts_at=iso(-timedelta(hours=5)))
    west_person, _ = await api.person("volunteer", tree.west_village.id)
    ours = (await ask(api, volunteer[0], task)).body["id"]
    await ask(api, west_person, west_task)

    reply = await api.call("GET", f"{REQUESTS}?status=pending&task_id={task['id']}", token=staff)
    everything = await api.call("GET", f"{REQUESTS}?status=pending", token=staff)

    assert [r["id"] for r in reply.body["items"]] == [ours]
    assert [r["id"] for r in everything.body["items"]] == [ours]
    assert reply.body["items"][0]["user"]["id"] == str(volunteer[1])


async def test_the_staff_list_takes_a_fixed_number_of_queries(api, staff, tree, task):
    async def fill(n: int) -> None:
        for i in range(n):
            token, _ = await api.person("volunteer", tree.east_village.id)
            await ask(api, token, task, media_ids=[await photo(api, token, seed=20 + i)])

    await fill(1)
    await api.settle()
    with counting_queries() as few:
        assert (await api.call("GET", f"{REQUESTS}?status=pending", token=staff)).status == 200
    await fill(3)
    await api.settle()
    with counting_queries() as many:
        reply = await api.call("GET", f"{REQUESTS}?status=pending", token=staff)
    assert len(reply.body["items"]) == 4
    assert len(many.statements) == len(few.statements) > 0


async def test_one_request_is_read_by_its_owner_and_subtree_staff_only(api, staff, tree, task, volunteer):
    request_id = (await ask(api, volunteer[0], task)).body["id"]
    west_staff, _ = await api.person("staff", tree.west.id)
    stranger, _ = await api.person("volunteer", tree.east_village.id)

    assert (await api.call("GET", f"{REQUESTS}/{request_id}", token=volunteer[0])).status == 200
    seen = await api.call("GET", f"{REQUESTS}/{request_id}", token=staff)
    assert seen.status == 200 and seen.body["user"]["id"] == str(volunteer[1])
    assert (await api.call("GET", f"{REQUESTS}/{request_id}", token=west_staff)).status == 404
    assert (await api.call("GET", f"{REQUESTS}/{request_id}", token=stranger)).status == 404


# -- reviewing -------------------------------------------------------------------------------------


async def test_approval_books_credit_hours_and_points_once(api, wechat, staff, task, volunteer):
    token, uid = volunteer
    request_id = (await ask(api, token, task)).body["id"]

    reply = await decide(api, staff, request_id)

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "approved"
    assert reply.body["awarded_hours"] == 3.0 and reply.body["awarded_points"] == 10
    assert reply.body["award_note"] is None
    (entry,) = await LedgerEntry.filter(user_id=uid)
    assert entry.once_key == f"hour_request:{request_id}"
    assert entry.hours_kind == "credit" and entry.service_hours == Decimal("3.00") and entry.points == 10
    assert entry.reason == "补录服务时长：东村网络普法宣传"
    assert entry.campaign_id == int(task["campaign_id"])
    person = await User.get(id=uid)
    assert person.points == 10 and person.service_hours == Decimal("3.00") and person.honour_hours == 0
    assert await HourRequest.filter(id=int(request_id), open_key__isnull=True).exists()
    (audit,) = await AuditEntry.filter(action="hour_request_review")
    assert audit.target == f"hour_request:{request_id}" and audit.details["decision"] == "approve"

    again = await decide(api, staff, request_id)
    assert again.status == 409 and again.error_code == "already_reviewed"
    assert await LedgerEntry.filter(user_id=uid).count() == 1


async def test_two_reviewers_at_once_book_once(api, staff, tree, task, volunteer):
    other_staff, _ = await api.person("staff", tree.county.id)
    request_id = (await ask(api, volunteer[0], task)).body["id"]
    replies = await asyncio.gather(decide(api, staff, request_id), decide(api, other_staff, request_id))
    assert sorted(r.status for r in replies) == [200, 409]
    assert await LedgerEntry.filter(user_id=volunteer[1]).count() == 1


async def test_approval_tells_the_person(api, wechat, staff, task, volunteer):
    token, uid = volunteer
    request_id = (await ask(api, token, task)).body["id"]
    await api.settle()
    wechat.sent_messages.clear()

    await decide(api, staff, request_id)
    await api.settle()

    (message,) = wechat.sent_messages
    assert message["template_id"] == "tmpl-review"
    assert message["page"] == f"pages/hours/detail?id={request_id}"
    assert message["data"]["phrase2"]["value"] == "已通过"
    assert message["data"]["thing3"]["value"] == "补录 3 小时，10 积分"
    assert await Notification.filter(user_id=uid, event="hour_request:approved", status="sent").exists()


async def test_rejection_needs_a_reason_and_books_nothing(api, staff, task, volunteer):
    request_id = (await ask(api, volunteer[0], task)).body["id"]

    assert "reason" in bad_fields(await decide(api, staff, request_id, "reject"))
    assert "reason" in bad_fields(await decide(api, staff, request_id, "reject", "  "))
    reply = await decide(api, staff, request_id, "reject", "现场签到表上没有您")

    assert reply.status == 200
    assert reply.body["status"] == "rejected" and reply.body["reason"] == "现场签到表上没有您"
    assert await LedgerEntry.filter(user_id=volunteer[1]).count() == 0


async def test_after_approved_evidence_only_the_missing_hours_and_no_points(api, staff, tree, task, volunteer):
    token, uid = volunteer
    sid = await hand_in(api, token, task)
    assert (
        await api.call("POST", f"/api/v1/submissions/{sid}/review", token=staff, json={"decision": "approve"})
    ).status == 200
    await LedgerEntry.filter(submission_id=int(sid)).update(service_hours=Decimal("1.5"))  # as a check-out would
    assert await credited_hours(int(task["id"]), uid) == Decimal("1.50")
    request_id = (await ask(api, token, task)).body["id"]

    reply = await decide(api, staff, request_id)

    assert reply.body["awarded_hours"] == 2.5  # 4 − 1.5, not the 3 asked
    assert reply.body["awarded_points"] == 0
    assert "不再计积分" in reply.body["award_note"]
    assert await credited_hours(int(task["id"]), uid) == Decimal("4.00")


async def test_a_second_make_up_never_passes_the_task_hours(api, staff, task, volunteer):
    token, uid = volunteer
    first = (await ask(api, token, task)).body["id"]
    await decide(api, staff, first)
    second = (await ask(api, token, task, started_at=ago(5), ended_at=ago(2))).body["id"]

    reply = await decide(api, staff, second)

    assert reply.body["awarded_hours"] == 1.0 and reply.body["awarded_points"] == 0
    assert (await User.get(id=uid)).points == 10
    assert await credited_hours(int(task["id"]), uid) == Decimal("4.00")


async def test_volunteers_cannot_review(api, task, volunteer, tree):
    request_id = (await ask(api, volunteer[0], task)).body["id"]
    other, _ = await api.person("volunteer", tree.east_village.id)
    assert (await decide(api, other, request_id)).status == 403


async def test_staff_of_another_township_cannot_review(api, tree, task, volunteer):
    request_id = (await ask(api, volunteer[0], task)).body["id"]
    west_staff, _ = await api.person("staff", tree.west.id)
    assert (await decide(api, west_staff, request_id)).status == 404
    assert await HourRequest.filter(id=int(request_id), status="pending").exists()


async def test_staff_cannot_review_their_own_request(api, staff, tree):
    task = await published_task(api, staff, tree.east.id, starts_at=iso(-timedelta(hours=5)))
    request_id = (await ask(api, staff, task)).body["id"]
    reply = await decide(api, staff, request_id)
    assert reply.status == 403


# -- personal data ---------------------------------------------------------------------------------


async def test_export_lists_my_requests(api, staff, task, volunteer):
    token, _ = volunteer
    media_id = await photo(api, token)
    request_id = (await ask(api, token, task, media_ids=[media_id])).body["id"]
    await decide(api, staff, request_id)

    exported = (await api.call("GET", "/api/v1/me/export", token=token)).body["hour_requests"]

    assert [(r["id"], r["status"], r["media_ids"], r["awarded_hours"]) for r in exported] == [
        (request_id, "approved", [media_id], 3.0)
    ]
    assert exported[0]["note"] == "手机没电，未能签到"


async def test_erasure_drops_pending_requests_and_keeps_approved_ones_without_the_note(
    api, staff, tree, task, volunteer
):
    token, uid = volunteer
    approved = (await ask(api, token, task)).body["id"]
    await decide(api, staff, approved)
    other = await published_task(api, staff, tree.east.id, title="另一个任务", starts_at=iso(-timedelta(hours=5)))
    pending = (await ask(api, token, other)).body["id"]

    assert (await api.call("DELETE", "/api/v1/me", token=token)).status in (200, 204)

    assert not await HourRequest.filter(id=int(pending)).exists()
    kept = await HourRequest.get(id=int(approved))
    assert kept.note == "" and kept.status == "approved"
    assert await LedgerEntry.filter(user_id=uid, once_key=f"hour_request:{approved}").exists()


async def test_a_cancelled_task_takes_no_new_request_and_approves_none(api, staff, task, volunteer):
    request_id = (await ask(api, volunteer[0], task)).body["id"]
    assert (await api.call("POST", f"/api/v1/tasks/{task['id']}/cancel", token=staff)).status == 200

    other, _ = await api.person("volunteer", (await User.get(id=volunteer[1])).org_id)
    refused = await ask(api, other, task)
    approve = await decide(api, staff, request_id)
    reject = await decide(api, staff, request_id, "reject", "任务已取消")

    assert refused.status == 409 and refused.error_code == "task_closed"
    assert approve.status == 409 and approve.error_code == "task_closed"
    assert reject.status == 200 and reject.body["status"] == "rejected"
    assert await LedgerEntry.filter(user_id=volunteer[1]).count() == 0
