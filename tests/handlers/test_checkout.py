"""Check-out (签退), service hours from the time on site, and the reminder to check out."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from models.audit import AuditEntry
from models.campaigns import Enrollment, Task
from models.enrollment import CHECKOUT_GRACE, scene_for
from models.ledger import LedgerEntry
from models.notifications import Notification
from models.users import User
from tests.factories import SPOT, TASKS, iso, online_body, published_task
from tests.images import encode, scene

ON_SITE = {"lat": 30.0003, "lng": 120.0}


@pytest.fixture
async def task(api, tree, staff):
    """A three-hour task at SPOT needing check-in and check-out, running now."""
    return await published_task(
        api,
        staff,
        tree.east.id,
        location=SPOT,
        checkin_required=True,
        checkout_required=True,
        service_hours="3",
        starts_at=iso(-timedelta(hours=1)),
        ends_at=iso(timedelta(hours=2)),
    )


@pytest.fixture
async def volunteer(api, tree):
    return await api.person("volunteer", tree.east_village.id)


async def post(api, token, task_id, action, body=None):
    return await api.call("POST", f"{TASKS}/{task_id}/{action}", token=token, json=body)


async def on_site(api, token, task_id) -> None:
    """Enroll and check in."""
    assert (await post(api, token, task_id, "enroll")).status == 201
    reply = await post(api, token, task_id, "checkin", ON_SITE)
    assert reply.status == 200, reply.body


async def hand_in(api, token, task_id) -> str:
    upload = await api.upload(token, encode(scene((320, 240), seed=7), "JPEG"))
    body = {"media_ids": [upload.body["id"]], "text": "活动照片"}
    reply = await api.call("POST", f"{TASKS}/{task_id}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    return reply.body["id"]


async def review(api, staff, sid, **body):
    return await api.call(
        "POST", f"/api/v1/submissions/{sid}/review", token=staff, json={"decision": "approve", **body}
    )


async def times_on_site(task_id: str, user_id: int, started: datetime, ended: datetime | None) -> None:
    """Date the person's check-in and check-out (the API stamps them with the real clock)."""
    await Enrollment.filter(task_id=int(task_id), user_id=user_id).update(checked_in_at=started, checked_out_at=ended)


def local_minute(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


# -- the task's setting ------------------------------------------------------------------------


async def test_a_task_says_whether_it_needs_check_out(api, task, staff):
    assert task["checkout_required"] is True
    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"checkout_required": False})
    assert reply.status == 200, reply.body
    assert reply.body["checkout_required"] is False


async def test_an_online_task_cannot_need_check_out(api, tree, staff):
    task = await published_task(api, staff, tree.east.id, online=online_body())
    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"checkout_required": True})

    assert reply.status == 400
    assert "checkout_required" in reply.body["error"]["details"]["fields"]
    assert "签退" in reply.body["error"]["message"]
    assert (await Task.get(id=int(task["id"]))).checkout_required is False


async def test_check_out_needs_a_place_or_a_check_in(api, tree, staff):
    task = await published_task(api, staff, tree.east.id)
    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"checkout_required": True})

    assert reply.status == 400
    assert "checkout_required" in reply.body["error"]["details"]["fields"]

    both = {"checkout_required": True, "checkin_required": True}
    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json=both)
    assert reply.status == 200, reply.body


# -- checking out ------------------------------------------------------------------------------


async def test_check_out_on_site_answers_the_enrollment_with_its_time(api, task, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])

    reply = await post(api, token, task["id"], "checkout", {**ON_SITE, "accuracy_m": 10})

    assert reply.status == 200, reply.body
    assert reply.body["checked_out_at"] is not None
    assert reply.body["status"] == "checked_in"
    stored = await Enrollment.get(task_id=int(task["id"]), user_id=user_id)
    assert (stored.checkout_method, stored.checkout_distance_m) == ("gps", 33)


