"""Reach of online work: snapshots, tier points, official reposts, and the reminders to record them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.audit import AuditEntry
from models.ledger import LedgerEntry
from models.notifications import Notification
from models.submissions import Submission
from models.users import User
from tests.factories import TASKS, hand_in, iso, published_task
from tests.handlers.test_review import review_path
from tests.images import encode, scene
from tests.support import counting_queries

ONLINE = {
    "platforms": ["douyin", "weibo"],
    "require_link": True,
    "reach_tiers": [{"views": 100, "points": 5}, {"views": 1000, "points": 10}, {"views": 10000, "points": 20}],
    "repost_bonus": {"county": 3, "city": 6, "province": 0, "national": 50},
}
REACH_PAGE = "pages/submission/detail?id={}"


def reach_path(sid: str) -> str:
    return f"/api/v1/submissions/{sid}/reach"


def repost_path(sid: str) -> str:
    return f"/api/v1/submissions/{sid}/repost"


@pytest.fixture
async def task(api, staff, tree) -> dict:
    return await published_task(api, staff, tree.east.id, title="爱家乡短视频", points=10, online=ONLINE)


@pytest.fixture
async def owner(api, tree) -> tuple[str, int]:
    return await api.person("influencer", tree.east_village.id)


async def hand_in_online(api, token: str, task: dict, seed: int = 0, post: int | None = None) -> str:
    """Enroll, upload a photo (scene ``seed``) and hand in the link of post ``post`` (default: ``seed``);
    returns the submission id."""
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    upload = await api.upload(token, encode(scene((320, 240), seed=seed), "JPEG"))
    link = f"https://www.douyin.com/video/73{seed if post is None else post:017d}"
    body = {"media_ids": [upload.body["id"]], "text": "视频已发布", "links": [link]}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    return reply.body["id"]


def counts(views: int, ago: timedelta, **others: Any) -> dict[str, Any]:
    """A snapshot body: ``views`` (likes, comments, shares 0 unless given) captured ``ago`` before now."""
    return {"views": views, "likes": 0, "comments": 0, "shares": 0, "captured_at": iso(-ago)} | others


async def record(api, token: str, sid: str, views: int, ago: timedelta, **others: Any) -> dict:
    reply = await api.call("POST", reach_path(sid), token=token, json=counts(views, ago, **others))
    assert reply.status == 201, reply.body
    return reply.body


async def approve(api, staff: str, sid: str) -> None:
    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})
    assert reply.status == 200, reply.body


async def points_of(user_id: int) -> int:
    return (await User.get(id=user_id)).points


async def bonuses(sid: str) -> list[tuple[str, int, str]]:
    """(kind, points, reason) of the submission's bonus entries, in the order written."""
    rows = await LedgerEntry.filter(bonus_of=int(sid)).order_by("id")
    return [(e.kind, e.points, e.reason) for e in rows]


HOUR = timedelta(hours=1)


# -- snapshots -------------------------------------------------------------------------------------


async def test_snapshots_come_back_in_time_order(api, task, owner) -> None:
    token, uid = owner
    sid = await hand_in_online(api, token, task)
    shot = await api.upload(token, encode(scene((400, 300), seed=31), "PNG"), filename="shot.png")
    assert shot.status == 201, shot.body

    late = await record(api, token, sid, 900, HOUR, likes=30, comments=5, shares=2, media_id=shot.body["id"])
    early = await record(api, token, sid, 100, 3 * HOUR, likes=2)
    middle = await record(api, token, sid, 400, 2 * HOUR, likes=10, comments=3, shares=1)

    listed = await api.call("GET", reach_path(sid), token=token)
    assert listed.status == 200, listed.body
    assert [s["id"] for s in listed.body["items"]] == [early["id"], middle["id"], late["id"]]
    assert [s["views"] for s in listed.body["items"]] == [100, 400, 900]
    first = listed.body["items"][2]
    assert first["submission_id"] == sid and first["correction"] is False
    assert first["recorded_by"]["id"] == str(uid)
    assert first["media"]["id"] == shot.body["id"] and "s=" in first["media"]["url"]
    assert first["duplicate_of"] is None  # staff only
    assert listed.body["items"][0]["media"] is None
    # The submission keeps the latest snapshot's counts, whatever order they came in.
    stored = await Submission.get(id=int(sid))
    assert (stored.views, stored.likes) == (900, 30)


