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
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.connection import get_connection

from server.runtime.changes import CHANGES, EVERYTHING, WATCH_QUERY
from server.web.ratelimit import RATE_LIMIT_PREFIX
from server.wechat.fake import FakeWeChat

WENMING = [sys.executable, "-m", "server.cli"]
STDERR_LINE_LIMIT = 16 * 1024 * 1024  # a JSON log line carries its traceback


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
        # Warnings and errors only: tests that read access lines ask for INFO.
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
        # Its stderr, read as it comes: a pipe nobody reads fills up and stalls the service's logging.
        self.stderr_lines: list[str] = []
        self._stderr_grew = asyncio.Event()
        self._stderr_reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ServiceProcess:
        await self._fresh_rate_limits()
        args = ["serve", "--port", str(self.port), "--workers", str(self.workers)]
        self.proc = await asyncio.create_subprocess_exec(
            *WENMING,
            *args,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            limit=STDERR_LINE_LIMIT,
        )
        self._stderr_reader = asyncio.create_task(self._read_stderr())
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if self.proc.returncode is not None:
                    await self.stderr_closed()
                    err = "\n".join(self.stderr_lines)
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
            # As systemd's KillMode=mixed (deploy/wenming.service): the main process stops its workers.
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                os.killpg(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()
        if self.proc:
            with contextlib.suppress(ProcessLookupError):  # a child the main process left behind
                os.killpg(self.proc.pid, signal.SIGKILL)
        await self.stderr_closed()

    async def _fresh_rate_limits(self) -> None:
        """Start with no rate-limit counters, as the in-process service does for every test: all test
        services sign in from 127.0.0.1, and a test that raised its limits (200 sign-ins for the load
        test) would otherwise leave the next test on the default limits refused for the rest of the minute."""
        redis_url = self.env.get("WENMING_REDIS_URL")
        if not redis_url:
            return
        client = Redis.from_url(redis_url)
        try:
            keys = [key async for key in client.scan_iter(match=f"{RATE_LIMIT_PREFIX}*")]
            if keys:
                await client.delete(*keys)
        except RedisError:
            pass  # a test of an unreachable Redis: there are no counters to clear
        finally:
            await client.aclose()

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        try:
            while raw := await self.proc.stderr.readline():
                self.stderr_lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._stderr_grew.set()
        finally:
            self._stderr_grew.set()

    async def wait_stderr(self, count: int, wait_s: float = 30) -> None:
        """Until the service has written at least ``count`` lines to stderr; fails if it closes it first."""
        async with asyncio.timeout(wait_s):
            while len(self.stderr_lines) < count:
                assert self._stderr_reader is not None and not self._stderr_reader.done(), (
                    "the service closed its stderr"
                )
                self._stderr_grew.clear()
                await self._stderr_grew.wait()

    async def stderr_closed(self, wait_s: float = 10) -> None:
        """Read to the end (the process has exited, or is about to)."""
        if self._stderr_reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._stderr_reader), wait_s)


def multipart(photo: bytes, boundary: str = "wenmingboundary") -> tuple[bytes, str]:
    """A multipart body with ``photo`` as the field ``file``, and its Content-Type."""
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'.encode()
    return head + photo + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def open_upload(
    base_url: str, token: str, photo: bytes, *, headers: Mapping[str, str] | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """POST /api/v1/media over a raw connection announcing the whole body but sending half of it,
    as a phone does when it loses signal (or a client that trickles the rest); the caller sends
    more, reads the answer, or closes the connection (or kills the service)."""
    body, content_type = multipart(photo)
    host, port = urlsplit(base_url).netloc.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    writer.write(
        (
            f"POST /api/v1/media HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n{extra}"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body[: len(body) // 2]
    )
    await writer.drain()
    return reader, writer


async def send_half_an_upload(base_url: str, token: str, photo: bytes) -> asyncio.StreamWriter:
    """:func:`open_upload` for a caller that never reads the answer."""
    return (await open_upload(base_url, token, photo))[1]


@contextlib.contextmanager
def configured(config: Any, **values: Any) -> Iterator[None]:
    """Change settings of the in-process service while the block runs (Config is frozen: tests only)."""
    before = {name: getattr(config, name, None) for name in values}
    for name, value in values.items():
        object.__setattr__(config, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            object.__setattr__(config, name, value)


class QueryLog(logging.Handler):
    """The SQL statements the ORM ran, as Tortoise logs them at DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(WATCH_QUERY):  # the SQLite watch's poll, not a request's statement
            self.statements.append(message)

    @property
    def selects(self) -> int:
        return sum(1 for s in self.statements if s.lstrip().upper().startswith("SELECT"))


@contextlib.contextmanager
def counting_queries(*, cold: bool = True) -> Iterator[QueryLog]:
    """Record the statements of the in-process service while the block runs.

    ``cold``: the in-process caches (server.web.caches) are emptied first, so that what is counted
    is what a request costs when it has to ask the database, the same for the first call and the next.
    """
    if cold:
        CHANGES.heard(frozenset({EVERYTHING}))
    logger = logging.getLogger("tortoise.db_client")
    handler, level = QueryLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# -- processes, as /proc sees them ---------------------------------------------------


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None and int(stat[1]) == pid and stat[0] != "Z":
                children.append(int(entry))
    return children


def is_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting to be reaped."""
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time ``pid`` has used so far, or None when it is gone."""
    stat = _proc_stat(pid)
    if stat is None:
        return None
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def answers_cannot_be_recorded():
    """The database refuses to record any answer (status >= 100) on a key, as when it goes away right
    after the work's COMMIT; everything else, the work itself included, commits as usual."""
    conn = get_connection("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(
            "CREATE FUNCTION lose_answer() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'answer lost'; END $$"
            " LANGUAGE plpgsql;"
            " CREATE TRIGGER lose_answer BEFORE UPDATE ON idempotency_records FOR EACH ROW"
            " WHEN (NEW.status >= 100) EXECUTE FUNCTION lose_answer();"
        )
        drop = "DROP TRIGGER lose_answer ON idempotency_records; DROP FUNCTION lose_answer();"
    else:
        await conn.execute_script(
            "CREATE TRIGGER lose_answer BEFORE UPDATE ON idempotency_records"
            " WHEN NEW.status >= 100 BEGIN SELECT RAISE(ABORT, 'answer lost'); END;"
        )
        drop = "DROP TRIGGER lose_answer;"
    try:
        yield
    finally:
        await conn.execute_script(drop)


async def until(condition: Any, wait_s: float = 10) -> None:
    """Wait until ``condition()`` is true (state with no event to wait for: files, counters, processes)."""
    async with asyncio.timeout(wait_s):
        while not condition():  # noqa: ASYNC110 - polled on purpose, see above
            await asyncio.sleep(0.01)
