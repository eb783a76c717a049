"""Subscribe messages after review, for new tasks and the day before: what the fake WeChat receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.notifications import Notification, tomorrow_start
from models.users import User
from tests.factories import CAMPAIGNS, iso, make_campaign, make_task, published_task
from tests.handlers.test_review import hand_in, review_path

SEND = "/cgi-bin/message/subscribe/send"


async def openid_of(user_id: int) -> str:
    return (await User.get(id=user_id)).openid or ""


@pytest.fixture
async def task(api, staff, tree) -> dict:
    return await published_task(
        api, staff, tree.east.id, title="湘江村采风：拍摄村容村貌与文化广场新貌及周边", points=10
    )


@pytest.fixture
async def author(api, tree) -> tuple[str, int]:
    return await api.person("volunteer", tree.east_village.id)


async def approve(api, staff: str, sid: str) -> None:
    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})
    assert reply.status == 200, reply.body


async def test_approval_sends_one_message_after_the_response(api, wechat, staff, task, author) -> None:
    token, uid = author
    sid = await hand_in(api, token, task)
    await api.settle()  # the new-task message of the fixture's task went out already
    wechat.sent_messages.clear()
    wechat.delay(SEND, 0.5)

    await approve(api, staff, sid)
    assert wechat.sent_messages == []  # the request did not wait for WeChat
    await api.settle()

    (message,) = wechat.sent_messages
    assert message["touser"] == await openid_of(uid)
    assert message["template_id"] == "tmpl-review"
    assert message["page"] == f"pages/submission/detail?id={sid}"
    data = message["data"]
    assert data["phrase2"]["value"] == "已通过"
    assert data["thing1"]["value"] == "湘江村采风：拍摄村容村貌与文化广场新貌…"  # 20 characters, WeChat's limit
    assert len(data["thing1"]["value"]) == 20
    assert data["thing3"]["value"] == "获得 10 积分"
    (row,) = await Notification.filter(user_id=uid, event="review_result:approved")
    assert row.status == "sent" and row.sent_at is not None


async def test_rejection_after_approval_tells_the_reason(api, wechat, staff, task, author) -> None:
    token, _ = author
    sid = await hand_in(api, token, task)
    await approve(api, staff, sid)
    await api.settle()
    await api.call("POST", review_path(sid), token=staff, json={"decision": "reject", "reason": "照片与任务地点不符"})
    await api.settle()
    results = [m["data"] for m in wechat.sent_messages if m["template_id"] == "tmpl-review"]
    assert [(d["phrase2"]["value"], d["thing3"]["value"]) for d in results] == [
        ("已通过", "获得 10 积分"),
        ("未通过", "照片与任务地点不符"),
    ]


async def test_nothing_is_sent_to_someone_who_did_not_subscribe(api, wechat, staff, task, author) -> None:
    token, uid = author
    wechat.refuse_subscribe(await openid_of(uid))
    sid = await hand_in(api, token, task)
    await approve(api, staff, sid)
    await api.settle()

    assert [m for m in wechat.sent_messages if m["touser"] == await openid_of(uid)] == []
    (row,) = await Notification.filter(user_id=uid, event="review_result:approved")
    assert (row.status, row.errcode, row.attempts) == ("refused", 43101, 1)


@pytest.mark.parametrize("errcode", [-1, 45009, 45011, 40001])
async def test_busy_or_rate_limited_wechat_is_retried(api, wechat, staff, task, author, errcode) -> None:
    token, uid = author
    sid = await hand_in(api, token, task)
    await api.settle()
    wechat.sent_messages.clear()
    # A rejected token is renewed and the call repeated once by the client; the rest by the job.
    wechat.fail_next(SEND, errcode, times=1 if errcode == 40001 else 2)

    await approve(api, staff, sid)
    await api.settle()

    assert len(wechat.sent_messages) == 1
    (row,) = await Notification.filter(user_id=uid, event="review_result:approved")
    assert row.status == "sent"


async def test_a_template_rule_broken_is_recorded_not_retried(api, wechat, staff, task, author) -> None:
    token, uid = author
    sid = await hand_in(api, token, task)
    await api.settle()
    wechat.reset_calls()
    wechat.fail_next(SEND, 47003, times=3)

    await approve(api, staff, sid)
    await api.settle()

    assert wechat.count(SEND) == 1
    (row,) = await Notification.filter(user_id=uid, event="review_result:approved")
    assert (row.status, row.errcode) == ("failed", 47003)


async def test_a_new_task_is_announced_to_its_audience_only(api, wechat, staff, tree) -> None:
    _, east_id = await api.person("volunteer", tree.east_village.id)
    _, influencer_id = await api.person("influencer", tree.east.id)
    await api.person("volunteer", tree.west_village.id)
    campaign = await make_campaign(api, staff, tree.east.id, publish=False)
    task = await make_task(api, staff, campaign["id"], audience={"roles": ["volunteer"]})
    await api.settle()
    assert wechat.sent_messages == []  # a draft announces nothing

    assert (await api.call("POST", f"{CAMPAIGNS}/{campaign['id']}/publish", token=staff)).status == 200
    await api.settle()

    assert [m["touser"] for m in wechat.sent_messages] == [await openid_of(east_id)]
    assert wechat.sent_messages[0]["template_id"] == "tmpl-task-new"
    assert wechat.sent_messages[0]["page"] == f"pages/task/detail?id={task['id']}"
    assert influencer_id not in [n.user_id for n in await Notification.all()]


async def test_reminders_go_once_to_people_enrolled_in_tomorrows_tasks(api, wechat, staff, tree, author) -> None:
    token, uid = author
    ten_tomorrow = tomorrow_start(datetime.now(UTC)) + timedelta(hours=10)  # 10:00 tomorrow, local
    tomorrow = await published_task(
        api,
        staff,
        tree.east.id,
        starts_at=ten_tomorrow.isoformat(),
        ends_at=(ten_tomorrow + timedelta(hours=3)).isoformat(),
    )
    later = await published_task(
        api, staff, tree.east.id, starts_at=iso(timedelta(days=5)), ends_at=iso(timedelta(days=6))
    )
    for t in (tomorrow, later):
        assert (await api.call("POST", f"/api/v1/tasks/{t['id']}/enroll", token=token)).status == 201
    await api.call("POST", f"/api/v1/tasks/{tomorrow['id']}/enroll", token=(await api.person("volunteer"))[0])
    await api.settle()
    wechat.sent_messages.clear()
    jobs = api.service.services.jobs

    await jobs.run_here("remind_tomorrow")
    await jobs.run_here("remind_tomorrow")  # run twice (a restarted worker): still one message each

    reminders = [m for m in wechat.sent_messages if m["template_id"] == "tmpl-reminder"]
    assert len(reminders) == 2  # the author and the other enrolled person, once each
    assert await openid_of(uid) in [m["touser"] for m in reminders]
    assert {m["page"] for m in reminders} == {f"pages/task/detail?id={tomorrow['id']}"}