async def test_the_owner_cannot_record_less_than_before_staff_can_correct(api, staff, task, owner) -> None:
    token, _ = owner
    sid = await hand_in_online(api, token, task)
    await record(api, token, sid, 500, 2 * HOUR, likes=20)

    fewer = await api.call("POST", reach_path(sid), token=token, json=counts(400, HOUR, likes=25))
    fewer_likes = await api.call("POST", reach_path(sid), token=token, json=counts(600, HOUR, likes=19))
    more_before = await api.call("POST", reach_path(sid), token=token, json=counts(700, 3 * HOUR, likes=20))

    assert (fewer.status, fewer.error_code) == (400, "reach_decreasing")
    assert fewer.body["error"]["details"] == {"field": "views", "previous": 500}
    assert "500" in fewer.body["error"]["message"] and "浏览量" in fewer.body["error"]["message"]
    assert fewer_likes.status == 400 and fewer_likes.body["error"]["details"]["field"] == "likes"
    assert more_before.status == 400 and more_before.body["error"]["details"]["field"] == "views"

    corrected = await api.call("POST", reach_path(sid), token=staff, json=counts(400, HOUR, likes=15))
    assert corrected.status == 201, corrected.body
    assert corrected.body["correction"] is True
    assert corrected.body["duplicate_of"] == []
    (entry,) = await AuditEntry.filter(action="reach_correct")
    assert entry.target == f"submission:{sid}"
    assert entry.details["views"] == 400 and entry.details["likes"] == 15
    assert (await Submission.get(id=int(sid))).views == 400
    # The correction is the owner's new baseline.
    assert (
        await api.call("POST", reach_path(sid), token=token, json=counts(450, timedelta(0), likes=15))
    ).status == 201


async def test_bad_counts_and_times_name_the_field(api, task, owner, tree) -> None:
    token, _ = owner
    sid = await hand_in_online(api, token, task)
    negative = await api.call("POST", reach_path(sid), token=token, json=counts(-1, HOUR))
    future = await api.call("POST", reach_path(sid), token=token, json=counts(10, -HOUR))
    stranger, _ = await api.person("volunteer", tree.east_village.id)
    theirs = await api.upload(stranger, encode(scene((320, 240), seed=41), "JPEG"))
    not_mine = await api.call("POST", reach_path(sid), token=token, json=counts(10, HOUR, media_id=theirs.body["id"]))
    by_stranger = await api.call("POST", reach_path(sid), token=stranger, json=counts(10, HOUR))
    read_by_stranger = await api.call("GET", reach_path(sid), token=stranger)

    assert negative.status == 400 and list(negative.body["error"]["details"]["fields"]) == ["views"]
    assert future.status == 400 and list(future.body["error"]["details"]["fields"]) == ["captured_at"]
    assert (not_mine.status, not_mine.error_code) == (403, "media_not_yours")
    assert by_stranger.status == 404 and read_by_stranger.status == 404
    assert (await api.call("GET", reach_path(sid), token=token)).body["items"] == []


async def test_reach_belongs_to_online_work_that_is_still_standing(api, staff, task, owner, tree) -> None:
    token, _ = owner
    offline = await published_task(api, staff, tree.east.id, title="线下活动")
    plain = await hand_in(api, token, offline)
    sid = await hand_in_online(api, token, task)
    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "reject", "reason": "链接打不开"})
    assert reply.status == 200, reply.body

    not_online = await api.call("POST", reach_path(plain), token=token, json=counts(10, HOUR))
    closed = await api.call("POST", reach_path(sid), token=token, json=counts(10, HOUR))

    assert (not_online.status, not_online.error_code) == (409, "not_online")
    assert (closed.status, closed.error_code) == (409, "submission_closed")