async def test_checking_out_twice_answers_the_first_check_out(api, task, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])
    first = await post(api, token, task["id"], "checkout", ON_SITE)

    await asyncio.sleep(0.01)
    again = await post(api, token, task["id"], "checkout", {"lat": 30.5, "lng": 121.0})  # far away now

    assert again.status == 200, again.body
    assert again.body["checked_out_at"] == first.body["checked_out_at"]


async def test_concurrent_check_outs_record_one_time(api, task, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])

    replies = await asyncio.gather(*(post(api, token, task["id"], "checkout", ON_SITE) for _ in range(5)))

    assert {r.status for r in replies} == {200}
    stored = await Enrollment.get(task_id=int(task["id"]), user_id=user_id)
    assert {r.body["checked_out_at"] for r in replies} == {replies[0].body["checked_out_at"]}
    assert datetime.fromisoformat(replies[0].body["checked_out_at"]) == stored.checked_out_at


async def test_check_out_before_check_in_is_not_checked_in(api, task, volunteer):
    token, _ = volunteer
    assert (await post(api, token, task["id"], "enroll")).status == 201

    reply = await post(api, token, task["id"], "checkout", ON_SITE)

    assert (reply.status, reply.error_code) == (409, "not_checked_in")
    assert "签到" in reply.body["error"]["message"]


async def test_check_out_without_enrollment_is_not_enrolled(api, task, volunteer):
    token, _ = volunteer

    reply = await post(api, token, task["id"], "checkout", ON_SITE)

    assert (reply.status, reply.error_code) == (409, "not_enrolled")


async def test_check_out_away_from_the_site_is_outside_area(api, task, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])

    reply = await post(api, token, task["id"], "checkout", {"lat": 30.01, "lng": 120.0})

    assert (reply.status, reply.error_code) == (400, "outside_area")
    assert "签退" in reply.body["error"]["message"]
    assert abs(reply.body["error"]["details"]["distance_m"] - 1112) <= 5
    assert (await Enrollment.get(task_id=int(task["id"]), user_id=user_id)).checked_out_at is None


async def test_check_out_by_the_task_code(api, task, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])

    bad = await post(api, token, task["id"], "checkout", {"scene": f"{task['id']}.AAAAAAAAAAAAAAAA"})
    good = await post(
        api, token, task["id"], "checkout", {"scene": scene_for(int(task["id"]), api.service.services.scene_key)}
    )

    assert (bad.status, bad.error_code) == (400, "bad_scene")
    assert good.status == 200, good.body
    assert good.body["checked_out_at"] is not None


async def test_check_out_needs_a_place_or_a_code(api, task, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])

    reply = await post(api, token, task["id"], "checkout", {"lat": 30.0})

    assert reply.status == 400
    assert "lng" in reply.body["error"]["details"]["fields"]


async def test_check_out_after_the_grace_says_when_it_closed(api, task, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])
    ends = datetime.now(UTC).replace(microsecond=0) - CHECKOUT_GRACE - timedelta(minutes=5)
    await Task.filter(id=int(task["id"])).update(starts_at=ends - timedelta(hours=3), ends_at=ends)

    reply = await post(api, token, task["id"], "checkout", ON_SITE)

    assert (reply.status, reply.error_code) == (409, "checkout_window_closed")
    assert local_minute(ends + CHECKOUT_GRACE) in reply.body["error"]["message"]
    assert datetime.fromisoformat(reply.body["error"]["details"]["closes_at"]) == ends + CHECKOUT_GRACE


async def test_check_out_within_the_grace_after_the_end_is_taken(api, task, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])
    ends = datetime.now(UTC) - timedelta(hours=1)
    await Task.filter(id=int(task["id"])).update(starts_at=ends - timedelta(hours=3), ends_at=ends)

    reply = await post(api, token, task["id"], "checkout", ON_SITE)

    assert reply.status == 200, reply.body


