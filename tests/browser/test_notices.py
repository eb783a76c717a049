"""通知 in a real Chromium: from the navigation to 发布通知, the form's refusal, then the notice with its read count."""

from __future__ import annotations

import os

from playwright.async_api import expect

from models.notices import Notice
from models.users import User
from tests.browser.conftest import Watched

SHOTS = os.environ.get("CONSOLE_SHOTS", "")  # a folder: screenshots of the pages, to look at


async def test_write_a_notice_and_see_who_has_not_read_it(api, tree, tab: Watched):
    readers = []
    for name in ("张三", "李四", "王五"):
        token, uid = await api.person("volunteer", tree.east_village.id)
        await User.filter(id=uid).update(real_name=name)
        readers.append(token)
    _, staff_id = await api.person("staff", tree.east.id)
    await tab.sign_in(staff_id)

    await tab.goto("/console/")
    await tab.page.get_by_role("navigation", name="主导航").get_by_role("link", name="通知", exact=True).click()
    await expect(tab.page).to_have_url(tab.url("/console/notices"))
    await tab.page.get_by_role("link", name="发布通知").click()
    await expect(tab.page.locator("h1")).to_have_text("发布通知")

    # Nothing typed and no role ticked: refused on the page, in Chinese, beside each field.
    await tab.page.get_by_label("志愿者", exact=True).uncheck()
    await tab.page.get_by_label("网络达人", exact=True).uncheck()
    await tab.page.get_by_role("button", name="发布").click()
    await expect(tab.page.locator(".alert")).to_contain_text("请修改标红的内容后再发布")
    await expect(tab.page.locator("#f-roles-err")).to_have_text("请至少选择一种身份")

    await tab.page.get_by_label("标题").fill("周六上午集合开展网络文明宣传")
    await tab.page.get_by_label("内容").fill("请各位志愿者于周六上午九点到县文化广场集合。")
    await tab.page.get_by_label("接收组织").select_option(str(tree.east.id))
    await tab.page.get_by_label("志愿者", exact=True).check()
    await tab.page.get_by_role("button", name="发布").click()

    await expect(tab.page.locator("#done")).to_contain_text("通知已发出")
    await expect(tab.page.locator("#recipients")).to_have_text("3")
    await expect(tab.page.locator("#read")).to_have_text("0")
    notice = await Notice.get(title="周六上午集合开展网络文明宣传")
    for token in readers[:2]:
        assert (await api.call("POST", f"/api/v1/notices/{notice.id}/read", token=token)).status == 204

    await tab.page.reload()
    await expect(tab.page.locator("#read")).to_have_text("2")
    await expect(tab.page.locator("#unread tbody tr")).to_have_count(1)
    await expect(tab.page.locator("#unread")).to_contain_text("王五")
    if SHOTS:
        await tab.page.screenshot(path=os.path.join(SHOTS, "notice.png"), full_page=True)

    await tab.page.get_by_role("link", name="通知", exact=True).first.click()
    row = tab.page.locator(f'#notices tr[data-id="{notice.id}"]')
    await expect(row.locator("td.recipients")).to_have_text("3")
    await expect(row.locator("td.read")).to_have_text("2")
    await expect(row.locator("meter")).to_have_attribute("value", "67")
    if SHOTS:
        await tab.page.screenshot(path=os.path.join(SHOTS, "notices.png"), full_page=True)
