"""Screenshots of every console page, from the demo's data, as staff see them at 1366×768.

    .venv/bin/python docs/console/screenshots.py        # writes docs/console/*.png

Starts `wenming demo` on a free port, signs in through the link it prints (the county's staff
member; the audit log as the demo admin), and saves one PNG per page in Debian's Chromium.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
from playwright.async_api import Page, async_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1366, "height": 768}
# The demo's tasks, in the order it makes them: the first task, the quiz, the village story, online work;
# the online task's approved post comes after the story's nine submissions.
QUIZ_TASK, STORY_TASK, ONLINE_TASK = 2, 3, 4
ONLINE_SUBMISSION = 10
WENMING = [sys.executable, "-m", "server"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_demo(port: int) -> tuple[asyncio.subprocess.Process, str, str]:
    """The demo process, its staff sign-in link and its data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    proc = await asyncio.create_subprocess_exec(
        *WENMING, "demo", "--port", str(port), cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    link = workdir = ""
    assert proc.stdout is not None
    while not link or not workdir:
        line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
        if not line:
            raise SystemExit("the demo stopped before printing its console link")
        if found := re.search(r"(http://\S+/console/login/link/\S+)", line):
            link = found.group(1)
        if found := re.search(r"data:\s+(\S+)", line):
            workdir = found.group(1)
    return proc, link, workdir


async def admin_link(port: int, workdir: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    env.update(
        WENMING_DATABASE_URL=f"sqlite://{workdir}/wenming.sqlite3",
        WENMING_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        WENMING_MEDIA_ROOT=f"{workdir}/media",
        # As `wenming demo` sets them for itself (server/demo.py).
        WENMING_ENV="demo",
        WENMING_WECHAT_APPID="wxdemoappid",
        WENMING_WECHAT_SECRET="demo-secret",
    )
    proc = await asyncio.create_subprocess_exec(
        *WENMING, "console", "link", "--openid", "demo-openid-admin", env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"wenming console link failed: {err.decode().strip()}")
    return out.decode().strip()


async def wait_until_up(base: str) -> None:
    for _ in range(200):
        probe = await asyncio.create_subprocess_exec("curl", "-sf", "-o", "/dev/null", f"{base}/healthz")
        if await probe.wait() == 0:
            return
        await asyncio.sleep(0.1)
    raise SystemExit("the demo did not answer /healthz")


async def take_quiz(base: str, code: str, task_id: int, right_share: float) -> None:
    """A demo volunteer takes the quiz through the API, as the mini-program would (for the stats page)."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/v1/auth/wechat-login", json={"code": code}) as resp:
            token = (await resp.json())["token"]
        auth = {"Authorization": f"Bearer {token}"}
        async with http.post(f"{base}/api/v1/tasks/{task_id}/quiz/attempts", headers=auth) as resp:
            attempt = await resp.json()
        for n, question in enumerate(attempt["questions"]):
            guess = n / len(attempt["questions"]) < right_share  # not knowing the answers: a guess
            choice = guess if question["type"] == "judge" else [0 if guess else 1]
            url = f"{base}/api/v1/quiz-attempts/{attempt['id']}/answers/{question['id']}"
            async with http.put(url, json={"choice": choice}, headers=auth):
                pass
        async with http.post(f"{base}/api/v1/quiz-attempts/{attempt['id']}/finish", headers=auth):
            pass


async def shoot(page: Page, name: str, path: str | None = None) -> None:
    if path is not None:
        await page.goto(path)
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path=str(HERE / f"{name}.png"), full_page=False)
    print(f"docs/console/{name}.png  {page.url}")


async def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, link, workdir = await start_demo(port)
    try:
        await wait_until_up(base)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
            page = await context.new_page()
            await shoot(page, "login", f"{base}/console/login")
            await page.goto(link)
            await shoot(page, "dashboard", f"{base}/console/")
            await shoot(page, "campaigns", f"{base}/console/campaigns")
            await shoot(page, "campaign-new", f"{base}/console/campaigns/new")
            await shoot(page, "campaign", f"{base}/console/campaigns/1")
            await shoot(page, "task", f"{base}/console/tasks/{STORY_TASK}")
            await shoot(page, "reach", f"{base}/console/submissions/{ONLINE_SUBMISSION}")
            await shoot(page, "messages", f"{base}/console/messages")
            await page.locator("#messages tbody tr a").first.click()  # the overdue, supervised one
            await shoot(page, "message")
            await shoot(page, "notices", f"{base}/console/notices")
            await page.locator("#notices tbody tr a").first.click()  # the campaign's, the newest
            await shoot(page, "notice")
            await shoot(page, "notice-new", f"{base}/console/notices/new")
            await shoot(page, "review", f"{base}/console/review")
            first = page.locator("article.sub[data-pending]").nth(1)
            if await first.count():
                await first.focus()
                await page.keyboard.press("r")
                await shoot(page, "review-reject")
                await page.keyboard.press("Escape")
                await page.locator(".thumbs img").first.click()
                await shoot(page, "review-photo")
                await page.keyboard.press("Escape")
            await shoot(page, "hour-requests", f"{base}/console/hour-requests")
            for code, share in (("demo-volunteer", 0.8), ("demo-volunteer-2", 0.5), ("demo-influencer", 0.3)):
                await take_quiz(base, code, QUIZ_TASK, share)
            await shoot(page, "quiz-task", f"{base}/console/tasks/{QUIZ_TASK}")
            await shoot(page, "questions", f"{base}/console/questions")
            await shoot(page, "people", f"{base}/console/people")
            await shoot(page, "orgs", f"{base}/console/orgs")
            await shoot(page, "reports", f"{base}/console/reports")
            admin = await browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
            admin_page = await admin.new_page()
            await admin_page.goto(await admin_link(port, workdir))
            await shoot(admin_page, "audit", f"{base}/console/audit")
            await browser.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        await proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
