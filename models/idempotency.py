"""Idempotency records: the first answer to a retried write, per person and key.

The rules of claiming a key and waiting for the first answer live in
``server.web.idempotency``; this is the table, how long its answers are kept, and
the mark a write leaves on its key inside its own transaction.

The answer is recorded after the work commits; the database can go away in
between. So a write that a client may retry calls :func:`work_committed` inside
its transaction: its key is then marked done with the work, atomically, and a
retry whose answer was lost runs again *resuming* (:func:`resuming`): the write
finds its work done and answers as it did, instead of refusing it as a second try.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from models.users import User
from server.kernel.clock import now_utc

# How long a first answer is kept for replays: a phone retries within minutes, an app reopened the next
# days may still resend; after that the rows are only weight (the daily job removes them).
KEEP_ANSWERS = timedelta(days=7)
# A refusal is replayed to copies racing the first request; later retries run again.
KEEP_REFUSALS = timedelta(minutes=10)
# The status of a claim whose work committed while its answer is not recorded yet.
COMMITTED = 0

_claim: ContextVar[int | None] = ContextVar("idempotency_claim", default=None)
_resuming: ContextVar[bool] = ContextVar("idempotency_resuming", default=False)


class IdempotencyRecord(Model):
    """The first answer to a retried write, replayed for the same user and key."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="idempotency_records", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=64)
    route = fields.CharField(max_length=200)
    status = fields.IntField(null=True)  # null while the first request is still running
    body = fields.BinaryField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "idempotency_records"
        unique_together = (("user", "key"),)


async def purge_answers(now: datetime) -> int:
    """Forget answers older than :data:`KEEP_ANSWERS`, refusals older than :data:`KEEP_REFUSALS`; how many went."""
    old = Q(created_at__lt=now - KEEP_ANSWERS) | Q(status__gte=400, created_at__lt=now - KEEP_REFUSALS)
    return await IdempotencyRecord.filter(old).delete()


@contextmanager
def acting_for(claim_id: int, *, resuming: bool) -> Iterator[None]:
    """While a request runs under its claimed key (set by ``server.web.idempotency``)."""
    claim, again = _claim.set(claim_id), _resuming.set(resuming)
    try:
        yield
    finally:
        _claim.reset(claim)
        _resuming.reset(again)


async def work_committed() -> None:
    """Inside the transaction of a retriable write: its key is marked done together with the work."""
    claim = _claim.get()
    if claim is not None:
        await IdempotencyRecord.filter(id=claim, status=None).update(status=COMMITTED, created_at=now_utc())


def resuming() -> bool:
    """True while a retry runs for a key whose work committed but whose answer was lost."""
    return _resuming.get()
