"""Image flood benchmark: how long does one person's small upload take while another floods the image pool?

Run from the repository root (either form works)::

    python -m bench.imageflood --before REV [--write]
    python bench/imageflood.py --before REV [--write]

For each code version (the commit ``--before`` names, unpacked with ``git
archive`` into a temporary directory, and the working tree itself) and each
flood picture, one run starts the real service as the end-to-end tests do: a
fake WeChat on loopback, a fresh SQLite file and media root, ``wenming
migrate`` and ``wenming serve`` (one worker, default limits but sign-in) as a
child process from that code's directory. Two people sign in. Then:

- the flooder sends ``--flood`` uploads of the flood picture, ``--parallel`` at
  a time (58 at 16 by default: the load that first showed the problem);
- one second in, the other person uploads an 800x600 JPEG (about 50 ms of work
  alone) again and again, one at a time and at most one every 1.5 s (inside
  their own upload limit), until the flood is over.

Flood pictures: ``webp``, a 2 KB lossless WebP of one colour at 6320x6320 (just
under the 40-MP cap; 1.9 s of CPU each before), and ``png``, a flat 6000x6000
RGB PNG of a few hundred KB, a picture the pixels-per-byte check lets through
(about 0.7 s of CPU each). It reports the other person's upload latency and
answers, and the flood's answers and duration, before and after side by side.

The Markdown section goes to stdout (progress to stderr); ``--write`` also puts
it into ``bench/RESULTS.md``, replacing an earlier run's section.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from PIL import Image, ImageDraw

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import API, REPO_ROOT, Service, free_port, log, run_cli, sqlite_env, unpack, write_results
from bench.ingest import _command, machine
from bench.uploads import code_version, sign_in
from server.wechat.fake import FakeWeChat

SECTION_TITLE = "## Image flood: another person's upload while one person floods the image threads"
MEDIA = f"{API}/media"
CLIENT_TIMEOUT = 300
FIRST_VICTIM_DELAY_S = 1.0
# The other person starts an upload at most this often: 40 a minute, inside their own upload limit (60/minute).
OTHER_EVERY_S = 1.5


# --- pictures -----------------------------------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def flood_pictures() -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, file name, content type)."""
    webp = encode(Image.new("RGB", (6320, 6320), (200, 30, 30)), "WEBP", lossless=True)
    flat = Image.new("RGB", (6000, 6000), (30, 120, 200))
    draw = ImageDraw.Draw(flat)
    draw.rectangle((0, 0, 3000, 3000), fill=(250, 250, 250))
    draw.ellipse((3000, 2000, 5980, 5980), fill=(200, 30, 30))
    png = encode(flat, "PNG", compress_level=1)
    return {"webp": (webp, "flat.webp", "image/webp"), "png": (png, "flat.png", "image/png")}


def small_photo() -> bytes:
    img = Image.new("RGB", (800, 600), (30, 120, 200))
    ImageDraw.Draw(img).ellipse((400, 200, 780, 580), fill=(200, 30, 30))
    return encode(img, "JPEG", quality=90)


# --- the service --------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_service(code: Path, tmp: Path, wechat: FakeWeChat):
    """``wenming serve`` from ``code`` (its own process group); yields the base URL."""
    port = free_port()
    env = sqlite_env(tmp, port, wechat, WENMING_LOG_LEVEL="WARNING")
    await run_cli("migrate", env=env, cwd=code)
    service = Service(env, port, tmp / "service.log", cwd=code, grace=30)
    await service.start()
    try:
        yield service.base_url
    finally:
        await service.stop()


# --- load ---------------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int  # 0: no answer (client error or timeout)
    seconds: float
    code: str = ""


@dataclass
class Run:
    code: str  # "before" | "after"
    picture: str
    flood: list[Answer] = field(default_factory=list)
    other: list[Answer] = field(default_factory=list)
    flood_seconds: float = 0.0


async def upload(session: aiohttp.ClientSession, url: str, token: str, data: bytes, name: str, ctype: str) -> Answer:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type=ctype)
    start = time.perf_counter()
    try:
        async with session.post(url, data=form, headers={"Authorization": f"Bearer {token}"}) as resp:
            raw = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError):
        return Answer(0, time.perf_counter() - start)
    code = ""
    if status != 201:
        match = re.search(rb'"code":"([a-z_]+)"', raw)
        code = match.group(1).decode() if match else ""
    return Answer(status, time.perf_counter() - start, code)