async def test_a_retried_snapshot_is_recorded_once(api, task, owner) -> None:
    token, _ = owner
    sid = await hand_in_online(api, token, task)
    key = {"Idempotency-Key": "reach-retry-0001"}
    body = counts(300, HOUR)

    first = await api.call("POST", reach_path(sid), token=token, json=body, headers=key)
    again = await api.call("POST", reach_path(sid), token=token, json=body, headers=key)

    assert first.status == again.status == 201
    assert again.body["id"] == first.body["id"]
    assert len((await api.call("GET", reach_path(sid), token=token)).body["items"]) == 1


async def test_a_screenshot_someone_else_used_shows_to_staff_only(api, staff, task, owner, tree) -> None:
    token, _ = owner
    other, _ = await api.person("volunteer", tree.east_village.id)
    theirs = await hand_in_online(api, other, task, seed=7)  # their photo: scene seed 7
    sid = await hand_in_online(api, token, task, seed=8)
    copy = await api.upload(token, encode(scene((320, 240), seed=7), "JPEG"))

    posted = await api.call("POST", reach_path(sid), token=token, json=counts(50, HOUR, media_id=copy.body["id"]))

    assert posted.status == 201 and posted.body["duplicate_of"] is None
    as_owner = await api.call("GET", reach_path(sid), token=token)
    as_staff = await api.call("GET", reach_path(sid), token=staff)
    assert as_owner.body["items"][0]["duplicate_of"] is None
    assert as_staff.body["items"][0]["duplicate_of"] == [theirs]


# -- points for reach ------------------------------------------------------------------------------


async def test_tiers_award_once_each_and_follow_corrections_and_rejection(api, staff, task, owner) -> None:
    token, uid = owner
    sid = await hand_in_online(api, token, task)
    await record(api, token, sid, 1500, 3 * HOUR)
    assert await bonuses(sid) == []  # nothing before approval

    await approve(api, staff, sid)
    assert await bonuses(sid) == [
        ("award", 5, "传播达到 100 浏览：爱家乡短视频"),
        ("award", 10, "传播达到 1000 浏览：爱家乡短视频"),
    ]
    assert await points_of(uid) == 10 + 5 + 10

    await record(api, token, sid, 1500, 2 * HOUR)  # the same counts again
    await record(api, token, sid, 5000, 90 * timedelta(minutes=1))  # higher, the same tier
    assert len(await bonuses(sid)) == 2

    await record(api, token, sid, 12000, HOUR)
    assert (await bonuses(sid))[2:] == [("award", 20, "传播达到 1 万 浏览：爱家乡短视频")]
    assert await points_of(uid) == 45

    corrected = await api.call("POST", reach_path(sid), token=staff, json=counts(800, timedelta(minutes=30)))
    assert corrected.status == 201, corrected.body
    assert sorted(e for e in await bonuses(sid) if e[0] == "reversal") == [
        ("reversal", -20, "传播数据更正，撤销 1 万 浏览奖励"),
        ("reversal", -10, "传播数据更正，撤销 1000 浏览奖励"),
    ]
    assert await points_of(uid) == 15

    # Reached again after the correction took it back: awarded again, once.
    await record(api, token, sid, 1200, timedelta(minutes=10))
    await record(api, token, sid, 1300, timedelta(minutes=5))
    assert (await bonuses(sid))[-1] == ("award", 10, "传播达到 1000 浏览：爱家乡短视频")
    assert await points_of(uid) == 25

    reject = {"decision": "reject", "reason": "作品已被平台删除"}
    assert (await api.call("POST", review_path(sid), token=staff, json=reject)).status == 200
    assert await points_of(uid) == 0
    assert sum(e.points for e in await LedgerEntry.filter(user_id=uid)) == 0


