"""Idempotency records: the first answer to a retried write, per person and key.

The rules of claiming a key and waiting for the first answer live in
``server.web.idempotency``; this is the table and how long its answers are kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from models.users import User

# How long a first answer is kept for replays: a phone retries within minutes, an app reopened the next
# days may still resend; after that the rows are only weight (the daily job removes them).
KEEP_ANSWERS = timedelta(days=7)
# A refusal is replayed to copies racing the first request; later retries run again.
KEEP_REFUSALS = timedelta(minutes=10)


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
