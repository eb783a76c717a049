"""Reviewing 50 submissions: by keyboard in the console (Chromium) against one JSON call at a time.

One run starts a fake WeChat on loopback, migrates a fresh SQLite file and starts ``wenming serve`` (one
worker, as in ``bench.uploads``), imports a county, makes one staff member of it and ``--n`` volunteers, and
has every volunteer hand in a real photo (a generated 1600x1200 JPEG, different per person, through
``POST /api/v1/media``) for each of two tasks in two campaigns. Then it measures:

- A: a Playwright Chromium tab (Debian's, 1366x768), signed in by ``wenming console link``, opens
  ``/console/review?campaign_id=A`` and approves every card with the ``A`` key alone: press, wait until the
  card shows its decision and the next card has focus (the page fetches the next page by itself), repeat;
- B: what an API client does for campaign B: ``GET /api/v1/review/queue`` (20 a page), then
  ``POST /api/v1/submissions/{id}/review`` for each item, one call at a time, until the queue is empty.

It checks both queues are empty and every submission approved, prints a Markdown section with both wall
times and their ratio, and adds it to ``bench/RESULTS.md`` as a dated section (``--no-write``: print only).

    .venv/bin/python -m bench.review_keyboard
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from PIL import Image, ImageDraw

from bench.common import API, REPO_ROOT, WENMING, Service, _git, free_port, log, run_cli, sqlite_env, write_results
from server.wechat.fake import FakeWeChat

TITLE = "## Reviewing by keyboard in the console against the JSON API"


def title() -> str:
    """Dated: a run on another day adds its own section, one on the same day replaces that day's."""
    return f"{TITLE} ({datetime.now(UTC):%Y-%m-%d})"


CHROMIUM = os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium")
STAFF_OPENID = "o-bench-review-staff"