async def test_a_task_without_check_out_refuses_it(api, tree, staff, volunteer):
    plain = await published_task(api, staff, tree.east.id, location=SPOT)
    token, _ = volunteer
    await on_site(api, token, plain["id"])

    reply = await post(api, token, plain["id"], "checkout", ON_SITE)

    assert reply.status == 409
    assert "无需签退" in reply.body["error"]["message"]


async def test_re_enrolling_forgets_the_earlier_check_out(api, task, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])
    assert (await post(api, token, task["id"], "checkout", ON_SITE)).status == 200
    assert (await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=token)).status == 204

    again = await post(api, token, task["id"], "enroll")

    assert again.status == 201, again.body
    assert again.body["checked_out_at"] is None


# -- hours on approval -------------------------------------------------------------------------


async def test_approval_gives_the_time_on_site_rounded_down_to_the_half_hour(api, task, staff, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])
    sid = await hand_in(api, token, task["id"])
    started = datetime.now(UTC) - timedelta(hours=3)
    await times_on_site(task["id"], user_id, started, started + timedelta(hours=2, minutes=35))

    reply = await review(api, staff, sid)

    assert reply.status == 200, reply.body
    entry = await LedgerEntry.get(submission_id=int(sid), kind="award")
    assert (entry.service_hours, entry.hours_kind) == (Decimal("2.5"), "credit")
    assert (await User.get(id=user_id)).service_hours == Decimal("2.5")
    audit = await AuditEntry.get(action="review", target=f"submission:{sid}")
    assert Decimal(audit.details["service_hours"]) == Decimal("2.5")


async def test_hours_on_site_are_capped_by_the_task(api, task, staff, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])
    sid = await hand_in(api, token, task["id"])
    started = datetime.now(UTC) - timedelta(hours=6)
    await times_on_site(task["id"], user_id, started, started + timedelta(hours=5))

    assert (await review(api, staff, sid)).status == 200

    assert (await LedgerEntry.get(submission_id=int(sid))).service_hours == Decimal("3")


async def test_without_check_out_approval_gives_no_hours(api, task, staff, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])
    sid = await hand_in(api, token, task["id"])

    assert (await review(api, staff, sid)).status == 200

    entry = await LedgerEntry.get(submission_id=int(sid))
    assert entry.service_hours == Decimal("0")
    assert entry.points == 5  # points are the task's whatever the hours
    assert (await User.get(id=user_id)).service_hours == Decimal("0")


async def test_the_reviewer_may_give_hours_to_someone_who_forgot_to_check_out(api, task, staff, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])
    sid = await hand_in(api, token, task["id"])

    reply = await review(api, staff, sid, service_hours="2.5")

    assert reply.status == 200, reply.body
    assert (await LedgerEntry.get(submission_id=int(sid))).service_hours == Decimal("2.5")
    assert (await User.get(id=user_id)).service_hours == Decimal("2.5")


async def test_reviewer_hours_beyond_the_task_are_refused_naming_the_field(api, task, staff, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])
    sid = await hand_in(api, token, task["id"])

    reply = await review(api, staff, sid, service_hours=4)

    assert reply.status == 400
    assert "service_hours" in reply.body["error"]["details"]["fields"]
    assert await LedgerEntry.filter(submission_id=int(sid)).count() == 0
    assert (await api.call("GET", f"/api/v1/submissions/{sid}", token=staff)).body["status"] == "pending"


async def test_negative_reviewer_hours_are_refused(api, task, staff, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])
    sid = await hand_in(api, token, task["id"])

    reply = await review(api, staff, sid, service_hours=-1)

    assert reply.status == 400
    assert "service_hours" in reply.body["error"]["details"]["fields"]


async def test_a_task_without_check_out_keeps_its_hours(api, tree, staff, volunteer):
    plain = await published_task(api, staff, tree.east.id, service_hours="2")
    token, _ = volunteer
    assert (await post(api, token, plain["id"], "enroll")).status == 201
    sid = await hand_in(api, token, plain["id"])

    assert (await review(api, staff, sid)).status == 200

    assert (await LedgerEntry.get(submission_id=int(sid))).service_hours == Decimal("2")


