"""留言 in a real Chromium: from the navigation to the queue, a message's page, then 受理 and 交办 by its forms."""

from __future__ import annotations

import os
from datetime import timedelta

from playwright.async_api import expect

from models.messages import Message
from server.kernel.clock import now_utc
from tests.browser.conftest import Watched
from tests.images import encode, scene

SHOTS = os.environ.get("CONSOLE_SHOTS", "")  # a folder: screenshots of the pages, to look at


async def leave(api, token: str, title: str, media_ids: list[str] | None = None) -> Message:
    body = {"category": "help", "title": title, "content": f"{title}，请帮忙解决。", "media_ids": media_ids or []}
    reply = await api.call("POST", "/api/v1/messages", token=token, json={**body, "public_ok": True})
    assert reply.status == 201, reply.body
    return await Message.get(id=int(reply.body["id"]))


async def test_accept_and_assign_a_message_through_its_forms(api, tree, tab: Watched):
    writer, _ = await api.person("volunteer", tree.east_village.id)
    photo = await api.upload(writer, encode(scene(seed=5), "JPEG"))
    message = await leave(api, writer, "村口路灯坏了", [photo.body["id"]])
    late = await leave(api, writer, "河道垃圾")
    await Message.filter(id=late.id).update(
        status="assigned", org_id=tree.west.id, assigner_org_id=tree.county.id, assign_kind="jiaoban",
        due_at=now_utc() - timedelta(days=2), overdue=True, supervision=1,
    )  # fmt: skip
    _, staff_id = await api.person("staff", tree.county.id)
    await tab.sign_in(staff_id)

    await tab.goto("/console/")
    await tab.page.get_by_role("navigation", name="主导航").get_by_role("link", name="留言", exact=True).click()
    await expect(tab.page).to_have_url(tab.url("/console/messages"))
    rows = tab.page.locator("#messages tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("超期")  # overdue first
    await expect(rows.first).to_contain_text("督办 1 级")
    if SHOTS:
        await tab.page.screenshot(path=os.path.join(SHOTS, "messages.png"), full_page=True)

    await tab.page.get_by_role("link", name=message.number).click()
    await expect(tab.page.locator("h1")).to_have_text("村口路灯坏了")
    await expect(tab.page.locator("img[alt='留言照片 1']")).to_be_visible()
    await tab.page.get_by_role("button", name="受理", exact=True).click()
    await expect(tab.page.locator("#done")).to_have_text("已受理")
    await expect(tab.page.locator("#status")).to_have_text("已受理")

    await tab.page.get_by_label("承办单位", exact=True).select_option(str(tree.east.id))
    await tab.page.get_by_label("方式").select_option("jiaoban")
    await tab.page.get_by_label("说明", exact=True).fill("请东镇三日内核实")
    await tab.page.get_by_role("button", name="交办/转办").click()
    await expect(tab.page.locator("#status")).to_have_text("办理中")
    await expect(tab.page.locator("#events")).to_contain_text("请东镇三日内核实")
    if SHOTS:
        await tab.page.screenshot(path=os.path.join(SHOTS, "message.png"), full_page=True)
    stored = await Message.get(id=message.id)
    assert (stored.status, stored.org_id) == ("assigned", tree.east.id)


async def test_a_refused_move_is_said_on_the_page(api, tree, tab: Watched):
    writer, _ = await api.person("volunteer", tree.east_village.id)
    message = await leave(api, writer, "村口路灯坏了")
    _, staff_id = await api.person("staff", tree.county.id)
    await tab.sign_in(staff_id)
    await tab.goto(f"/console/messages/{message.id}")

    await tab.page.get_by_role("button", name="不予受理").click()

    await expect(tab.page.locator("#refusal")).to_contain_text("不予受理未完成")
    await expect(tab.page.locator("#f-reject-reason-err")).to_be_visible()
    assert (await Message.get(id=message.id)).status == "submitted"