async def test_reach_recorded_after_approval_earns_its_tier(api, staff, task, owner) -> None:
    token, uid = owner
    sid = await hand_in_online(api, token, task)
    await approve(api, staff, sid)
    assert await points_of(uid) == 10

    await record(api, token, sid, 99, 2 * HOUR)
    assert await bonuses(sid) == []
    await record(api, token, sid, 100, HOUR)
    assert await bonuses(sid) == [("award", 5, "传播达到 100 浏览：爱家乡短视频")]


async def test_two_snapshots_at_once_award_each_tier_once(api, staff, task, owner) -> None:
    token, uid = owner
    sid = await hand_in_online(api, token, task)
    await approve(api, staff, sid)

    replies = await asyncio.gather(
        api.call("POST", reach_path(sid), token=token, json=counts(150, 2 * HOUR)),
        api.call("POST", reach_path(sid), token=token, json=counts(1200, HOUR)),
        api.call("POST", reach_path(sid), token=token, json=counts(1200, HOUR)),
    )

    assert [r.status for r in replies] == [201] * 3, [r.body for r in replies]
    assert sorted(await bonuses(sid)) == [
        ("award", 5, "传播达到 100 浏览：爱家乡短视频"),
        ("award", 10, "传播达到 1000 浏览：爱家乡短视频"),
    ]
    assert await points_of(uid) == 25


async def test_a_snapshot_and_a_repost_racing_a_rejection_leave_no_bonus_standing(api, staff, task, tree) -> None:
    for seed in range(3):
        token, uid = await api.person("influencer", tree.east_village.id)
        sid = await hand_in_online(api, token, task, seed=20 + seed)
        await approve(api, staff, sid)
        reject = {"decision": "reject", "reason": "作品已被平台删除"}

        repost = {"level": "national", "url": "https://www.example.gov.cn/a/3.html"}
        replies = await asyncio.gather(
            api.call("POST", reach_path(sid), token=token, json=counts(20000, HOUR)),
            api.call("POST", repost_path(sid), token=staff, json=repost),
            api.call("POST", review_path(sid), token=staff, json=reject),
        )
        assert replies[1].status in (201, 409) and replies[2].status == 200

        assert (await Submission.get(id=int(sid))).status == "rejected"
        assert sum(p for _, p, _ in await bonuses(sid)) == 0
        assert await points_of(uid) == 0


async def test_reposts_earn_their_level_once(api, staff, task, owner, tree) -> None:
    token, uid = owner
    sid = await hand_in_online(api, token, task)
    city = {"level": "city", "url": "https://www.example.gov.cn/art/2026/5/2/art_1.html"}

    early = await api.call("POST", repost_path(sid), token=staff, json=city)
    await approve(api, staff, sid)
    first = await api.call("POST", repost_path(sid), token=staff, json=city)
    second = await api.call("POST", repost_path(sid), token=staff, json=city | {"url": "https://news.example.cn/1"})
    national = await api.call("POST", repost_path(sid), token=staff, json={**city, "level": "national"})
    province = await api.call("POST", repost_path(sid), token=staff, json={**city, "level": "province"})

    assert (early.status, early.error_code) == (409, "not_approved")
    assert first.status == 201, first.body
    assert {k: first.body[k] for k in ("submission_id", "level", "url", "points")} == {
        "submission_id": sid,
        "level": "city",
        "url": city["url"],
        "points": 6,
    }
    assert (second.status, second.error_code) == (409, "repost_recorded")
    assert national.status == 201 and national.body["points"] == 50
    assert province.status == 201 and province.body["points"] == 0  # recorded, no bonus at that level
    assert await bonuses(sid) == [
        ("award", 6, "作品被市级官方平台转载：爱家乡短视频"),
        ("award", 50, "作品被国家级官方平台转载：爱家乡短视频"),
    ]
    assert await points_of(uid) == 10 + 6 + 50
    assert await AuditEntry.filter(action="repost", target=f"submission:{sid}").count() == 3

    listed = await api.call("GET", f"/api/v1/submissions/{sid}/reposts", token=token)
    assert [r["level"] for r in listed.body["items"]] == ["city", "national", "province"]
    stranger, _ = await api.person("volunteer", tree.east_village.id)
    west_staff, _ = await api.person("staff", tree.west.id)
    assert (await api.call("GET", f"/api/v1/submissions/{sid}/reposts", token=stranger)).status == 404
    assert (await api.call("POST", repost_path(sid), token=token, json=city)).status == 403
    assert (await api.call("POST", repost_path(sid), token=west_staff, json=city)).status == 404