async def test_rejecting_an_approval_takes_back_the_hours_given(api, task, staff, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])
    sid = await hand_in(api, token, task["id"])
    started = datetime.now(UTC) - timedelta(hours=3)
    await times_on_site(task["id"], user_id, started, started + timedelta(hours=1, minutes=10))
    assert (await review(api, staff, sid)).status == 200

    reply = await api.call(
        "POST", f"/api/v1/submissions/{sid}/review", token=staff, json={"decision": "reject", "reason": "照片不符"}
    )

    assert reply.status == 200, reply.body
    assert (await User.get(id=user_id)).service_hours == Decimal("0")
    reversal = await LedgerEntry.get(submission_id=int(sid), kind="reversal")
    assert reversal.service_hours == Decimal("-1")


# -- the reminder ------------------------------------------------------------------------------


def checkout_reminders(wechat) -> list[dict]:
    return [m for m in wechat.sent_messages if m["template_id"] == "tmpl-checkout"]


async def ending_in(task_id: str, delta: timedelta) -> None:
    ends = datetime.now(UTC) + delta
    await Task.filter(id=int(task_id)).update(starts_at=ends - timedelta(hours=3), ends_at=ends)


async def test_someone_still_on_site_is_reminded_once_before_the_end(api, wechat, task, volunteer, tree):
    token, user_id = volunteer
    gone_token, gone_id = await api.person("volunteer", tree.east_village.id)
    await on_site(api, token, task["id"])
    await on_site(api, gone_token, task["id"])
    assert (await post(api, gone_token, task["id"], "checkout", ON_SITE)).status == 200
    await ending_in(task["id"], timedelta(minutes=20))
    before = len(checkout_reminders(wechat))

    jobs = api.service.services.jobs
    await jobs.run_here("remind_checkout")
    await jobs.run_here("remind_checkout")  # every few minutes: still once

    sent = checkout_reminders(wechat)[before:]
    assert [m["touser"] for m in sent] == [(await User.get(id=user_id)).openid]
    assert sent[0]["data"]["thing1"]["value"] == task["title"]
    assert "签退" in sent[0]["data"]["thing3"]["value"]
    assert sent[0]["page"] == f"pages/task/detail?id={task['id']}"
    stored = await Enrollment.get(task_id=int(task["id"]), user_id=user_id)
    assert stored.checkout_reminded_at is not None
    assert (await Enrollment.get(task_id=int(task["id"]), user_id=gone_id)).checkout_reminded_at is None


async def test_no_reminder_long_before_the_end(api, wechat, task, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])
    await ending_in(task["id"], timedelta(hours=2))
    before = len(checkout_reminders(wechat))

    await api.service.services.jobs.run_here("remind_checkout")

    assert checkout_reminders(wechat)[before:] == []
    assert await Notification.filter(event="checkout_reminder").count() == 0


async def test_a_task_ended_within_the_grace_still_reminds(api, wechat, task, volunteer):
    token, user_id = volunteer
    await on_site(api, token, task["id"])
    await ending_in(task["id"], -timedelta(minutes=40))
    before = len(checkout_reminders(wechat))

    await api.service.services.jobs.run_here("remind_checkout")

    assert [m["touser"] for m in checkout_reminders(wechat)[before:]] == [(await User.get(id=user_id)).openid]


async def test_no_reminder_without_a_template(api, wechat, task, volunteer):
    token, _ = volunteer
    await on_site(api, token, task["id"])
    await ending_in(task["id"], timedelta(minutes=10))
    ctx = api.service.services.jobs.ctx
    templates = dict(ctx["templates"])
    ctx["templates"].pop("checkout_reminder")
    try:
        outcome = await api.service.services.jobs.run_here("remind_checkout")
    finally:
        ctx["templates"].clear()
        ctx["templates"].update(templates)

    assert outcome == "no template"
    assert (await Enrollment.get(task_id=int(task["id"]))).checkout_reminded_at is None
