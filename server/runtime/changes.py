"""Which tables a commit changed, told to the caches of every process.

The database clients (``server.runtime.sqliteclient``, ``server.runtime.pgclient``) name the
table of each statement that writes: a transaction's tables once it commits (a rollback tells
nothing), a statement outside a transaction as soon as it ran. ``CHANGES.committed`` tells this
process's listeners at once, then publishes the tables on Redis, when there is one, so that
every other process (the other workers and hosts, and the CLI's writes) tells its own
(``server.runtime.subscriber``). Publishing happens before the write's request answers, so a
read anywhere after that answer misses the caches it changed.

Tables are read off the statement itself, so no write path can be forgotten: the ORM's saves and
bulk updates, raw SQL, a migration (anything that is neither a plain read nor a plain write to one
table counts as a change to every table, ``EVERYTHING``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

log = logging.getLogger("wenming.changes")

EVERYTHING = "*"
RANKINGS = "rankings"  # not a table: Redis's leaderboards, announced once they moved (server.runtime.effects)
CHANNEL = "wenming:changes:"  # + the Redis database number: test runs on other databases stay apart
# How long a cached entry may live when another process's write cannot be heard (PostgreSQL without
# Redis: the CLI writes to the same database) and otherwise, as a backstop should a publish fail.
TTL_ALONE_S = 2.0
TTL_SHARED_S = 60.0
# SQLite without Redis: how often ``PRAGMA data_version`` is asked whether another process committed.
WATCH_EVERY_S = 0.5
WATCH_QUERY = "PRAGMA data_version"

_WRITE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)"?', re.I)
_NO_WRITE = re.compile(r"\s*(?:SELECT|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|PRAGMA|EXPLAIN|SHOW|SET)\b", re.I)

# A counter moved by itself ("n" = "n" + 1) is told apart from other changes to its table, so that
# a cache of the rest of the row can stay (server.web.caches: the feed page and the task counts).
COUNTERS = {("tasks", "enrolled_count"): "task_counts"}
_COUNTER = re.compile(r'\s*UPDATE\s+"?(\w+)"?\s+SET\s+"?(\w+)"?\s*=\s*"?\2"?\s*[-+]\s*(?:\?|\$\d+|\d+)\s+WHERE\b', re.I)

Listener = Callable[[frozenset[str]], None]


def written(sql: str) -> str | None:
    """The table ``sql`` writes to (or the counter it moves), ``EVERYTHING`` if unknown, None for a read."""
    if ";" in sql.rstrip().rstrip(";"):  # several statements: more than the first may write
        return EVERYTHING
    if sql[:6].upper() == "SELECT":
        return None
    if match := _WRITE.match(sql):
        table = match.group(1).lower()
        counter = _COUNTER.match(sql)
        moved = COUNTERS.get((table, counter.group(2).lower())) if counter else None
        return moved or table
    return None if _NO_WRITE.match(sql) else EVERYTHING


class Changes:
    """The hub: database clients report commits here, caches listen here."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex  # this process, to skip its own messages when they come back
        self._listeners: list[Listener] = []
        self._redis: Redis | None = None
        self.channel = CHANNEL + "0"
        self.subscribed: Any = None  # server.runtime.subscriber.Subscriber of a serving process
        self.watched = False  # SQLite's data_version is watched (``SqliteWatch``)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def heard(self, tables: frozenset[str]) -> None:
        """Tables changed (here or elsewhere): every listener forgets what it read from them."""
        for listener in tuple(self._listeners):
            listener(tables)

    async def committed(self, tables: Iterable[str]) -> None:
        """A commit of this process changed ``tables``: tell the listeners here, then every other process."""
        changed = frozenset(tables)
        if not changed:
            return
        self.heard(changed)
        if self._redis is not None:
            # Shielded: a request cancelled now (the client hung up) has written all the same.
            await asyncio.shield(self._publish(self._redis, changed))

    async def _publish(self, redis: Redis, changed: frozenset[str]) -> None:
        try:
            await redis.publish(self.channel, f"{self.origin} {','.join(sorted(changed))}")
        except (RedisError, OSError) as exc:
            # The other processes keep what they cached for at most TTL_SHARED_S.
            log.warning("could not announce changed tables %s: %s", sorted(changed), exc)

    @property
    def coherent(self) -> bool:
        """May a cache answer now? Not while Redis is used but this process cannot hear it."""
        return self.subscribed is None or self.subscribed.live

    @property
    def ttl(self) -> float:
        return TTL_SHARED_S if self.subscribed is not None or self.watched else TTL_ALONE_S

    def connect(self, redis_url: str | None) -> None:
        """Publish this process's commits on ``redis_url`` (None: this process only)."""
        # Short timeouts: the announcement runs while the transaction still holds its connection.
        self._redis = Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1) if redis_url else None
        if self._redis is not None:
            self.channel = CHANNEL + str(self._redis.connection_pool.connection_kwargs.get("db", 0))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


