"""The PostgreSQL client: Tortoise's asyncpg backend with a transaction context that survives a lost connection,
and each commit's tables told to the caches (``server.runtime.changes``).

Tortoise's pooled transaction context sets the task's current connection before ``BEGIN`` and
resets it only after the connection went back to the pool. When ``BEGIN`` fails (a connection that
died in the pool) or the release fails (the connection dropped right after ``COMMIT``), the reset
never runs: the dead connection stays current for the rest of the task. Sanic serves every request
of a keep-alive HTTP connection in one task, so every later request on it failed until the client
reconnected. Here the reset always runs, and a release that fails after a good ``COMMIT`` does not
turn a committed write into an error (asyncpg has already dropped that connection).

Chosen with Tortoise's ``engine`` setting (``server.runtime.db.tortoise_config``); the module exposes
``client_class`` as an engine must.
"""

from __future__ import annotations

import logging
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext, TransactionContextPooled
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

from server.runtime.changes import TrackWrites
from server.runtime.db import describe

log = logging.getLogger("wenming.db")


class ResettingTransactionContext(TransactionContextPooled):
    """Tortoise's pooled transaction, with the current connection reset and released on every path."""

    async def __aenter__(self) -> TransactionWrapper:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            # __aexit__ will not run: undo what __aenter__ did.
            get_connections().reset(self.token)
            await self._release(failed=True)
            raise
        return self.client

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        ended = False
        try:
            if not self.client._finalized:
                if exc_type is None:
                    await self.client.commit()
                elif exc_type is not TransactionManagementError:
                    await self.client.rollback()
            ended = exc_type is None
        finally:
            get_connections().reset(self.token)
            await self._release(failed=not ended)

    async def _release(self, *, failed: bool) -> None:
        pool = self.client._parent._pool
        if pool is None:
            return
        try:
            await pool.release(self.client._connection)
        except Exception as exc:
            # asyncpg terminated the connection; the pool opens a new one when next needed.
            if failed:
                return  # the block's own error is the one to report
            log.warning("database connection lost after the transaction ended: %s", describe(exc))


class TrackedTransaction(TrackWrites, TransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(TrackedTransaction(self))


class ResilientAsyncpgClient(TrackWrites, AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return ResettingTransactionContext(TrackedTransaction(self), self._pool_init_lock)


client_class = ResilientAsyncpgClient