async def test_rejection_takes_back_the_approval_and_every_bonus(api, staff, task, owner) -> None:
    token, uid = owner
    sid = await hand_in_online(api, token, task)
    await record(api, token, sid, 2000, HOUR)
    await approve(api, staff, sid)
    repost = {"level": "county", "url": "https://www.example.gov.cn/a/1.html"}
    assert (await api.call("POST", repost_path(sid), token=staff, json=repost)).status == 201
    assert await points_of(uid) == 10 + 5 + 10 + 3

    reject = {"decision": "reject", "reason": "作品已被平台删除"}
    assert (await api.call("POST", review_path(sid), token=staff, json=reject)).status == 200

    assert await points_of(uid) == 0
    reversals = [e for e in await bonuses(sid) if e[0] == "reversal"]
    assert sorted(p for _, p, _ in reversals) == [-10, -5, -3]
    assert all(reason.startswith("撤销奖励：") for _, _, reason in reversals)
    again = await api.call("POST", repost_path(sid), token=staff, json=repost | {"level": "city"})
    assert (again.status, again.error_code) == (409, "not_approved")


async def test_my_points_and_the_leaderboard_show_the_bonuses(api, staff, task, owner) -> None:
    token, _ = owner
    sid = await hand_in_online(api, token, task)
    await approve(api, staff, sid)
    await record(api, token, sid, 150, HOUR)
    repost = {"level": "city", "url": "https://www.example.gov.cn/a/2.html"}
    assert (await api.call("POST", repost_path(sid), token=staff, json=repost)).status == 201

    mine = await api.call("GET", "/api/v1/me/points", token=token)
    board = await api.call("GET", "/api/v1/leaderboard", token=token)

    assert [(e["points"], e["submission_id"]) for e in mine.body["items"]] == [(6, sid), (5, sid), (10, sid)]
    assert "市级" in mine.body["items"][0]["reason"]
    assert board.body["me"]["points"] == 21
    assert [(i["points"], i["is_me"]) for i in board.body["items"]] == [(21, True)]


# -- reminders to record reach ---------------------------------------------------------------------


async def approved_days_ago(api, staff: str, sid: str, days: float) -> None:
    """Approve now, then date the review ``days`` back (what the daily job looks at)."""
    await approve(api, staff, sid)
    await api.settle()
    when = datetime.now(UTC) - timedelta(days=days)
    await Submission.filter(id=int(sid)).update(reviewed_at=when)


def reach_reminders(wechat) -> list[dict]:
    return [m for m in wechat.sent_messages if m["template_id"] == "tmpl-reach"]


async def test_a_day_after_approval_the_owner_is_asked_once(api, wechat, staff, task, owner) -> None:
    token, uid = owner
    sid = await hand_in_online(api, token, task)
    await approved_days_ago(api, staff, sid, 1.2)
    jobs = api.service.services.jobs

    await jobs.run_here("remind_reach")
    await jobs.run_here("remind_reach")  # a restarted worker: still once

    (message,) = reach_reminders(wechat)
    assert message["touser"] == (await User.get(id=uid)).openid
    assert message["page"] == REACH_PAGE.format(sid)
    assert message["data"]["thing1"]["value"] == "爱家乡短视频"
    assert message["data"]["thing2"]["value"] == "请更新作品传播数据（第1天）"
    assert all(len(field["value"]) <= 20 for field in message["data"].values())
    (row,) = await Notification.filter(user_id=uid, event="reach_reminder:1")
    assert row.status == "sent"


