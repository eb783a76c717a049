"""Shared fixtures: real services, chosen by environment.

``WENMING_TEST_DATABASE_URL`` picks the database (default: a fresh SQLite
file); ``WENMING_TEST_REDIS_URL`` turns on the Redis-backed paths. A test that
needs Redis when none is configured is skipped; with
``WENMING_TEST_REQUIRE_SERVICES=1`` (set by CI's PostgreSQL + Redis pass) any
skip is a failure instead, so nothing silently stops being tested.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from sanic import Sanic

from models.users import User
from server.app import create_app
from server.config import Config
from server.runtime.db import apply_migrations, close_db, init_db
from server.runtime.observability import json_handler
from server.web.protocol import ServiceProtocol
from server.web.services import Services
from server.wechat.fake import FakeWeChat
from tests.support import free_port, service_env

REQUIRE_SERVICES = os.environ.get("WENMING_TEST_REQUIRE_SERVICES") == "1"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    # Turn a skip into a failure when the report is made, so the run's exit status counts it:
    # CI's service pass must run everything.
    report = yield
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped while services are required: {report.longrepr}"
    return report


# -- every log line of the run ----------------------------------------------------


class RunLog:
    """What the in-process service logged over the whole run, as production writes it
    (JSON lines through the redacting handler, INFO and up), and the secrets handed out meanwhile.
    ``tests/test_run_logs.py`` runs last and greps the one for the other."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.secrets: set[str] = set()  # the service's bearer tokens; the fake WeChat keeps its own
        self.fakes: list[FakeWeChat] = []
        self.tests_run = 0


RUN_LOG = RunLog()
LAST_TESTS = ("tests/test_run_logs.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The whole-run log check must see everything the other tests logged.
    items.sort(key=lambda item: item.nodeid.startswith(LAST_TESTS))


def pytest_runtest_logfinish(nodeid: str) -> None:
    RUN_LOG.tests_run += 1


@pytest.fixture(scope="session", autouse=True)
def run_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunLog]:
    RUN_LOG.path = tmp_path_factory.mktemp("logs") / "run.jsonl"
    root = logging.getLogger()
    level = root.level
    with RUN_LOG.path.open("w", encoding="utf-8") as stream:
        handler = json_handler(stream)
        handler.set_name("wenming-run-log")  # not the name configure_logging() replaces
        handler.setLevel(logging.INFO)  # production's default level, whatever a test sets on the root
        root.addHandler(handler)
        root.setLevel(min(level, logging.INFO) if level else logging.INFO)
        try:
            yield RUN_LOG
        finally:
            root.removeHandler(handler)
            root.setLevel(level)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("WENMING_TEST_REDIS_URL")
    if not url:
        pytest.skip("no Redis configured (set WENMING_TEST_REDIS_URL)")
    return url


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A Redis client on a clean database; unreachable Redis fails the test."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


# -- database -----------------------------------------------------------------


@pytest_asyncio.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A throwaway database for this run: a fresh SQLite file, or a new PostgreSQL database."""
    base = os.environ.get("WENMING_TEST_DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        yield f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    import asyncpg

    server, _, _ = base.replace("postgresql://", "postgres://", 1).rpartition("/")
    name = f"wenming_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(base.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


TABLES = (
    "notice_recipients",
    "notices",
    "hour_request_media",
    "hour_requests",
    "message_events",
    "message_media",
    "messages",
    "calendar_days",
    "share_opens",
    "share_links",
    "reposts",
    "reach_snapshots",
    "submission_links",
    "platform_accounts",
    "quiz_answers",
    "quiz_attempts",
    "questions",
    "console_sessions",
    "console_tickets",
    "org_change_requests",
    "certificates",
    "audit_entries",
    "notifications",
    "ledger_entries",
    "reposts",
    "reach_snapshots",
    "submission_links",
    "submission_media",
    "submissions",
    "media",
    "idempotency_records",
    "enrollments",
    "tasks",
    "campaigns",
    "auth_tokens",
    "users",
    "orgs",
)


_PG_RESET: str | None = None


async def _pg_reset_script(conn: Any) -> str:
    rows = await conn.execute_query_dict(
        "SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), 'id') AS seq"
        " FROM information_schema.columns WHERE column_name = 'id' AND table_schema = current_schema()"
    )
    sequences = [r["seq"] for r in rows if r["seq"] and r["table_name"] in TABLES]
    return "; ".join([f"DELETE FROM {t}" for t in TABLES] + [f"SELECT setval('{s}', 1, false)" for s in sequences])


async def reset_database() -> None:
    """Empty every table (children first) so each test starts clean."""
    from tortoise.connection import get_connection

    conn = get_connection("default")
    if conn.capabilities.dialect == "postgres":
        # DELETE, children first, and the id sequences set back: ~2 ms where TRUNCATE takes ~0.2 s (it
        # makes new files for every table and index), paid before each of about two thousand tests.
        global _PG_RESET
        if _PG_RESET is None:
            _PG_RESET = await _pg_reset_script(conn)
        # A foreign-key error here means a table is missing from TABLES, or is listed after its parent.
        await conn.execute_script(_PG_RESET)
    else:
        await conn.execute_script("PRAGMA foreign_keys = OFF")
        for table in TABLES:
            await conn.execute_script(f"DELETE FROM {table}")
        await conn.execute_script("PRAGMA foreign_keys = ON")


# -- the fake WeChat and the service ------------------------------------------


@pytest_asyncio.fixture(scope="session")
async def wechat() -> AsyncIterator[FakeWeChat]:
    fake = FakeWeChat()
    RUN_LOG.fakes.append(fake)
    await fake.start()
    yield fake
    await fake.stop()


TEMPLATES = {
    "task_new": "tmpl-task-new",
    "review_result": "tmpl-review",
    "task_reminder": "tmpl-reminder",
    "reach_reminder": "tmpl-reach",
    "message_reply": "tmpl-message-reply",
    "message_task": "tmpl-message-task",
    "notice": "tmpl-notice",
    "checkout_reminder": "tmpl-checkout",
}
PUSH_TOKEN = "wenming-test-push-token"
PUSH_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@dataclass
class Service:
    app: Sanic
    base_url: str
    config: Config

    @property
    def services(self) -> Services:
        return self.app.ctx.services


@pytest_asyncio.fixture(scope="session")
async def service(database_url: str, wechat: FakeWeChat) -> AsyncIterator[Service]:
    """The real app on a real loopback port, in the test's event loop."""
    port = free_port()
    env = service_env(
        database_url,
        wechat,
        WENMING_LIMIT_SIGNIN="300/minute",
        WENMING_LIMIT_UPLOAD="600/minute",
        WENMING_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        WENMING_WECHAT_PUSH_TOKEN=PUSH_TOKEN,
        WENMING_WECHAT_PUSH_AES_KEY=PUSH_AES_KEY,
        WENMING_SUBSCRIBE_TEMPLATES=json.dumps(TEMPLATES),
        WENMING_JOB_RETRY_DELAY="0.05",
    )
    config = Config.from_env(env)
    await init_db(config.database_url)
    await apply_migrations()
    await close_db()
    app = create_app(config, name=f"wenming_test_{uuid.uuid4().hex[:8]}")
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False, protocol=ServiceProtocol
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    yield Service(app=app, base_url=f"http://127.0.0.1:{port}", config=config)
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()


