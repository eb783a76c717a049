"""账号审核 in a real browser: an account rejected with a reason, its row updated in place."""

from __future__ import annotations

import os

from playwright.async_api import expect

from models.accounts import PlatformAccount
from models.users import User
from tests.browser.conftest import Watched

SHOTS = os.environ.get("CONSOLE_SHOTS")  # a folder: screenshots of the pages for a person to look at

CLAIMS = (
    ("张晓明", "douyin", "qingxi_dy", "https://www.douyin.com/user/MS4wLjABAAAA", 12800),
    ("李红", "weibo", "清溪县小红", "https://weibo.com/u/5566778899", 3560),
    ("王强", "wechat_mp", "清溪发布", None, None),
)


async def test_reject_an_account_with_a_reason_without_reloading(api, tree, tab: Watched):
    ids = []
    for name, platform, handle, url, followers in CLAIMS:
        token, user_id = await api.person("influencer", tree.east_village.id)
        await User.filter(id=user_id).update(real_name=name)
        body = {"platform": platform, "handle": handle, "profile_url": url, "followers": followers}
        reply = await api.call("POST", "/api/v1/me/accounts", token=token, json=body)
        assert reply.status == 201, reply.body
        ids.append(reply.body["id"])
    _, staff_id = await api.person("staff", tree.east.id)
    await tab.sign_in(staff_id)
    await tab.goto("/console/accounts")
    page = tab.page
    await expect(page.get_by_role("heading", name="账号审核")).to_be_visible()
    if SHOTS:
        await page.set_viewport_size({"width": 1366, "height": 768})
        await page.screenshot(path=f"{SHOTS}/accounts.png", full_page=True)
    await page.evaluate("window.wenmingNoReload = true")

    row = page.locator(f"#account-{ids[1]}")
    await expect(row).to_contain_text("微博")
    await expect(row.get_by_role("link", name="打开主页")).to_have_attribute("target", "_blank")
    await row.get_by_label("拒绝原因").fill("主页与本人不符")
    await row.get_by_role("button", name="拒绝").click()

    decided = page.locator(f"#account-{ids[1]}")
    await expect(decided).to_contain_text("未通过")
    await expect(decided).to_contain_text("主页与本人不符")
    await expect(decided.get_by_role("button")).to_have_count(0)
    await expect(page.locator(f"#account-{ids[0]}").get_by_role("button", name="通过")).to_be_visible()
    assert await page.evaluate("window.wenmingNoReload") is True
    account = await PlatformAccount.get(id=int(ids[1]))
    assert (account.status, account.reason) == ("rejected", "主页与本人不符")
