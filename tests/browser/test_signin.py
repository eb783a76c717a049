"""Signing in to the console in a real browser: by link, by a scanned code, and refused."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from models.console import ConsoleTicket, start_session
from models.users import User
from tests.browser.conftest import Watched


async def test_sign_in_by_link_and_out(api, tree, tab: Watched):
    _, staff_id = await api.person("staff", tree.east.id)
    await tab.sign_in(staff_id)
    await expect(tab.page).to_have_url(tab.url("/console/"))
    await expect(tab.page.get_by_role("link", name="审核")).to_be_visible()
    await tab.page.get_by_role("button", name="退出登录").click()
    await expect(tab.page).to_have_url(tab.url("/console/login"))
    await tab.goto("/console/")
    await expect(tab.page).to_have_url(tab.url("/console/login"))


async def test_sign_in_by_scanning_the_code(api, tree, tab: Watched):
    token, _ = await api.person("staff", tree.east.id)
    await tab.goto("/console/login")
    code = tab.page.get_by_role("img", name="登录小程序码")
    await expect(code).to_be_visible()
    assert await code.evaluate("img => img.naturalWidth") > 0
    # The mini-program, having scanned the code, confirms with the ticket of its scene.
    (row,) = await ConsoleTicket.all()
    cookies = {c["name"]: c["value"] for c in await tab.context.cookies()}
    ticket = cookies["wm_login"].partition(".")[0]
    assert row.kind == "scan"
    reply = await api.call("POST", f"/api/v1/console/tickets/{ticket}/confirm", token=token)
    assert reply.status == 204
    await expect(tab.page).to_have_url(tab.url("/console/"), timeout=10_000)
    await expect(tab.page.get_by_role("button", name="退出登录")).to_be_visible()


async def test_a_volunteer_is_refused(api, tree, tab: Watched):
    _, volunteer_id = await api.person("volunteer", tree.east.id)
    raw, _ = await start_session(await User.get(id=volunteer_id))
    await tab.context.add_cookies([{"name": "wm_console", "value": raw, "url": tab.url("/console/")}])
    response = await tab.goto("/console/")
    assert response is not None and response.status == 403
    await expect(tab.page.get_by_text("仅供工作人员和管理员使用")).to_be_visible()
    await asyncio.sleep(0)


async def test_a_form_with_a_forged_csrf_token_is_refused(api, tree, tab: Watched):
    _, staff_id = await api.person("staff", tree.east.id)
    await tab.sign_in(staff_id)
    # As a page from elsewhere would post: the session cookie rides along, the token does not match.
    await tab.page.locator('form[action="/console/logout"] input[name="_csrf"]').evaluate(
        "input => { input.value = 'forged' }"
    )
    await tab.page.get_by_role("button", name="退出登录").click()
    await expect(tab.page.get_by_text("页面已过期或来源不明，操作未执行")).to_be_visible()
    # Still signed in: nothing was done.
    await tab.goto("/console/")
    await expect(tab.page).to_have_url(tab.url("/console/"))
    await expect(tab.page.get_by_role("button", name="退出登录")).to_be_visible()
