"""The console in a real Chromium (Debian's, launched by path), driven by Playwright.

Every page a test opens is watched: a console error, an uncaught exception or a CSP violation
fails the test at teardown, whatever the test itself checked.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from models.console import open_link
from models.users import User

# Not a setting of the service: where the browser is (Debian's package installs it here).
CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")
# As on a machine without a network beyond this one: no background calls home, no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once per run)
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (make system-deps)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        await chromium.close()


class Watched:
    """A browser tab whose console errors, page errors and CSP violations are collected."""

    def __init__(self, context: BrowserContext, page: Page, base_url: str) -> None:
        self.context = context
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, message) -> None:
        if message.type == "error":
            text = message.text
            # A 4xx answer the page shows on purpose (a refused action) is logged by Chromium as a failed
            # resource load: that is the page working, not broken. CSP violations are never excused.
            if "Failed to load resource" in text and "status of 4" in text and "Content Security" not in text:
                return
            self.problems.append(f"console error: {text}")

    def url(self, path: str) -> str:
        return self.base_url + path

    async def goto(self, path: str):
        return await self.page.goto(self.url(path))

    async def sign_in(self, user_id: int) -> None:
        """Open a one-time link for the person, as `wenming console link` prints it."""
        secret = await open_link(await User.get(id=user_id))
        await self.goto(f"/console/login/link/{secret}")


@pytest_asyncio.fixture
async def tab(browser: Browser, api) -> AsyncIterator[Watched]:
    context = await browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    watched = Watched(context, page, api.service.base_url)
    yield watched
    await context.close()
    assert not watched.problems, "\n".join(watched.problems)


@pytest.fixture
async def tree(api):
    from tests.factories import org_tree

    return await org_tree()
