"""Signing in to the console: a scanned code confirmed in the mini-program, a one-time link,
sessions that end (idle, sign-out, demotion, erasure), CSRF and the security headers."""

from __future__ import annotations

import io
from datetime import timedelta

import aiohttp
import zxingcpp
from PIL import Image

from models.console import ConsoleSession, ConsoleTicket, open_link, start_session
from models.privacy import erase_user
from models.users import User
from server.console import login as console_login
from server.console.vendor import check as vendored_files_differ
from server.kernel.clock import now_utc
from server.wechat.fake import wxacode_text
from tests.console.conftest import ConsoleClient, sign_in
from tests.support import run_cli, service_env

CSP_REQUIRED = ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'")


def assert_console_headers(headers) -> None:
    csp = headers["Content-Security-Policy"]
    for directive in CSP_REQUIRED:
        assert directive in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


async def test_without_a_session_pages_send_you_to_sign_in(api):
    client = ConsoleClient(api.service.base_url)
    try:
        page = await client.get("/console/", follow=False)
        assert page.status in (302, 303) and page.headers["Location"] == "/console/login"
        page = await client.get("/console/", follow=False, htmx=True)
        assert page.headers["HX-Redirect"] == "/console/login"
        login = await client.get("/console/login")
        assert login.status == 200 and "扫描" in login.text
        assert_console_headers(login.headers)
    finally:
        await client.close()


async def test_a_link_signs_in_once(api, staff_id):
    user = await User.get(id=staff_id)
    secret = await open_link(user)
    first, second = ConsoleClient(api.service.base_url), ConsoleClient(api.service.base_url)
    try:
        page = await first.get(f"/console/login/link/{secret}")
        assert page.status == 200 and page.url.endswith("/console/")
        assert "退出登录" in page.text
        again = await second.get(f"/console/login/link/{secret}")
        assert again.status == 410 and "已使用或已过期" in again.text
        assert (await second.get("/console/", follow=False)).status == 303
    finally:
        await first.close()
        await second.close()


async def test_an_old_link_does_not_work(api, staff_id):
    secret = await open_link(await User.get(id=staff_id))
    await ConsoleTicket.all().update(expires_at=now_utc() - timedelta(seconds=1))
    client = ConsoleClient(api.service.base_url)
    try:
        assert (await client.get(f"/console/login/link/{secret}")).status == 410
    finally:
        await client.close()


async def test_scanning_the_code_signs_this_browser_in(api, staff_id):
    browser, other = ConsoleClient(api.service.base_url), ConsoleClient(api.service.base_url)
    token = await api.login_as(staff_id)
    try:
        await browser.get("/console/login")
        status, image, headers = await browser.get_bytes("/console/login/code")
        assert status == 200 and headers["Content-Type"].startswith("image/")
        [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))
        prefix = wxacode_text(api.service.config.wechat_appid, console_login.LOGIN_PAGE, "login:")
        assert code.text.startswith(prefix)
        ticket = code.text[len(prefix) :]

        assert (await browser.get("/console/login/wait")).status == 202
        reply = await api.call("POST", f"/api/v1/console/tickets/{ticket}/confirm", token=token)
        assert reply.status == 204, reply.body
        again = await api.call("POST", f"/api/v1/console/tickets/{ticket}/confirm", token=token)
        assert again.status == 409

        # Only the browser that shows the code gets the session.
        other.session.cookie_jar.update_cookies({"wm_login": f"{ticket}.not-this-browser"})
        assert (await other.get("/console/login/wait")).status == 410
        done = await browser.get("/console/login/wait")
        assert done.status == 200
        page = await browser.get("/console/")
        assert page.status == 200 and "退出登录" in page.text
        # The ticket is used up.
        assert (await browser.get("/console/login/wait")).status == 410
    finally:
        await browser.close()
        await other.close()


async def test_confirming_needs_staff_and_a_live_ticket(api, tree):
    volunteer, _ = await api.person("volunteer", tree.east.id)
    staff, _ = await api.person("staff", tree.east.id)
    browser = ConsoleClient(api.service.base_url)
    try:
        await browser.get("/console/login")
        ticket = browser.cookie("wm_login", "/console/login").partition(".")[0]
        refused = await api.call("POST", f"/api/v1/console/tickets/{ticket}/confirm", token=volunteer)
        assert refused.status == 403 and refused.error_code == "forbidden"
        unknown = await api.call("POST", "/api/v1/console/tickets/not-a-ticket/confirm", token=staff)
        assert unknown.status == 404 and "刷新" in unknown.body["error"]["message"]
        await ConsoleTicket.all().update(expires_at=now_utc() - timedelta(seconds=1))
        late = await api.call("POST", f"/api/v1/console/tickets/{ticket}/confirm", token=staff)
        assert late.status == 404
        unsigned = await api.call("POST", f"/api/v1/console/tickets/{ticket}/confirm")
        assert unsigned.status == 401
    finally:
        await browser.close()


