"""审核 over real HTTP: the queue with its risk badges explained, decisions by the API's code path, refusals."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from models.audit import AuditEntry
from models.enrollment import distance_m
from models.ledger import LedgerEntry
from models.submissions import Submission
from models.users import User
from tests.console.conftest import sign_in
from tests.factories import SPOT, TASKS, hand_in, published_task
from tests.images import encode, phone_photo, scene
from tests.support import counting_queries

REVIEW = "/console/review"
SHANGHAI = (31.2304, 121.4737)


@pytest.fixture
async def staff_token(api, staff_id) -> str:
    return await api.login_as(staff_id)


@pytest.fixture
async def task(api, staff_token, tree) -> dict:
    return await published_task(api, staff_token, tree.east.id, title="清理小广告", points=10, location=SPOT)


async def volunteer(api, org_id: int, real_name: str = "") -> tuple[str, int]:
    token, uid = await api.person("volunteer", org_id)
    if real_name:
        await User.filter(id=uid).update(real_name=real_name)
    return token, uid


async def hand_in_photo(api, token: str, task: dict, data: bytes, text: str = "活动照片") -> str:
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    upload = await api.upload(token, data)
    assert upload.status == 201, upload.body
    body = {"media_ids": [upload.body["id"]], "text": text}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    return reply.body["id"]


def card_of(page_text: str, submission_id: str) -> str:
    """The HTML of one card on a page (cards are not nested)."""
    found = re.search(rf'<article class="sub[^"]*" id="sub-{submission_id}".*?</article>', page_text, re.S)
    assert found, f"no card for {submission_id}"
    return html.unescape(found.group(0))


def words(fragment: str) -> str:
    """What a reader sees of some HTML: its text without tags."""
    return re.sub(r"<[^>]+>", "", fragment)


async def status_of(submission_id: str) -> str:
    return (await Submission.get(id=int(submission_id))).status


# --- the queue ------------------------------------------------------------------------------------


async def test_the_queue_shows_own_subtree_with_risks_explained(api, console, tree, task, staff_token) -> None:
    first_token, _ = await volunteer(api, tree.east_village.id, "王小明")
    copier_token, _ = await volunteer(api, tree.east_village.id, "李抄抄")
    far_token, _ = await volunteer(api, tree.east.id, "赵远")
    picture = encode(scene((640, 480), seed=3), "JPEG")
    original = await hand_in_photo(api, first_token, task, picture, text="清理了三处小广告")
    copy = await hand_in_photo(api, copier_token, task, picture)
    far = await hand_in_photo(api, far_token, task, phone_photo(lat=SHANGHAI[0], lng=SHANGHAI[1]))
    west_token, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_token, tree.west.id, title="西镇的任务")
    outsider = await hand_in(api, (await volunteer(api, tree.west_village.id))[0], west_task, seed=9)

    page = await console.get(REVIEW)

    assert page.status == 200
    assert (
        page.text.index(f'id="sub-{original}"')
        < page.text.index(f'id="sub-{copy}"')
        < page.text.index(f'id="sub-{far}"')
    )  # oldest first
    assert f"sub-{outsider}" not in page.text and "西镇的任务" not in page.text
    plain = card_of(page.text, original)
    assert "王小明" in plain and "东村" in plain and "清理小广告" in plain and "清理了三处小广告" in plain
    assert "badge risk" not in plain and "-thumb.jpg" in plain
    duplicate = card_of(page.text, copy)
    assert "重复照片" in duplicate
    assert f"与提交 #{original}（王小明，清理小广告，" in words(duplicate)
    assert f'href="/console/review/{original}"' in duplicate
    away = card_of(page.text, far)
    metres = distance_m(*SHANGHAI, SPOT["lat"], SPOT["lng"])
    assert "位置不符" in away and "时间不符" in away
    beyond = f"{(round(metres) - SPOT['radius_m']) / 1000:.1f} 公里"
    assert f"第 1 张照片距任务地点约 {round(metres) / 1000:.1f} 公里，超出签到范围（100 米）约 {beyond}" in away
    days = (datetime.fromisoformat(task["starts_at"]) - datetime(2024, 5, 1, 1, 30, 15, tzinfo=UTC)).days
    assert re.search(rf"第 1 张照片拍摄于任务开始前 ({days}|{days - 1}|{days + 1}) 天", away)
    assert "2024-05-01 09:30" in away  # the capture time, local
    assert "待审核 <strong" in page.text and re.search(r'id="pending-total">3<', page.text)
    # A duplicate's link opens that submission on its own page; another township's is not found.
    alone = await console.get(f"{REVIEW}/{original}")
    assert alone.status == 200 and "王小明" in alone.text
    assert (await console.get(f"{REVIEW}/{outsider}")).status == 404


async def test_a_duplicate_from_another_township_is_named_by_id_only(api, console, tree, task) -> None:
    west_token, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_token, tree.west.id, title="西镇的任务")
    picture = encode(scene((640, 480), seed=4), "JPEG")
    theirs = await hand_in_photo(api, (await volunteer(api, tree.west_village.id, "西边人"))[0], west_task, picture)
    ours = await hand_in_photo(api, (await volunteer(api, tree.east_village.id))[0], task, picture)

    card = card_of((await console.get(REVIEW)).text, ours)

    assert f"与提交 #{theirs}（其他组织，" in words(card)
    assert "西边人" not in card and "西镇的任务" not in card and f'href="/console/review/{theirs}"' not in card


async def test_doubtful_content_says_what_the_check_found(api, console, tree, task) -> None:
    token, _ = await volunteer(api, tree.east_village.id)
    sid = await hand_in_photo(api, token, task, encode(scene((640, 480), seed=5), "JPEG"), text="今天的活动review-word")
    card = card_of((await console.get(REVIEW)).text, sid)
    assert "内容存疑" in card and "微信内容安全检测：文字建议人工复核" in card
    assert "重复照片" not in card and "位置不符" not in card


async def test_filter_by_campaign_and_pages(api, console, tree, task, staff_token) -> None:
    people = [await volunteer(api, tree.east_village.id) for _ in range(3)]
    sids = [await hand_in(api, token, task, seed=i) for i, (token, _) in enumerate(people)]
    other = await published_task(api, staff_token, tree.east.id, title="另一个任务")
    extra = await hand_in(api, people[0][0], other, seed=7)

    first = await console.get(f"{REVIEW}?limit=2")
    link = re.search(r'href="(/console/review\?cursor=[^"]+&amp;limit=2)" rel="next">下一页', first.text)
    assert link, first.text[-800:]
    more = await console.get(html.unescape(link.group(1)), htmx=True)
    filtered = await console.get(f"{REVIEW}?campaign_id={other['campaign_id']}")

    assert [f"sub-{s}" in first.text for s in [*sids, extra]] == [True, True, False, False]
    assert "<html" not in more.text and f"sub-{sids[2]}" in more.text and f"sub-{extra}" in more.text
    assert "下一页" not in more.text
    assert f"sub-{extra}" in filtered.text and f"sub-{sids[0]}" not in filtered.text
    assert "网络大V进乡村（3）" in first.text and "网络大V进乡村（1）" in first.text


async def test_the_page_reads_the_same_number_of_statements_for_2_or_6_submissions(api, console, tree, task):
    counts = []
    # The same photo twice in the first round: both rounds read duplicates' rows (one query for all).
    for seeds in ((0, 0), range(2, 6)):
        for seed in seeds:
            token, _ = await volunteer(api, tree.east_village.id)
            await hand_in(api, token, task, seed=seed)
        with counting_queries() as log:
            page = await console.get(REVIEW)
        assert page.status == 200
        counts.append(log.selects)
    assert page.text.count('class="sub"') == 6
    assert counts[0] == counts[1], counts


async def test_empty_queue(console) -> None:
    page = await console.get(REVIEW)
    assert page.status == 200 and "暂无待审核的提交" in page.text and "批量通过" not in page.text


@pytest.mark.parametrize("query", ["campaign_id=abc", "cursor=%%%", "limit=0", "campaign_id=99999999999"])
async def test_bad_queries_are_a_chinese_page(console, query) -> None:
    page = await console.get(f"{REVIEW}?{query}")
    assert page.status == 400 and "<html" in page.text and "Traceback" not in page.text


# --- deciding -------------------------------------------------------------------------------------


async def test_approving_books_points_and_audit_as_the_api_does(api, console, tree, task, staff_id) -> None:
    token, uid = await volunteer(api, tree.east_village.id)
    sid = await hand_in(api, token, task)
    await console.get(REVIEW)

    reply = await console.post(f"{REVIEW}/{sid}/decide", {"decision": "approve"}, htmx=True)

    assert reply.status == 200 and "<html" not in reply.text
    card = card_of(reply.text, sid)
    assert "已通过" in card and "10 积分" in card and "data-pending" not in card
    assert await status_of(sid) == "approved"
    assert (await User.get(id=uid)).points == 10
    (entry,) = await LedgerEntry.filter(submission_id=int(sid))
    assert (entry.kind, entry.points, entry.user_id) == ("award", 10, uid)
    (audit,) = await AuditEntry.filter(action="review", target=f"submission:{sid}")
    assert audit.actor_id == staff_id and audit.details["decision"] == "approve"
    me = await api.call("GET", "/api/v1/me", token=token)
    assert me.body["points"] == 10
    again = await console.post(f"{REVIEW}/{sid}/decide", {"decision": "approve"}, htmx=True)
    assert again.status == 409 and "该提交已审核过" in card_of(again.text, sid)
    assert await LedgerEntry.filter(submission_id=int(sid)).count() == 1


async def test_a_reject_needs_a_reason(api, console, tree, task) -> None:
    token, uid = await volunteer(api, tree.east_village.id)
    sid = await hand_in(api, token, task)
    await console.get(REVIEW)

    bare = await console.post(f"{REVIEW}/{sid}/decide", {"decision": "reject", "reason_text": " "}, htmx=True)
    odd = await console.post(f"{REVIEW}/{sid}/decide", {"decision": "reject", "reason_choice": "随便"}, htmx=True)

    assert bare.status == 400
    card = card_of(bare.text, sid)
    assert "驳回须说明原因" in card and "data-pending" in card
    assert 'class="reject"' in card and 'id="reject-' in card and " hidden>" not in card  # the picker stays open
    assert odd.status == 400 and "请从列出的原因中选择" in odd.text
    assert await status_of(sid) == "pending"
    assert not await AuditEntry.filter(action="review").exists()

    done = await console.post(
        f"{REVIEW}/{sid}/decide",
        {"decision": "reject", "reason_choice": "照片不清晰", "reason_text": "看不清人脸"},
        htmx=True,
    )
    assert done.status == 200 and "原因：照片不清晰：看不清人脸" in card_of(done.text, sid)
    row = await Submission.get(id=int(sid))
    assert (row.status, row.reason) == ("rejected", "照片不清晰：看不清人脸")
    assert (await User.get(id=uid)).points == 0


async def test_a_plain_form_post_goes_back_to_the_queue(api, console, tree, task) -> None:
    sid = await hand_in(api, (await volunteer(api, tree.east_village.id))[0], task)
    await console.get(REVIEW)
    reply = await console.post(f"{REVIEW}/{sid}/decide", {"decision": "approve"}, follow=False)
    assert reply.status == 303 and reply.headers["Location"] == REVIEW
    assert await status_of(sid) == "approved"


async def test_batch_approval_reports_what_someone_else_decided_first(api, console, tree, task, staff_token) -> None:
    people = [await volunteer(api, tree.east_village.id, f"志愿者{i}") for i in range(3)]
    sids = [await hand_in(api, token, task, seed=i) for i, (token, _) in enumerate(people)]
    await console.get(REVIEW)
    other_staff, _ = await api.person("staff", tree.county.id)
    path = f"/api/v1/submissions/{sids[1]}/review"
    taken = await api.call("POST", path, token=other_staff, json={"decision": "approve"})
    assert taken.status == 200

    reply = await console.post(f"{REVIEW}/batch", [("ids", s) for s in sids] + [("_csrf", console.csrf)], csrf=None)

    assert reply.status == 200
    text = html.unescape(reply.text)
    assert "已通过 <strong>2</strong> 条，<strong>1</strong> 条未完成" in text
    assert f"提交 #{sids[1]}（志愿者1，清理小广告）：该提交已审核过" in text
    assert [await status_of(s) for s in sids] == ["approved"] * 3
    assert [(await User.get(id=uid)).points for _, uid in people] == [10, 10, 10]
    assert await AuditEntry.filter(action="review").count() == 3
    for sid in sids:
        assert "已通过" in card_of(reply.text, sid)


async def test_batch_without_a_pick_is_refused_in_chinese(console, task) -> None:
    await console.get(REVIEW)
    reply = await console.post(f"{REVIEW}/batch", {}, htmx=True)
    assert reply.status == 400 and "请先勾选要通过的提交" in reply.text
    junk = await console.post(f"{REVIEW}/batch", [("ids", "x1"), ("_csrf", console.csrf)], csrf=None)
    assert junk.status == 400 and "<html" in junk.text


async def test_another_townships_submission_is_refused(api, tree, task) -> None:
    sid = await hand_in(api, (await volunteer(api, tree.east_village.id))[0], task)
    _, west_staff = await api.person("staff", tree.west.id)
    west = await sign_in(api.service.base_url, west_staff)
    try:
        page = await west.get(REVIEW)
        assert f"sub-{sid}" not in page.text and "暂无待审核的提交" in page.text
        reply = await west.post(f"{REVIEW}/{sid}/decide", {"decision": "approve"}, htmx=True)
        assert reply.status == 404 and "提交不存在" in reply.text
        batch = await west.post(f"{REVIEW}/batch", [("ids", sid), ("_csrf", west.csrf)], csrf=None)
        assert batch.status == 200 and "已通过 <strong>0</strong> 条" in batch.text
    finally:
        await west.close()
    assert await status_of(sid) == "pending"
    assert not await AuditEntry.filter(action="review").exists()


async def test_without_the_csrf_token_nothing_changes(api, console, tree, task) -> None:
    sid = await hand_in(api, (await volunteer(api, tree.east_village.id))[0], task)
    await console.get(REVIEW)
    for token in (None, "wrong"):
        reply = await console.post(f"{REVIEW}/{sid}/decide", {"decision": "approve"}, csrf=token, htmx=True)
        assert reply.status == 403
        batch = await console.post(f"{REVIEW}/batch", {"ids": sid}, csrf=token)
        assert batch.status == 403 and "页面已过期" in batch.text
    assert await status_of(sid) == "pending"
    assert not await LedgerEntry.filter(submission_id=int(sid)).exists()


async def test_a_cancelled_task_says_so_on_the_card(api, console, tree, task, staff_token) -> None:
    sid = await hand_in(api, (await volunteer(api, tree.east_village.id))[0], task)
    await console.get(REVIEW)
    assert (await api.call("POST", f"{TASKS}/{task['id']}/cancel", token=staff_token)).status == 200
    reply = await console.post(f"{REVIEW}/{sid}/decide", {"decision": "approve"}, htmx=True)
    assert reply.status == 409 and "任务已取消，不能再审核" in card_of(reply.text, sid)
    assert await status_of(sid) == "pending"


def test_window_and_distance_wording() -> None:
    from models.submissions import AreaMiss, WindowMiss

    assert AreaMiss("提交时定位", 480, 100).text == "提交时定位距任务地点约 480 米，超出签到范围（100 米）约 380 米"
    assert WindowMiss("第 2 张照片", True, timedelta(days=3, hours=2)).text == "第 2 张照片拍摄于任务开始前 3 天"
    assert WindowMiss("第 1 张照片", False, timedelta(hours=5)).text == "第 1 张照片拍摄于任务结束后 5 小时"
    assert WindowMiss("第 1 张照片", False, timedelta(minutes=40)).text == "第 1 张照片拍摄于任务结束后 40 分钟"
