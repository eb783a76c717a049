"""The database clients: PostgreSQL's pool never hands on a transaction left open; SQLite's datetimes are
parsed in C.

asyncpg's pool still resets every released connection (RESET ALL and the rest, one round trip): that
query is also what finds a connection that died silently right after a COMMIT, before the next request
gets it (tests/e2e/test_faults.py). The hot reads are served from ``server.web.caches`` and take no
connection at all.
"""

from __future__ import annotations

import pytest
from tortoise import connections

from models.orgs import Org


def test_sqlite_datetimes_are_parsed_in_c():
    import ciso8601
    import tortoise.fields.data

    assert tortoise.fields.data.parse_datetime is ciso8601.parse_datetime


@pytest.fixture
def pool(api, database_url):
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.skip("PostgreSQL's pool only (set WENMING_TEST_DATABASE_URL)")
    return connections.get("default")._pool


async def test_a_transaction_left_open_is_rolled_back_on_release(pool):
    async with pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute(
            "INSERT INTO orgs (name, kind, path, created_at, cert_leader, cert_handler, cert_contact)"
            " VALUES ('留下的', 'county', '/x/', now(), '', '', '')"
        )
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()
    assert not await Org.filter(name="留下的").exists()