CHANGES = Changes()


class SqliteWatch:
    """One process on SQLite without Redis: another process's commit (the CLI) empties the caches.

    SQLite's ``PRAGMA data_version`` changes when any other connection committed to the file (this
    process's own commits are told directly); it is asked every ``WATCH_EVERY_S``.
    """

    def __init__(self, changes: Changes, connection: Any = None) -> None:
        self._changes = changes
        self._connection = connection  # a Tortoise SQLite client; the default connection when None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._changes.watched = True
        self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        self._changes.watched = False

    async def _run(self) -> None:
        conn = self._connection or connections.get("default")
        last = None
        while not self._stop.is_set():
            try:
                _, rows = await conn.execute_query(WATCH_QUERY)
                version = rows[0][0]
            except Exception as exc:  # what cannot be checked is not kept
                log.warning("cannot read SQLite's data_version: %s", exc)
                version = None
            if version is None or (last is not None and version != last):
                self._changes.heard(frozenset({EVERYTHING}))
            last = version
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), WATCH_EVERY_S)


class TrackWrites:
    """Mixed into a Tortoise client and its transaction wrapper: reports the tables each write touched.

    A transaction wrapper collects its tables (a nested one into the outermost) and reports them
    after its COMMIT; the client itself reports each statement once it ran.
    """

    _pending: set[str] | None = None

    def _root(self) -> TrackWrites | None:
        """The outermost transaction this client is part of, None outside any."""
        node: Any = self
        root = None
        while isinstance(node, TrackWrites) and isinstance(node, TransactionalDBClient):
            root = node
            node = getattr(node, "_parent", None)
        return root

    async def _wrote(self, sql: str) -> None:
        table = written(sql)
        if table is None:
            return
        root = self._root()
        if root is None:
            await CHANGES.committed((table,))
            return
        if root._pending is None:
            root._pending = set()
        root._pending.add(table)

    async def _committed(self) -> None:
        if self._root() is self and self._pending:
            tables, self._pending = self._pending, None
            await CHANGES.committed(tables)

    # Each statement is told about in ``finally``: a request cancelled while its statement runs (the
    # client hung up) may still have written, and a failed statement costs only a needless clear.

    async def execute_insert(self, query: str, values: list) -> Any:
        try:
            return await super().execute_insert(query, values)  # type: ignore[misc]
        finally:
            await self._wrote(query)

    async def execute_many(self, query: str, values: list) -> None:
        try:
            await super().execute_many(query, values)  # type: ignore[misc]
        finally:
            await self._wrote(query)

    async def execute_query(self, query: str, values: list | None = None) -> Any:
        try:
            return await super().execute_query(query, values)  # type: ignore[misc]
        finally:
            await self._wrote(query)

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        try:
            return await super().execute_query_dict(query, values)  # type: ignore[misc]
        finally:
            await self._wrote(query)

    async def execute_script(self, query: str) -> None:
        try:
            await super().execute_script(query)  # type: ignore[misc]
        finally:
            await self._wrote(query)

    async def commit(self) -> None:
        try:
            await super().commit()  # type: ignore[misc]
        finally:
            await self._committed()

    async def rollback(self) -> None:
        await super().rollback()  # type: ignore[misc]
        if self._root() is self:
            self._pending = None
