"""Online tasks and links as evidence: the task's "online" body, links normalised, one item one submission."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import PlatformAccount
from models.submission_links import SubmissionLink
from models.submissions import Submission
from tests.factories import CAMPAIGNS, TASKS, make_campaign, published_task, task_body

SUBMISSIONS = "/api/v1/submissions"
ACCOUNTS = "/api/v1/me/accounts"

# One Weibo post written three ways (models.online_links: the bid z0JH2lOMb is the mid 3501756485200075).
WEIBO_UID = "1642634100"
WEIBO_DESKTOP = f"https://weibo.com/{WEIBO_UID}/z0JH2lOMb"
WEIBO_MOBILE = "https://m.weibo.cn/status/z0JH2lOMb"
WEIBO_CANONICAL = "https://m.weibo.cn/detail/3501756485200075"
DOUYIN_VIDEO = "https://www.douyin.com/video/7300000000000000001"
DOUYIN_SHARE = (
    "https://www.iesdouyin.com/share/video/7300000000000000001/?region=CN&mid=7299000000000000000"
    "&u_code=j3k1a&did=1000&iid=2000&titleType=title&share_sign=Qx&share_version=290100&ts=1700000000"
)


@pytest.fixture
async def person(api, tree) -> tuple[str, int]:
    return await api.person("influencer", tree.east_village.id)


async def online_task(api, staff: str, tree, **online: Any) -> dict:
    """An online task of the east township (no photos needed) with ``online`` settings."""
    settings = {"platforms": ["weibo", "douyin"], **online}
    return await published_task(api, staff, tree.east.id, min_photos=0, max_photos=3, online=settings)


async def enroll(api, token: str, task: dict) -> None:
    reply = await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)
    assert reply.status == 201, reply.body


async def hand_in(api, token: str, task: dict, links: list[str], text: str = "发布了家乡的短视频"):
    body = {"media_ids": [], "text": text, "links": links}
    return await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)


async def reject(api, staff: str, submission_id: str) -> None:
    body = {"decision": "reject", "reason": "作品与任务无关"}
    reply = await api.call("POST", f"{SUBMISSIONS}/{submission_id}/review", token=staff, json=body)
    assert reply.status == 200, reply.body


async def verified_account(api, token: str, staff: str, platform: str, handle: str, profile_url: str | None = None):
    body = {"platform": platform, "handle": handle, "profile_url": profile_url}
    claimed = await api.call("POST", ACCOUNTS, token=token, json=body)
    assert claimed.status == 201, claimed.body
    path = f"/api/v1/accounts/{claimed.body['id']}/verify"
    decided = await api.call("POST", path, token=staff, json={"decision": "verify"})
    assert decided.status == 200, decided.body


async def two_enrolled(api, staff: str, tree, person: tuple[str, int]) -> tuple[dict, str, str]:
    """An online task and two people enrolled in it: ``person`` and another."""
    task = await online_task(api, staff, tree)
    other, _ = await api.person("influencer", tree.east_village.id)
    await enroll(api, person[0], task)
    await enroll(api, other, task)
    return task, person[0], other


def tier(views: int) -> dict[str, int]:
    return {"views": views, "points": 1}


def fields_of(reply) -> dict[str, str]:
    return reply.body["error"]["details"]["fields"]


# --- the task's "online" body -------------------------------------------------------------------


async def test_an_online_task_reads_back_as_given_with_defaults_filled(api, staff, tree) -> None:
    given = await online_task(api, staff, tree, reach_tiers=[{"views": 10000, "points": 5}], repost_bonus={"city": 2})
    bare = await online_task(api, staff, tree, platforms=["toutiao"])

    assert given["online"] == {
        "platforms": ["weibo", "douyin"],
        "require_link": True,
        "own_account": False,
        "reach_tiers": [{"views": 10000, "points": 5}],
        "repost_bonus": {"county": 0, "city": 2, "province": 0, "national": 0},
        "share_points": 0,
        "share_daily_cap": 10,
    }
    assert bare["online"]["platforms"] == ["toutiao"] and bare["online"]["reach_tiers"] == []
    again = await api.call("GET", f"{TASKS}/{given['id']}", token=staff)
    assert again.body["online"] == given["online"]


@pytest.mark.parametrize(
    ("online", "field"),
    [
        ({"platforms": []}, "online.platforms"),
        ({"platforms": ["tiktok"]}, "online.platforms.0"),
        ({"platforms": ["weibo", "douyin", "weibo"]}, "online.platforms"),
        ({"platforms": ["weibo"], "reach_tiers": [tier(500), tier(100)]}, "online.reach_tiers"),
        ({"platforms": ["weibo"], "reach_tiers": [tier(100), tier(100)]}, "online.reach_tiers"),
        ({"platforms": ["weibo"], "reach_tiers": [{"views": 0, "points": 1}]}, "online.reach_tiers.0.views"),
        ({"platforms": ["weibo"], "repost_bonus": {"township": 1}}, "online.repost_bonus.township"),
    ],
)  # fmt: skip
async def test_a_bad_online_body_is_400_naming_the_field(api, staff, tree, online, field) -> None:
    campaign = await make_campaign(api, staff, tree.east.id)

    reply = await api.call("POST", f"{CAMPAIGNS}/{campaign['id']}/tasks", token=staff, json=task_body(online=online))

    assert (reply.status, reply.error_code) == (400, "invalid_request"), reply.body
    assert field in fields_of(reply), fields_of(reply)
    assert any("\u4e00" <= c <= "\u9fff" for c in fields_of(reply)[field])


async def test_an_online_task_cannot_require_a_checkin(api, staff, tree) -> None:
    campaign = await make_campaign(api, staff, tree.east.id)
    body = task_body(checkin_required=True, online={"platforms": ["douyin"]})
    created = await api.call("POST", f"{CAMPAIGNS}/{campaign['id']}/tasks", token=staff, json=body)
    onsite = await published_task(api, staff, tree.east.id, checkin_required=True)
    made_online = await api.call(
        "PATCH", f"{TASKS}/{onsite['id']}", token=staff, json={"online": {"platforms": ["douyin"]}}
    )

    for reply in (created, made_online):
        assert (reply.status, reply.error_code) == (400, "invalid_request"), reply.body
        assert "签到" in fields_of(reply)["checkin_required"]
    assert (await api.call("GET", f"{TASKS}/{onsite['id']}", token=staff)).body["online"] is None


async def test_the_feed_shows_online_tasks_and_they_need_no_checkin(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree)
    onsite = await published_task(api, staff, tree.east.id, title="现场拍摄")
    token, _ = person

    feed = await api.call("GET", TASKS, token=token)
    await enroll(api, token, task)
    reply = await hand_in(api, token, task, [WEIBO_CANONICAL])

    assert feed.status == 200
    online = {t["id"]: t["online"] for t in feed.body["items"]}
    assert online[onsite["id"]] is None
    assert online[task["id"]]["platforms"] == ["weibo", "douyin"]
    assert task["checkin_required"] is False and task["location"] is None
    assert reply.status == 201, reply.body
    assert reply.body["links"] == [WEIBO_CANONICAL]


# --- links handed in ------------------------------------------------------------------------


async def test_a_link_of_another_platform_is_400_naming_it(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree)
    token, _ = person
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, [WEIBO_CANONICAL, "https://www.bilibili.com/video/BV1xx411c7mD"])

    assert (reply.status, reply.error_code) == (400, "link_platform_mismatch"), reply.body
    assert reply.body["error"]["details"] == {"field": "links.1"}
    assert "第 2 个链接" in reply.body["error"]["message"] and "微博、抖音" in reply.body["error"]["message"]
    assert await Submission.all().count() == 0


async def test_a_link_of_no_platform_is_a_platform_mismatch_too(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree)
    token, _ = person
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, ["https://example.org/post/1"])

    assert (reply.status, reply.error_code) == (400, "link_platform_mismatch"), reply.body
    assert reply.body["error"]["details"] == {"field": "links.0"}


async def test_a_task_requiring_a_link_refuses_none(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree)
    optional = await online_task(api, staff, tree, require_link=False)
    token, _ = person
    await enroll(api, token, task)
    await enroll(api, token, optional)

    missing = await hand_in(api, token, task, [])
    fine = await hand_in(api, token, optional, [])

    assert (missing.status, missing.error_code) == (400, "invalid_request"), missing.body
    assert "链接" in fields_of(missing)["links"]
    assert fine.status == 201, fine.body


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("https://user:secret@weibo.com/1642634100/z0JH2lOMb", "用户名或密码"),
        ("https://weibo.com:99999/1642634100/z0JH2lOMb", "端口"),
        ("https://weibo..com/1642634100/z0JH2lOMb", "网站地址无效"),
        ("javascript:alert(1)", "http://"),
        ("https://weibo.com/16426\x0734100/z0JH2lOMb", "控制字符"),
        ("复制打开抖音，看看【作品】", "没有找到链接"),
    ],
)
async def test_an_unparseable_link_is_400_naming_it_with_the_reason(api, staff, tree, person, link, reason) -> None:
    task = await online_task(api, staff, tree)
    token, _ = person
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, [DOUYIN_VIDEO, link])

    assert (reply.status, reply.error_code) == (400, "invalid_request"), reply.body
    assert reason in fields_of(reply)["links.1"], fields_of(reply)


async def test_a_pasted_share_text_is_taken_for_the_link_in_it(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree)
    token, _ = person
    await enroll(api, token, task)
    pasted = "7.43 复制打开抖音，看看【县融媒的作品】美丽乡村 # 石亭子村 https://v.douyin.com/iRNBho5/ Mjc:/ 10/21"

    reply = await hand_in(api, token, task, [pasted])

    assert reply.status == 201, reply.body
    assert reply.body["links"] == ["https://v.douyin.com/iRNBho5/"]


async def test_links_are_stored_normalised(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree)
    token, _ = person
    await enroll(api, token, task)
    weibo = "https://M.Weibo.CN/status/z0JH2lOMb?sourceType=weixin&from=10E5095010&wm=9006_2001#comments"
    long_share = DOUYIN_SHARE + "&share_track=" + "x" * 900  # share links can run long before their tracking goes

    reply = await hand_in(api, token, task, [weibo, long_share])

    assert reply.status == 201, reply.body
    assert reply.body["links"] == [WEIBO_CANONICAL, DOUYIN_VIDEO]
    rows = await SubmissionLink.filter(submission_id=int(reply.body["id"])).order_by("position")
    assert [(r.url, r.platform) for r in rows] == [(WEIBO_CANONICAL, "weibo"), (DOUYIN_VIDEO, "douyin")]
    assert all(r.live_key == r.link_key for r in rows)


async def test_one_item_twice_in_one_hand_in_is_400(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree)
    token, _ = person
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, [WEIBO_DESKTOP, WEIBO_MOBILE])

    assert (reply.status, reply.error_code) == (400, "invalid_request"), reply.body
    assert "重复" in fields_of(reply)["links"]


@pytest.mark.parametrize(("first", "second"), [(WEIBO_MOBILE, WEIBO_DESKTOP), (DOUYIN_SHARE, DOUYIN_VIDEO)])
async def test_one_item_handed_in_twice_is_409_naming_only_ones_own(api, staff, tree, person, first, second) -> None:
    task = await online_task(api, staff, tree)
    other_task = await online_task(api, staff, tree)
    token, _ = person
    other, _ = await api.person("influencer", tree.east_village.id)
    for who, what in ((token, task), (token, other_task), (other, other_task)):
        await enroll(api, who, what)
    held = await hand_in(api, token, task, [first])

    mine = await hand_in(api, token, other_task, [second])
    theirs = await hand_in(api, other, other_task, [second])

    assert held.status == 201, held.body
    assert (mine.status, mine.error_code) == (409, "link_claimed"), mine.body
    assert mine.body["error"]["details"] == {"submission_id": held.body["id"]}
    assert (theirs.status, theirs.error_code) == (409, "link_claimed"), theirs.body
    assert "submission_id" not in (theirs.body["error"].get("details") or {})
    assert await SubmissionLink.all().count() == 1


async def test_a_rejected_submission_lets_go_of_its_links_and_the_reviewer_sees_them_used(
    api, staff, tree, person
) -> None:
    task, token, other = await two_enrolled(api, staff, tree, person)
    first = await hand_in(api, token, task, [WEIBO_MOBILE])
    await reject(api, staff, first.body["id"])

    again = await hand_in(api, token, task, [WEIBO_DESKTOP], text="重新提交")
    await reject(api, staff, again.body["id"])
    by_other = await hand_in(api, other, task, [WEIBO_CANONICAL])
    seen = [(await api.call("GET", f"{SUBMISSIONS}/{r.body['id']}", token=staff)).body for r in (again, by_other)]
    own_view = await api.call("GET", f"{SUBMISSIONS}/{by_other.body['id']}", token=other)

    assert again.status == 201 and by_other.status == 201, (again.body, by_other.body)
    assert seen[0]["risk"]["link_used"] == [first.body["id"]]
    assert seen[1]["risk"]["link_used"] == [first.body["id"], again.body["id"]]
    assert seen[1]["risk"]["account_unverified"] == []  # the task does not ask for the person's own account
    assert own_view.body["risk"] is None
    live = await SubmissionLink.filter(live_key__isnull=False)
    assert [r.submission_id for r in live] == [int(by_other.body["id"])]


async def test_a_fresh_link_shows_no_flags(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree)
    token, _ = person
    await enroll(api, token, task)

    sid = (await hand_in(api, token, task, [DOUYIN_VIDEO])).body["id"]
    seen = await api.call("GET", f"{SUBMISSIONS}/{sid}", token=staff)

    assert seen.body["risk"]["link_used"] == [] and seen.body["risk"]["account_unverified"] == []


async def test_erasing_the_account_withdraws_the_submission_and_frees_its_links(api, staff, tree, person) -> None:
    task, token, other = await two_enrolled(api, staff, tree, person)
    sid = (await hand_in(api, token, task, [WEIBO_DESKTOP])).body["id"]

    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204
    reply = await hand_in(api, other, task, [WEIBO_MOBILE])

    assert reply.status == 201, reply.body
    assert (await Submission.get(id=int(sid))).status == "withdrawn"
    erased = await SubmissionLink.get(submission_id=int(sid))
    assert erased.live_key is None and erased.url == ""  # the erased person's link goes, as their text does
    seen = await api.call("GET", f"{SUBMISSIONS}/{reply.body['id']}", token=staff)
    assert seen.body["risk"]["link_used"] == [sid]


async def test_cancelling_a_task_frees_the_links_of_evidence_it_will_never_review(api, staff, tree, person) -> None:
    token, _ = person
    cancelled, other_task = await online_task(api, staff, tree), await online_task(api, staff, tree)
    await enroll(api, token, cancelled)
    await enroll(api, token, other_task)
    assert (await hand_in(api, token, cancelled, [WEIBO_DESKTOP])).status == 201

    held = await hand_in(api, token, other_task, [WEIBO_MOBILE])
    assert (await api.call("POST", f"{TASKS}/{cancelled['id']}/cancel", token=staff)).status == 200
    moved = await hand_in(api, token, other_task, [WEIBO_MOBILE])

    assert (held.status, held.error_code) == (409, "link_claimed"), held.body
    assert moved.status == 201, moved.body


# --- the person's own account ------------------------------------------------------------------


async def test_a_link_showing_another_account_is_400(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree, own_account=True)
    token, _ = person
    await verified_account(api, token, staff, "weibo", "县融媒", f"https://weibo.com/u/{WEIBO_UID}")
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, ["https://weibo.com/2000000001/z0JH2lOMb"])

    assert (reply.status, reply.error_code) == (400, "link_account_mismatch"), reply.body
    assert reply.body["error"]["details"] == {"field": "links.0"}
    assert "微博" in reply.body["error"]["message"]


@pytest.mark.parametrize(
    ("handle", "profile_url"),
    [("县融媒", f"https://m.weibo.cn/u/{WEIBO_UID}?uid={WEIBO_UID}&luicode=10000011"), (WEIBO_UID, None)],
)
async def test_a_link_showing_the_persons_verified_account_is_taken(
    api, staff, tree, person, handle, profile_url
) -> None:
    task = await online_task(api, staff, tree, own_account=True)
    token, _ = person
    await verified_account(api, token, staff, "weibo", handle, profile_url)
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, [WEIBO_DESKTOP])
    seen = await api.call("GET", f"{SUBMISSIONS}/{reply.body['id']}", token=staff)

    assert reply.status == 201, reply.body
    assert seen.body["risk"]["account_unverified"] == []


async def test_a_pending_account_in_the_link_is_not_enough(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree, own_account=True)
    token, _ = person
    claimed = await api.call(
        "POST",
        ACCOUNTS,
        token=token,
        json={"platform": "weibo", "handle": "县融媒", "profile_url": f"https://weibo.com/u/{WEIBO_UID}"},
    )
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, [WEIBO_DESKTOP])

    assert claimed.status == 201 and claimed.body["status"] == "pending"
    assert (reply.status, reply.error_code) == (400, "link_account_mismatch"), reply.body


async def test_a_link_not_showing_an_account_flags_an_unverified_platform(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree, own_account=True)
    token, _ = person
    await verified_account(api, token, staff, "douyin", "qingxi_county")
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, [WEIBO_CANONICAL, DOUYIN_VIDEO])
    seen = await api.call("GET", f"{SUBMISSIONS}/{reply.body['id']}", token=staff)

    assert reply.status == 201, reply.body
    assert seen.body["risk"]["account_unverified"] == ["weibo"]


async def test_rejecting_an_approved_submission_lets_go_of_its_links(api, staff, tree, person) -> None:
    task, token, other = await two_enrolled(api, staff, tree, person)
    sid = (await hand_in(api, token, task, [DOUYIN_VIDEO])).body["id"]
    approve = await api.call("POST", f"{SUBMISSIONS}/{sid}/review", token=staff, json={"decision": "approve"})
    held = await hand_in(api, other, task, [DOUYIN_SHARE])

    await reject(api, staff, sid)
    freed = await hand_in(api, other, task, [DOUYIN_SHARE])

    assert approve.status == 200, approve.body
    assert (held.status, held.error_code) == (409, "link_claimed")
    assert freed.status == 201, freed.body


async def test_an_account_claimed_before_its_id_was_stored_is_read_from_its_profile_url(
    api, staff, tree, person
) -> None:
    task = await online_task(api, staff, tree, own_account=True)
    token, uid = person
    await verified_account(api, token, staff, "weibo", "县融媒", f"https://weibo.com/u/{WEIBO_UID}")
    await PlatformAccount.filter(user_id=uid).update(account_ref=None)  # as claimed before migration 0015
    await enroll(api, token, task)

    reply = await hand_in(api, token, task, [WEIBO_DESKTOP])

    assert reply.status == 201, reply.body


async def test_an_account_id_keeps_its_case(api, staff, tree, person) -> None:
    task = await online_task(api, staff, tree, platforms=["wechat_mp"], own_account=True)
    token, _ = person
    profile = "https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz=MzA3NjE5NjQ2MA=="
    await verified_account(api, token, staff, "wechat_mp", "县融媒体中心", profile)
    await enroll(api, token, task)
    article = "https://mp.weixin.qq.com/s?__biz={}&mid=2650000001&idx=1&sn=0a1b2c&chksm=8f2e&scene=21#wechat_redirect"

    other_case = await hand_in(api, token, task, [article.format("MZA3NjE5NjQ2MA==")])
    same = await hand_in(api, token, task, [article.format("MzA3NjE5NjQ2MA==")])

    assert (other_case.status, other_case.error_code) == (400, "link_account_mismatch"), other_case.body
    assert same.status == 201, same.body
    assert same.body["links"] == ["https://mp.weixin.qq.com/s?__biz=MzA3NjE5NjQ2MA==&mid=2650000001&idx=1&sn=0a1b2c"]
