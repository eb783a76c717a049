"""审核 of online work in a real browser: a card without photos shows its link badges and decides by keyboard."""

from __future__ import annotations

from playwright.async_api import expect

from models.submissions import Submission
from tests.browser.conftest import Watched
from tests.factories import TASKS, published_task


async def hand_in_link(api, token: str, task: dict, link: str) -> str:
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    body = {"media_ids": [], "text": "转发了", "links": [link]}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    return reply.body["id"]


async def test_link_badges_show_and_the_card_decides_by_keyboard(api, tree, tab: Watched) -> None:
    staff, staff_id = await api.person("staff", tree.east.id)
    online = {"platforms": ["weibo"], "own_account": True}
    task = await published_task(api, staff, tree.east.id, title="转发家乡微博", min_photos=0, online=online)
    first = await hand_in_link(
        api, (await api.person("influencer", tree.east_village.id))[0], task, "https://m.weibo.cn/status/z0JH2lOMb"
    )
    rejected = {"decision": "reject", "reason": "作品与任务无关"}
    assert (await api.call("POST", f"/api/v1/submissions/{first}/review", token=staff, json=rejected)).status == 200
    again = await hand_in_link(
        api,
        (await api.person("influencer", tree.east_village.id))[0],
        task,
        "https://m.weibo.cn/detail/3501756485200075",
    )

    await tab.sign_in(staff_id)
    await tab.goto("/console/review")
    card = tab.page.locator(f"#sub-{again}")

    await expect(card.locator(".badge.risk", has_text="链接已被使用")).to_be_visible()
    await expect(card.locator(".badge.risk", has_text="账号未认证")).to_be_visible()
    await expect(card.get_by_role("link", name=f"提交 #{first}")).to_have_attribute("href", f"/console/review/{first}")
    await expect(card).to_be_focused()
    await tab.page.keyboard.press("a")
    await expect(card).to_contain_text("已通过")
    assert (await Submission.get(id=int(again))).status == "approved"