def photo(seed: int, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A photo-sized JPEG with a picture of its own (no two alike, so none is a duplicate)."""
    rnd = random.Random(seed)
    img = Image.new("RGB", size, tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(14):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        w, h = rnd.randrange(80, 700), rnd.randrange(80, 500)
        colour = tuple(rnd.randrange(256) for _ in range(3))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), fill=colour)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


@dataclass
class Seeded:
    staff_token: str
    campaigns: tuple[str, str]  # A: the console's, B: the API's


class Client:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session, self.base_url = session, base_url

    async def call(self, method: str, path: str, token: str, body: object = None, status: int = 200) -> dict:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.session.request(method, self.base_url + API + path, json=body, headers=headers) as resp:
            answer = await resp.json() if resp.content_type == "application/json" else {}
            if resp.status != status:
                raise SystemExit(f"{method} {path} answered {resp.status}: {answer}")
            return answer

    async def sign_in(self, wechat: FakeWeChat, openid: str) -> str:
        code = wechat.issue_code(openid)
        async with self.session.post(f"{self.base_url}{API}/auth/wechat-login", json={"code": code}) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise SystemExit(f"sign-in answered {resp.status}: {body}")
            return str(body["token"])

    async def upload(self, token: str, data: bytes) -> str:
        form = aiohttp.FormData()
        form.add_field("file", data, filename="photo.jpg", content_type="image/jpeg")
        headers = {"Authorization": f"Bearer {token}"}
        async with self.session.post(f"{self.base_url}{API}/media", data=form, headers=headers) as resp:
            body = await resp.json()
            if resp.status != 201:
                raise SystemExit(f"upload answered {resp.status}: {body}")
            return str(body["id"])


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def seed(client: Client, wechat: FakeWeChat, env: dict[str, str], tmp: Path, n: int) -> Seeded:
    orgs = tmp / "orgs.csv"
    orgs.write_text("名称,类型,上级\n祁东县,县,\n洪桥街道,乡镇,祁东县\n", encoding="utf-8")
    await run_cli("org", "import", str(orgs), env=env)
    await client.sign_in(wechat, STAFF_OPENID)
    await run_cli("user", "grant", "--openid", STAFF_OPENID, "--role", "staff", "--org", "1", env=env)
    staff = await client.sign_in(wechat, STAFF_OPENID)
    tasks, campaigns = [], []
    for name in ("键盘审核", "接口审核"):
        body = {
            "title": f"网络文明随手拍·{name}",
            "kind": "village_visit",
            "description": "记录身边的文明新风",
            "org_id": "1",
            "starts_at": iso(-timedelta(days=1)),
            "ends_at": iso(timedelta(days=30)),
        }
        campaign = await client.call("POST", "/campaigns", staff, body, status=201)
        await client.call("POST", f"/campaigns/{campaign['id']}/publish", staff)
        task = {
            "title": "拍摄文明实践站活动",
            "description": "拍 1 张现场照片",
            "starts_at": iso(-timedelta(hours=2)),
            "ends_at": iso(timedelta(days=7)),
            "quota": n + 10,
            "points": 5,
            "service_hours": "1",
            "min_photos": 1,
            "max_photos": 3,
        }
        tasks.append(await client.call("POST", f"/campaigns/{campaign['id']}/tasks", staff, task, status=201))
        campaigns.append(str(campaign["id"]))

    async def volunteer(i: int) -> None:
        token = await client.sign_in(wechat, f"o-bench-review-volunteer-{i:03d}")
        for k, task in enumerate(tasks):
            await client.call("POST", f"/tasks/{task['id']}/enroll", token, status=201)
            media_id = await client.upload(token, photo(i * 2 + k))
            body = {"media_ids": [media_id], "text": f"第 {i + 1} 位志愿者的现场照片"}
            await client.call("POST", f"/tasks/{task['id']}/submissions", token, body, status=201)

    for start in range(0, n, 4):  # four at a time: uploads are the slow part
        await asyncio.gather(*(volunteer(i) for i in range(start, min(start + 4, n))))
    return Seeded(staff, (campaigns[0], campaigns[1]))


def console_link(env: dict[str, str]) -> str:
    done = subprocess.run(
        [*WENMING, "console", "link", "--openid", STAFF_OPENID],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def by_keyboard(base_url: str, link: str, campaign_id: str, n: int) -> tuple[float, list[float]]:
    """Approve ``n`` cards with the A key; (wall seconds, seconds per card from key press to next focus)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            page = await context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            await page.goto(link)
            started = time.perf_counter()
            await page.goto(f"{base_url}/console/review?campaign_id={campaign_id}")
            await page.evaluate("window.benchMarker = 1")
            each: list[float] = []
            for i in range(n):
                await page.wait_for_function("() => document.activeElement && document.activeElement.dataset.pending")
                t0 = time.perf_counter()
                await page.keyboard.press("a")
                await page.wait_for_function(
                    "(k) => document.querySelectorAll('.sub.decided').length >= k", arg=i + 1, polling=5
                )
                await page.wait_for_function(
                    "() => { const a = document.activeElement;"
                    " return a && (a.dataset.pending === '1' || a.id === 'page-done'); }",
                    polling=5,
                )
                each.append(time.perf_counter() - t0)
            wall = time.perf_counter() - started
            if await page.evaluate("window.benchMarker") != 1:
                raise SystemExit("the review page reloaded during the keyboard run")
            if problems:
                raise SystemExit("page errors: " + "; ".join(problems))
            return wall, each
        finally:
            await browser.close()


async def by_api(client: Client, token: str, campaign_id: str) -> tuple[float, int, int]:
    """Approve the whole queue of the campaign one call at a time; (wall seconds, approvals, calls)."""
    started = time.perf_counter()
    approvals = calls = 0
    while True:
        page = await client.call("GET", f"/review/queue?campaign_id={campaign_id}&limit=20", token)
        calls += 1
        if not page["items"]:
            break
        for item in page["items"]:
            await client.call("POST", f"/submissions/{item['id']}/review", token, {"decision": "approve"})
            approvals += 1
            calls += 1
    return time.perf_counter() - started, approvals, calls


async def run(args: argparse.Namespace) -> str:
    wechat = FakeWeChat()
    await wechat.start()
    tmp = Path(tempfile.mkdtemp(prefix="wm-bench-review-"))
    port = free_port()
    env = sqlite_env(tmp, port, wechat, WENMING_LIMIT_UPLOAD="100000/minute", WENMING_LIMIT_ENROLL="100000/minute")
    service = Service(env, port, tmp / "service.log")
    try:
        log("migrating a fresh SQLite database ...")
        await run_cli("migrate", env=env)
        await service.start()
        async with aiohttp.ClientSession() as session:
            client = Client(session, service.base_url)
            log(f"seeding {args.n} volunteers x 2 submissions with photos ...")
            seeded = await seed(client, wechat, env, tmp, args.n)
            link = console_link(env)
            log("A: Chromium, the A key on each card ...")
            keyboard, each = await by_keyboard(service.base_url, link, seeded.campaigns[0], args.n)
            log("B: the JSON API, one call at a time ...")
            api_wall, approvals, calls = await by_api(client, seeded.staff_token, seeded.campaigns[1])
            left = await client.call("GET", f"/review/queue?campaign_id={seeded.campaigns[0]}", seeded.staff_token)
            approved = await client.call("GET", "/review/queue?status=approved&limit=100", seeded.staff_token)
        if left["items"] or approvals != args.n or len(approved["items"]) != min(100, 2 * args.n):
            raise SystemExit(f"not all approved: {len(left['items'])} left, {len(approved['items'])} approved")
        return render(args, keyboard, each, api_wall, calls)
    finally:
        await service.stop()
        await wechat.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def render(args: argparse.Namespace, keyboard: float, each: list[float], api_wall: float, calls: int) -> str:
    n = args.n
    command = "`.venv/bin/python -m bench.review_keyboard" + (f" --n {n}" if n != 50 else "") + "`"
    each_ms = sorted(e * 1000 for e in each)
    rows = [
        "| way | submissions | wall | per submission | notes |",
        "|---|---:|---:|---:|---|",
        f"| A: console, key `A` on each card (Chromium) | {n} | {keyboard:.2f} s | {keyboard / n * 1000:.0f} ms |"
        f" key to next card focused: median {statistics.median(each_ms):.0f} ms,"
        f" max {each_ms[-1]:.0f} ms; includes the first page load and the automatic next-page fetch |",
        f"| B: JSON API, one call at a time | {n} | {api_wall:.2f} s | {api_wall / n * 1000:.0f} ms |"
        f" {calls} calls: `GET /review/queue` (20 a page) and one `POST .../review` per item |",
    ]
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    return "\n".join(
        [
            title(),
            "",
            f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} (UTC)",
            f"- Machine: `{uname}`; {os.cpu_count()} logical CPUs; Python {platform.python_version()}",
            f"- Code: commit `{_git('rev-parse', '--short', 'HEAD') or 'unknown'}`"
            + (" (with uncommitted changes)" if _git("status", "--porcelain") else ""),
            f"- Command: {command}",
            f"- Setup: `wenming serve --workers 1` on a fresh SQLite file, no Redis; {n} volunteers each handed in"
            " one generated 1600x1200 JPEG for each of two tasks (two campaigns: A's and B's); client, browser"
            " and service share the machine.",
            "",
            *rows,
            "",
            f"**Ratio A / B: {keyboard / api_wall:.2f}** (the console's keyboard flow against the bare API calls"
            " a client makes for the same approvals). A also carries what a person at the keyboard needs and a"
            " bare client does not: each answer is the card re-rendered (its photos' signed URLs, the risk"
            " details) and swapped in, the next card focused; and the driver's own round trips to Chromium"
            " (wait for focus, key press, wait for the decision: three per card).",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50, help="submissions reviewed each way (default 50)")
    parser.add_argument("--no-write", action="store_true", help="only print, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"no Chromium at {CHROMIUM}")
    section = asyncio.run(run(args))
    print(section)
    if not args.no_write:
        write_results(section, title())
        log("written to bench/RESULTS.md")


if __name__ == "__main__":
    sys.exit(main())
