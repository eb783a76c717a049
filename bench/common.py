"""What the benches that run the service share: a free port, its environment, ``wenming`` commands, the
service process itself, a commit's tree, and writing a section into ``bench/RESULTS.md``."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from server.wechat.fake import FakeWeChat

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "RESULTS.md"
PLACEHOLDER = "No benchmarks have been recorded yet."
WENMING = [sys.executable, "-m", "server.cli"]
API = "/api/v1"


def _git(*args: str) -> str:
    """What ``git ARGS`` prints in this repository, stripped; "" if it fails."""
    try:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def service_env(database_url: str, media_root: Path, wechat: FakeWeChat, **settings: str) -> dict[str, str]:
    """The environment of tests/support.py's ``service_env`` (none of this shell's ``WENMING_*``), with the
    fake WeChat and the sign-in limit out of the way; ``settings`` add to it or override it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    env.update(
        WENMING_ENV="test",
        WENMING_DATABASE_URL=database_url,
        WENMING_MEDIA_ROOT=str(media_root),
        WENMING_WECHAT_API_BASE=wechat.base_url,
        WENMING_WECHAT_APPID=wechat.appid,
        WENMING_WECHAT_SECRET=wechat.secret,
        WENMING_WECHAT_TIMEOUT="1.5",
        WENMING_LIMIT_SIGNIN="100000/minute",
    )
    env.update(settings)
    return env


def sqlite_env(tmp: Path, port: int, wechat: FakeWeChat, **settings: str) -> dict[str, str]:
    """``service_env`` with a fresh SQLite file and media root in ``tmp``, for a service on ``port``."""
    media_root = tmp / "media"
    media_root.mkdir()
    return service_env(
        f"sqlite://{tmp / 'bench.sqlite3'}",
        media_root,
        wechat,
        WENMING_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        **settings,
    )


async def run_cli(*args: str, env: dict[str, str], cwd: Path = REPO_ROOT, wait_s: float = 120) -> None:
    """``wenming ARGS`` from the code in ``cwd``; exits the bench if it fails."""
    proc = await asyncio.create_subprocess_exec(
        *WENMING, *args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), wait_s)
    if proc.returncode:
        where = "" if cwd == REPO_ROOT else f" in {cwd}"
        raise SystemExit(f"`wenming {' '.join(args)}`{where} failed ({proc.returncode}):\n{out.decode()}")


class Service:
    """``wenming serve`` from the code in ``cwd``, in its own session (process group); its log is appended to
    a file, never to an unread pipe. ``grace``: seconds it has to stop after SIGTERM before SIGKILL."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log_path: Path,
        *,
        workers: int = 1,
        cwd: Path = REPO_ROOT,
        grace: float = 15,
    ) -> None:
        self.env, self.port, self.log_path = env, port, log_path
        self.workers, self.cwd, self.grace = workers, cwd, grace
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start it and wait for ``/healthz``; if it never answers, stop it and exit the bench."""
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *WENMING,
                *("serve", "--port", str(self.port), "--workers", str(self.workers)),
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if self.proc.returncode is not None:
                    raise SystemExit(f"the service exited with {self.proc.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.base_url}/healthz") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        await self.stop()
        raise SystemExit(f"the service did not answer /healthz within 30 s:\n{self.log_tail()}")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), self.grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def unpack(rev: str, into: Path) -> str:
    """The tree of commit ``rev`` (``git archive``) in a new folder ``into``; returns its short hash."""
    commit = _git("rev-parse", "--short", rev)
    if not commit:
        raise SystemExit(f"--before {rev!r} is not a commit of this repository")
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def write_results(section: str, title: str, results_path: Path = RESULTS_PATH) -> None:
    """Put ``section`` into RESULTS.md: replace an earlier one with the same title, else append; keep the rest."""
    text = results_path.read_text(encoding="utf-8") if results_path.exists() else "# Benchmark results\n"
    text = re.sub(rf"^{re.escape(PLACEHOLDER)}[ \t]*\n?", "", text, flags=re.M)
    existing = re.compile(rf"^{re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if existing.search(text):
        text = existing.sub(lambda _: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    results_path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
