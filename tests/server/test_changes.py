"""What the database clients tell the caches (server.runtime.changes) and what a cache does with it."""

from __future__ import annotations

import pytest
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.campaigns import Task
from models.orgs import create_org
from models.users import User
from server.runtime.changes import CHANGES, EVERYTHING, Changes, written
from server.web.caches import TableCache


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ('SELECT "id" FROM "tasks"', None),
        ("  select 1", None),
        ("SAVEPOINT tortoise_savepoint_1", None),
        ('INSERT INTO "enrollments" ("task_id") VALUES (?)', "enrollments"),
        ('INSERT OR IGNORE INTO "ledger_entries" ("id") VALUES (?)', "ledger_entries"),
        ('UPDATE "users" SET "role"=$1 WHERE "id"=$2', "users"),
        ("DELETE FROM auth_tokens WHERE id = 1", "auth_tokens"),
        (
            'UPDATE "tasks" SET "enrolled_count"="enrolled_count"+? WHERE "id"=? AND "enrolled_count"<"quota"',
            "task_counts",
        ),
        ('UPDATE "tasks" SET "enrolled_count"="enrolled_count"-$1 WHERE "id"=$2', "task_counts"),
        ('UPDATE "tasks" SET "enrolled_count"="enrolled_count"+?,"title"=? WHERE "id"=?', "tasks"),
        ('UPDATE "tasks" SET "enrolled_count"=? WHERE "id"=?', "tasks"),
        ("WITH moved AS (UPDATE users SET points = 0 RETURNING id) SELECT * FROM moved", EVERYTHING),
        ('CREATE TABLE "x" ("a" INT)', EVERYTHING),
        ("TRUNCATE users", EVERYTHING),
        ("UPDATE users SET nickname = 'a' WHERE id = 1;", "users"),
        ("DELETE FROM notices; DELETE FROM users", EVERYTHING),
        ("SELECT 1; DELETE FROM users", EVERYTHING),
    ],
)
def test_the_table_is_read_off_the_statement(sql, table):
    assert written(sql) == table


def test_a_cache_forgets_when_one_of_its_tables_changes():
    changes = Changes()
    cache = TableCache(changes, ("tasks",))
    cache.put("page", [1], cache.ticket())
    changes.heard(frozenset({"users"}))
    assert cache.get("page") == [1]
    changes.heard(frozenset({"tasks"}))
    assert cache.get("page") is None
    cache.put("page", [2], cache.ticket())
    changes.heard(frozenset({EVERYTHING}))
    assert cache.get("page") is None


def test_a_read_that_raced_a_change_is_not_stored():
    changes = Changes()
    cache = TableCache(changes, ("tasks",))
    ticket = cache.ticket()  # the read starts...
    changes.heard(frozenset({"tasks"}))  # ...a write commits meanwhile...
    cache.put("page", ["old rows"], ticket)  # ...and the read ends with what it saw before
    assert cache.get("page") is None


def test_nothing_is_cached_while_the_other_processes_cannot_be_heard():
    class Deaf:
        live = False

    changes = Changes()
    cache = TableCache(changes, ("tasks",))
    cache.put("page", [1], cache.ticket())
    changes.subscribed = Deaf()
    assert cache.get("page") is None
    cache.put("page", [1], cache.ticket())
    Deaf.live = True
    assert cache.get("page") is None


async def test_commits_are_told_once_with_their_tables_and_rollbacks_not_at_all(api):
    heard: list[frozenset[str]] = []
    CHANGES.listen(heard.append)
    try:
        county = await create_org("县", "county", None)
        heard.clear()
        async with in_transaction():
            await User.create(openid="o-changes-1", org_id=county.id)
            async with in_transaction():
                await Task.filter(id=0).update(enrolled_count=F("enrolled_count") + 1)
            assert heard == [], "nothing is told before the outer commit"
        assert heard == [frozenset({"users", "task_counts"})]
        heard.clear()
        with pytest.raises(RuntimeError):
            async with in_transaction():
                await User.create(openid="o-changes-2")
                raise RuntimeError("rolled back")
        assert heard == []
        await User.filter(openid="o-changes-1").update(nickname="甲")
        assert heard == [frozenset({"users"})]
    finally:
        CHANGES.unlisten(heard.append)


async def test_without_redis_another_process_commit_to_sqlite_empties_the_caches(tmp_path):
    """The CLI writing to the same SQLite file: the serving process notices it by data_version."""
    import asyncio
    import sqlite3

    from server.runtime.changes import SqliteWatch
    from server.runtime.sqliteclient import TrackedSqliteClient

    path = tmp_path / "watched.sqlite3"
    client = TrackedSqliteClient(file_path=str(path), connection_name="watched")
    await client.create_connection(with_db=True)
    changes = Changes()
    cache = TableCache(changes, ("users",))
    watch = SqliteWatch(changes, client)
    watch.start()
    try:
        cache.put("someone", "cached", cache.ticket())
        await asyncio.sleep(1.2)  # nothing else wrote meanwhile: the entry stays
        assert cache.get("someone") == "cached"
        with sqlite3.connect(path) as other:
            other.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        for _ in range(40):
            if cache.get("someone") is None:
                break
            await asyncio.sleep(0.05)
        assert cache.get("someone") is None
    finally:
        await watch.close()
        await client.close()


def test_the_channel_reader_takes_replies_split_anywhere():
    from server.runtime.subscriber import _Resp

    stream = (
        b"+OK\r\n"
        b"*3\r\n$9\r\nsubscribe\r\n$17\r\nwenming:changes:9\r\n:1\r\n"
        b"*3\r\n$7\r\nmessage\r\n$17\r\nwenming:changes:9\r\n$14\r\nabc tasks,orgs\r\n"
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    )
    for cut in range(1, len(stream)):
        reader = _Resp()
        replies = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert replies == [
            [b"+OK"],
            [b"subscribe", b"wenming:changes:9", 1],
            [b"message", b"wenming:changes:9", b"abc tasks,orgs"],
            [b"pong", b""],
        ], cut
