"""Idempotency records: the first answer to a retried write, per person and key.

The rules (claiming a key, waiting for the first answer, how long answers are kept)
live in ``server.web.idempotency``; this is only the table.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.users import User


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