async def flood_run(base_url: str, wechat: FakeWeChat, run: Run, picture: tuple[bytes, str, str], args) -> None:
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    small = small_photo()
    url = base_url + MEDIA
    async with aiohttp.ClientSession(timeout=timeout) as session:
        flooder, other = await sign_in(session, base_url, wechat, 2)
        warm = await upload(session, url, other, small, "warm.jpg", "image/jpeg")
        if warm.status != 201:
            raise SystemExit(f"the warm-up upload answered {warm.status} {warm.code}")
        remaining = args.flood
        flood_over = asyncio.Event()

        async def flood_client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                run.flood.append(await upload(session, url, flooder, *picture))

        async def other_person() -> None:
            await asyncio.sleep(FIRST_VICTIM_DELAY_S)
            while not flood_over.is_set() or not run.other:
                started = time.perf_counter()
                run.other.append(await upload(session, url, other, small, "photo.jpg", "image/jpeg"))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(flood_over.wait(), OTHER_EVERY_S - (time.perf_counter() - started))

        start = time.perf_counter()
        victim = asyncio.create_task(other_person())
        await asyncio.gather(*(flood_client() for _ in range(args.parallel)))
        run.flood_seconds = time.perf_counter() - start
        flood_over.set()
        await victim


# --- report -------------------------------------------------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _s(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:,.1f} s"


def _answers(answers: list[Answer]) -> str:
    counts = Counter(f"{a.status}{' ' + a.code if a.code else ''}" if a.status else "no answer" for a in answers)
    return ", ".join(f"{n} x {k}" for k, n in sorted(counts.items()))


def _picture(data: bytes) -> str:
    width, height = Image.open(io.BytesIO(data)).size
    return f"{width}x{height}, {len(data):,} bytes"


def render(runs: list[Run], args: argparse.Namespace, before: str, after: str, pictures: dict) -> str:
    lines = [
        SECTION_TITLE,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d} (UTC)",
        f"- Machine: {machine()}",
        f"- Code: before = commit `{before}`, after = {after}",
        f"- Command: {_command()}",
        f"- Load: one person sends {args.flood} uploads of the flood picture, {args.parallel} at a time; one second "
        "in, another person uploads an 800x600 JPEG (about 50 ms of work alone) again and again, one at a time and "
        f"at most one every {OTHER_EVERY_S} s, until the flood is over. `wenming serve --workers 1` "
        "(2 image threads, or 2 image processes in code with `server/web/imagepool.py`), fresh SQLite, "
        "no Redis, default "
        "limits (uploads 60/minute per person; after: one image job at a time per person, 20 CPU-seconds a minute).",
        "- Flood pictures: " + "; ".join(f"`{name}` {_picture(data)}" for name, (data, _, _) in pictures.items()),
        "- Caveat: client and service share the machine's 2 cores, which other work was using too "
        f"(1-minute load average {args.load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).",
        "",
        "| flood picture | code | other person: uploads | p50 | p90 | max | their answers | flood answers "
        "| flood took |",
        "|---|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for run in runs:
        seconds = [a.seconds for a in run.other]
        lines.append(
            f"| `{run.picture}` | {run.code} | {len(run.other)} | {_s(_quantile(seconds, 0.5))} | "
            f"{_s(_quantile(seconds, 0.9))} | {_s(max(seconds))} | {_answers(run.other)} | {_answers(run.flood)} | "
            f"{_s(run.flood_seconds)} |"
        )
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace) -> str:
    pictures = flood_pictures()
    chosen = {name: pictures[name] for name in args.pictures}
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="wenming-bench-flood-") as tmp_name:
        tmp = Path(tmp_name)
        before = unpack(args.before, tmp / "before-code")
        wechat = FakeWeChat()
        await wechat.start()
        try:
            for name, picture in chosen.items():
                for label, code in (("before", tmp / "before-code"), ("after", REPO_ROOT)):
                    log(f"{name}, {label}: {args.flood} uploads, {args.parallel} at a time ...")
                    run = Run(label, name)
                    work = tmp / f"{name}-{label}"
                    work.mkdir()
                    async with running_service(code, work, wechat) as base_url:
                        await flood_run(base_url, wechat, run, picture, args)
                    worst = max(a.seconds for a in run.other)
                    log(f"  other person: {len(run.other)} uploads, max {worst:.2f} s; flood {run.flood_seconds:.1f} s")
                    runs.append(run)
        finally:
            await wechat.stop()
    return render(runs, args, before, code_version(), chosen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the commit to compare with (the code before the fix)")
    parser.add_argument("--flood", type=int, default=58, help="uploads the flooder sends (default 58)")
    parser.add_argument("--parallel", type=int, default=16, help="how many at a time (default 16)")
    parser.add_argument("--pictures", nargs="+", choices=("webp", "png"), default=["webp", "png"])
    parser.add_argument("--write", action="store_true", help="also put the section into bench/RESULTS.md")
    args = parser.parse_args(argv)
    args.load_start = os.getloadavg()[0]
    section = asyncio.run(main_async(args))
    print(section)
    if args.write:
        write_results(section, SECTION_TITLE)


if __name__ == "__main__":
    main()
