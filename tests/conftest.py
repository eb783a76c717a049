"""Shared fixtures: real services, chosen by environment.

``WENMING_TEST_DATABASE_URL`` picks the database (default: a fresh SQLite
file); ``WENMING_TEST_REDIS_URL`` turns on the Redis-backed paths. A test that
needs Redis when none is configured is skipped; with
``WENMING_TEST_REQUIRE_SERVICES=1`` (set by CI's PostgreSQL + Redis pass) any
skip is a failure instead, so nothing silently stops being tested.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

REQUIRE_SERVICES = os.environ.get("WENMING_TEST_REQUIRE_SERVICES") == "1"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if REQUIRE_SERVICES and report.skipped:
        # Turn the skip into a failure: CI's service pass must run everything.
        report.outcome = "failed"
        report.longrepr = f"skipped while services are required: {report.longrepr}"


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
