"""审核 of online work: the card says when a post's link was handed in before and when the account is unverified."""

from __future__ import annotations

import pytest

from models.users import User
from tests.console.test_review import REVIEW, card_of, words
from tests.factories import TASKS, published_task
from tests.support import counting_queries

WEIBO_POST = "https://weibo.com/1642634100/z0JH2lOMb"
WEIBO_SAME_POST = "https://m.weibo.cn/status/z0JH2lOMb?from=share"


@pytest.fixture
async def staff_token(api, staff_id) -> str:
    return await api.login_as(staff_id)


async def online_task(api, token: str, org_id: int, title: str = "转发家乡微博", **online) -> dict:
    settings = {"platforms": ["weibo", "douyin"], **online}
    return await published_task(api, token, org_id, title=title, quota=None, min_photos=0, online=settings)


async def hand_in_link(api, org_id: int, task: dict, link: str, real_name: str = "") -> str:
    token, uid = await api.person("influencer", org_id)
    if real_name:
        await User.filter(id=uid).update(real_name=real_name)
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    body = {"media_ids": [], "text": "转发了", "links": [link]}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    return reply.body["id"]


async def reject(api, token: str, submission_id: str) -> None:
    body = {"decision": "reject", "reason": "作品与任务无关"}
    reply = await api.call("POST", f"/api/v1/submissions/{submission_id}/review", token=token, json=body)
    assert reply.status == 200, reply.body


async def test_a_link_handed_in_before_is_a_badge_naming_the_earlier_submission(
    api, console, tree, staff_token
) -> None:
    task = await online_task(api, staff_token, tree.east.id)
    first = await hand_in_link(api, tree.east_village.id, task, WEIBO_POST, "王小明")
    await reject(api, staff_token, first)
    again = await hand_in_link(api, tree.east_village.id, task, WEIBO_SAME_POST)

    card = card_of((await console.get(REVIEW)).text, again)

    assert "链接已被使用" in card
    assert f"同一作品此前已在提交 #{first}（王小明，转发家乡微博，" in words(card)
    assert "已驳回）中提交过" in words(card)
    assert f'href="/console/review/{first}"' in card
    assert "账号未认证" not in card and "重复照片" not in card


async def test_a_link_used_in_another_township_is_named_by_id_only(api, console, tree, staff_token) -> None:
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await online_task(api, west_staff, tree.west.id, title="西镇的转发任务")
    theirs = await hand_in_link(api, tree.west_village.id, west_task, WEIBO_POST, "西边人")
    await reject(api, west_staff, theirs)
    ours = await hand_in_link(api, tree.east_village.id, await online_task(api, staff_token, tree.east.id), WEIBO_POST)

    card = card_of((await console.get(REVIEW)).text, ours)

    assert "链接已被使用" in card and f"同一作品此前已在提交 #{theirs}（其他组织，" in words(card)
    assert "西边人" not in card and "西镇的转发任务" not in card and f'href="/console/review/{theirs}"' not in card


async def test_an_unverified_account_is_a_badge_naming_the_platform(api, console, tree, staff_token) -> None:
    task = await online_task(api, staff_token, tree.east.id, own_account=True)
    sid = await hand_in_link(api, tree.east_village.id, task, "https://m.weibo.cn/detail/3501756485200075")

    card = card_of((await console.get(REVIEW)).text, sid)

    assert "账号未认证" in card
    assert "微博的链接看不出发布账号，提交人在该平台没有已认证的账号" in words(card)
    assert "链接已被使用" not in card


async def test_link_badges_cost_no_statement_per_card(api, console, tree, staff_token) -> None:
    counts = []
    for round_, posts in enumerate((2, 6)):
        task = await online_task(api, staff_token, tree.east.id, own_account=True)
        for n in range(posts):
            link = f"https://m.weibo.cn/detail/{4900000000000000 + round_ * 100 + n}"
            await reject(api, staff_token, await hand_in_link(api, tree.east_village.id, task, link))
            await hand_in_link(api, tree.east_village.id, task, link)
        with counting_queries() as log:
            page = await console.get(REVIEW)
        assert page.status == 200
        counts.append(log.selects)
    assert page.text.count("链接已被使用") == 8 and page.text.count("账号未认证") == 8
    assert counts[0] == counts[1], counts