@dataclass
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def error_code(self) -> str | None:
        return self.body.get("error", {}).get("code") if isinstance(self.body, dict) else None


class Api:
    """A client of the running service, plus ways to make signed-in people."""

    def __init__(self, service: Service, wechat: FakeWeChat, session: aiohttp.ClientSession) -> None:
        self.service = service
        self.wechat = wechat
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else self.service.base_url + path
        async with self.session.request(method, url, json=json, data=data, headers=all_headers) as resp:
            raw = await resp.read()
            try:
                body: Any = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                body = raw.decode(errors="replace")
            if isinstance(body, dict) and isinstance(body.get("token"), str):
                RUN_LOG.secrets.add(body["token"])
            return Reply(resp.status, body, resp.headers)

    async def upload(
        self,
        token: str | None,
        data: bytes,
        *,
        filename: str = "photo.jpg",
        content_type: str = "image/jpeg",
        field: str = "file",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """POST /media as wx.uploadFile does: multipart with one file field."""
        form = aiohttp.FormData()
        form.add_field("name", "evidence")  # wx.uploadFile's formData rides along; ignored
        form.add_field(field, data, filename=filename, content_type=content_type)
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        async with self.session.post(self.service.base_url + "/api/v1/media", data=form, headers=all_headers) as resp:
            raw = await resp.read()
            body: Any = orjson.loads(raw) if raw else None
            return Reply(resp.status, body, resp.headers)

    async def settle(self) -> None:
        """Wait for the work the service does after its responses: content checks, queued jobs."""
        await self.service.services.background.drain()
        await self.service.services.jobs.work()
        await self.service.services.background.drain()

    async def login(self, openid: str | None = None) -> tuple[str, dict]:
        reply = await self.call("POST", "/api/v1/auth/wechat-login", json={"code": self.wechat.issue_code(openid)})
        assert reply.status == 200, reply.body
        return reply.body["token"], reply.body["user"]

    async def login_as(self, user_id: int) -> str:
        """A fresh token for an existing person (signing in again with their openid)."""
        openid = (await User.get(id=user_id)).openid
        return (await self.login(openid))[0]

    async def person(self, role: str = "volunteer", org_id: int | None = None) -> tuple[str, int]:
        """A signed-in person with ``role`` (set as an operator would); returns (token, user id)."""
        token, user = await self.login()
        await User.filter(id=int(user["id"])).update(role=role, org_id=org_id)
        return token, int(user["id"])


async def clean_slate(service: Service, wechat: FakeWeChat) -> None:
    """Empty tables and media, a forgetful fake WeChat, an empty Redis, fresh rate limits."""
    await service.services.background.drain()  # the last test's after-response work must not land in this one
    await reset_database()
    shutil.rmtree(service.config.media_root, ignore_errors=True)
    wechat.reset()
    wechat.configure_push(service.base_url + "/api/v1/wechat/push", PUSH_TOKEN, PUSH_AES_KEY, fmt="json")
    if service.services.redis is not None:
        await service.services.redis.flushdb()
        await service.services.rankings.rebuild(datetime.now(UTC))  # warm, empty boards
    service.services.limiter._local.clear()
    service.services.image_budget.reset()


@pytest_asyncio.fixture
async def api(service: Service, wechat: FakeWeChat) -> AsyncIterator[Api]:
    """A clean slate per test."""
    await clean_slate(service, wechat)
    async with aiohttp.ClientSession() as session:
        yield Api(service, wechat, session)