async def test_a_week_after_approval_comes_its_own_reminder(api, wechat, staff, task, owner) -> None:
    token, _ = owner
    sid = await hand_in_online(api, token, task)
    await approved_days_ago(api, staff, sid, 1.5)
    jobs = api.service.services.jobs
    await jobs.run_here("remind_reach")
    await Submission.filter(id=int(sid)).update(reviewed_at=datetime.now(UTC) - timedelta(days=7.5))

    await jobs.run_here("remind_reach")
    await jobs.run_here("remind_reach")

    hints = [m["data"]["thing2"]["value"] for m in reach_reminders(wechat)]
    assert hints == ["请更新作品传播数据（第1天）", "请更新作品传播数据（第7天）"]


async def test_no_reminder_for_rejected_or_offline_work(api, wechat, staff, task, owner, tree) -> None:
    token, _ = owner
    sid = await hand_in_online(api, token, task)
    await approved_days_ago(api, staff, sid, 1.5)
    reject = {"decision": "reject", "reason": "作品已被平台删除"}
    assert (await api.call("POST", review_path(sid), token=staff, json=reject)).status == 200
    await Submission.filter(id=int(sid)).update(reviewed_at=datetime.now(UTC) - timedelta(days=1.5))
    offline = await published_task(api, staff, tree.east.id, title="线下活动")
    plain = await hand_in(api, token, offline)
    await approved_days_ago(api, staff, plain, 1.5)
    too_soon = await hand_in_online(api, (await api.person("volunteer", tree.east_village.id))[0], task, seed=3)
    await approved_days_ago(api, staff, too_soon, 0.5)

    await api.service.services.jobs.run_here("remind_reach")

    assert reach_reminders(wechat) == []
    assert await Notification.filter(event__startswith="reach_reminder").count() == 0


async def test_the_snapshot_list_costs_the_same_statements_for_one_or_many(api, staff, task, owner) -> None:
    token, _ = owner
    sid = await hand_in_online(api, token, task)
    await record(api, token, sid, 10, 5 * HOUR)
    with counting_queries() as one:
        first = await api.call("GET", reach_path(sid), token=staff)
    for n in range(4):
        shot = await api.upload(token, encode(scene((320, 240), seed=50 + n), "JPEG"))
        await record(api, token, sid, 20 + n, (4 - n) * HOUR, media_id=shot.body["id"])
    await api.call("POST", reach_path(sid), token=staff, json=counts(5, timedelta(minutes=30)))
    with counting_queries() as many:
        later = await api.call("GET", reach_path(sid), token=staff)

    assert (len(first.body["items"]), len(later.body["items"])) == (1, 6)
    assert len(many.statements) == len(one.statements) > 0


async def test_the_personal_export_holds_reach_bonuses_and_shares(api, staff, task, owner, tree) -> None:
    token, _ = owner
    sid = await hand_in_online(api, token, task)
    await record(api, token, sid, 150, 2 * HOUR, likes=9)
    await approve(api, staff, sid)
    ref = (await api.call("POST", "/api/v1/share-links", token=token, json={"task_id": task["id"]})).body["ref"]
    opener, _ = await api.person("volunteer", tree.east_village.id)
    assert (await api.call("POST", "/api/v1/share-opens", token=opener, json={"ref": ref})).status == 204

    mine = (await api.call("GET", "/api/v1/me/export", token=token)).body
    theirs = (await api.call("GET", "/api/v1/me/export", token=opener)).body

    assert [(r["submission_id"], r["views"], r["likes"], r["correction"]) for r in mine["reach"]] == [
        (sid, 150, 9, False)
    ]
    tier = [e for e in mine["ledger"] if e["reason"].startswith("传播达到")]
    assert [(e["points"], e["submission_id"]) for e in tier] == [(5, sid)]
    assert [(s["task_id"], s["opens"]) for s in mine["shares"]] == [(task["id"], 1)]
    assert mine["share_opens"] == [] and theirs["shares"] == []
    assert [o["task_id"] for o in theirs["share_opens"]] == [task["id"]]
