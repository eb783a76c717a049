"""Helpers for tests that run the service as a real process (`wenming serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping

import aiohttp

from server.devtools.fake_wechat import FakeWeChat

WENMING = [sys.executable, "-m", "server.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(database_url: str, wechat: FakeWeChat, **extra: str) -> dict[str, str]:
    """The environment a service of the test run gets (Redis when the run has one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    env.update(
        WENMING_ENV="test",
        WENMING_DATABASE_URL=database_url,
        WENMING_WECHAT_API_BASE=wechat.base_url,
        WENMING_WECHAT_APPID=wechat.appid,
        WENMING_WECHAT_SECRET=wechat.secret,
        WENMING_WECHAT_TIMEOUT="1.5",
        WENMING_MEDIA_ROOT=tempfile.mkdtemp(prefix="wenming-media-"),
        # Service processes' stderr is a pipe read only at exit: keep it to warnings and errors.
        WENMING_LOG_LEVEL="WARNING",
    )
    redis_url = os.environ.get("WENMING_TEST_REDIS_URL")
    if redis_url:
        env["WENMING_REDIS_URL"] = redis_url
    env.update(extra)
    return env


async def run_cli(*args: str, env: Mapping[str, str], wait_s: float = 60) -> tuple[int, str, str]:
    """Run `wenming ARGS` to completion; returns (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *WENMING, *args, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), wait_s)
    return proc.returncode or 0, out.decode(), err.decode()


class ServiceProcess:
    """`wenming serve` in a child process; waits until /healthz answers."""

    def __init__(self, env: Mapping[str, str], workers: int = 1) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env)
        self.workers = workers
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ServiceProcess:
        args = ["serve", "--port", str(self.port), "--workers", str(self.workers)]
        self.proc = await asyncio.create_subprocess_exec(
            *WENMING,
            *args,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if self.proc.returncode is not None:
                    err = (await self.proc.stderr.read()).decode() if self.proc.stderr else ""
                    raise RuntimeError(f"service exited with {self.proc.returncode}: {err}")
                try:
                    async with session.get(f"{self.base_url}/healthz") as resp:
                        if resp.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("service did not start within 30 s")

    async def __aexit__(self, *exc: object) -> None:
        if self.proc and self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                os.killpg(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()


class QueryLog(logging.Handler):
    """The SQL statements the ORM ran, as Tortoise logs them at DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())

    @property
    def selects(self) -> int:
        return sum(1 for s in self.statements if s.lstrip().upper().startswith("SELECT"))


@contextlib.contextmanager
def counting_queries() -> Iterator[QueryLog]:
    """Record the statements of the in-process service while the block runs."""
    logger = logging.getLogger("tortoise.db_client")
    handler, level = QueryLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
