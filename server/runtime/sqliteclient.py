"""The SQLite client: Tortoise's, with each commit's tables told to the caches (``server.runtime.changes``).

Chosen with Tortoise's ``engine`` setting (``server.runtime.db.tortoise_config``); the module exposes
``client_class`` as an engine must.
"""

from __future__ import annotations

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper

from server.runtime.changes import TrackWrites


class TrackedSqliteTransaction(TrackWrites, SqliteTransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(TrackedSqliteTransaction(self))


class TrackedSqliteClient(TrackWrites, SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(TrackedSqliteTransaction(self), self._lock)


client_class = TrackedSqliteClient