async def test_a_session_ends_after_eight_idle_hours(api, console):
    assert (await console.get("/console/", follow=False)).status == 200
    await ConsoleSession.all().update(last_seen_at=now_utc() - timedelta(hours=8, seconds=1))
    assert (await console.get("/console/", follow=False)).status == 303
    assert await ConsoleSession.all().count() == 0


async def test_use_keeps_a_session_alive(api, console):
    await ConsoleSession.all().update(last_seen_at=now_utc() - timedelta(hours=7, minutes=59))
    assert (await console.get("/console/", follow=False)).status == 200
    (session,) = await ConsoleSession.all()
    assert session.last_seen_at > now_utc() - timedelta(minutes=1)


async def test_sign_out_ends_the_session_on_the_server(api, console):
    page = await console.get("/console/")
    cookie = console.cookie("wm_console")
    out = await console.post("/console/logout", follow=False)
    assert out.status == 303 and out.headers["Location"] == "/console/login"
    assert await ConsoleSession.all().count() == 0
    # The old cookie, replayed, opens nothing.
    replay = ConsoleClient(api.service.base_url)
    try:
        replay.session.cookie_jar.update_cookies({"wm_console": cookie})
        assert (await replay.get("/console/", follow=False)).status == 303
    finally:
        await replay.close()
    assert page.status == 200


async def test_demotion_and_erasure_end_sessions_at_once(api, tree, staff_id):
    admin, _ = await api.person("admin", tree.county.id)
    demoted = await sign_in(api.service.base_url, staff_id)
    _, other_id = await api.person("staff", tree.west.id)
    erased = await sign_in(api.service.base_url, other_id)
    try:
        reply = await api.call("PATCH", f"/api/v1/users/{staff_id}", token=admin, json={"role": "volunteer"})
        assert reply.status == 200, reply.body
        assert await ConsoleSession.filter(user_id=staff_id).count() == 0
        assert (await demoted.get("/console/", follow=False)).status == 303

        await erase_user(await User.get(id=other_id))
        assert await ConsoleSession.filter(user_id=other_id).count() == 0
        assert (await erased.get("/console/", follow=False)).status == 303
    finally:
        await demoted.close()
        await erased.close()


async def test_a_volunteer_with_a_session_sees_403(api, tree):
    _, volunteer_id = await api.person("volunteer", tree.east.id)
    raw, _ = await start_session(await User.get(id=volunteer_id))
    client = ConsoleClient(api.service.base_url)
    try:
        client.session.cookie_jar.update_cookies({"wm_console": raw})
        page = await client.get("/console/", follow=False)
        assert page.status == 403 and "仅供工作人员" in page.text
        assert "<html" in page.text and '"error"' not in page.text
        assert await ConsoleSession.filter(user_id=volunteer_id).count() == 0
    finally:
        await client.close()


async def test_a_state_change_without_the_csrf_token_is_refused(api, console):
    await console.get("/console/")
    for token in (None, "wrong-token", ""):
        page = await console.post("/console/logout", csrf=token, follow=False)
        assert page.status == 403 and "刷新页面" in page.text
        htmx = await console.post("/console/logout", csrf=token, htmx=True, follow=False)
        assert htmx.status == 403
    assert await ConsoleSession.all().count() == 1
    assert (await console.get("/console/", follow=False)).status == 200


async def test_errors_are_pages_in_chinese_with_the_headers(api, console):
    page = await console.get("/console/no-such-page")
    assert page.status == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "找不到" in page.text
    assert_console_headers(page.headers)
    fragment = await console.get("/console/no-such-page", htmx=True)
    assert fragment.status == 404 and "<html" not in fragment.text and "alert" in fragment.text


async def test_static_files_carry_the_headers_and_are_the_pinned_ones(api):
    assert vendored_files_differ() == []
    async with aiohttp.ClientSession() as http:
        for name in ("console.css", "console.js", "vendor/htmx.min.js", "vendor/echarts.min.js"):
            async with http.get(f"{api.service.base_url}/console/static/{name}") as resp:
                assert resp.status == 200, name
                assert_console_headers(resp.headers)


async def test_the_cli_link_refuses_anyone_but_staff(api, database_url, wechat, tree):
    _, volunteer_id = await api.person("volunteer", tree.east.id)
    _, staff = await api.person("staff", tree.east.id)
    volunteer = await User.get(id=volunteer_id)
    env = service_env(database_url, wechat, WENMING_PUBLIC_BASE_URL="https://wm.example.cn")

    status, out, err = await run_cli("console", "link", "--openid", volunteer.openid, env=env)
    assert status != 0 and out == "" and len(err.strip().splitlines()) == 1 and "staff" in err

    status, out, err = await run_cli("console", "link", "--openid", (await User.get(id=staff)).openid, env=env)
    assert status == 0, err
    (line,) = out.strip().splitlines()
    assert line.startswith("https://wm.example.cn/console/login/link/")
    client = ConsoleClient(api.service.base_url)
    try:
        page = await client.get(line.replace("https://wm.example.cn", ""))
        assert page.status == 200 and "退出登录" in page.text
    finally:
        await client.close()
