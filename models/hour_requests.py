"""Make-up requests for service hours (补录): times, a note and proof photos, reviewed by staff."""

from __future__ import annotations

from decimal import Decimal

from tortoise import fields
from tortoise.models import Model

from models.campaigns import Task
from models.media import Media
from models.users import User

HOUR_REQUEST_STATUSES = ("pending", "approved", "rejected")
MAX_PHOTOS = 3


class HourRequest(Model):
    """One person's claim of hours served on a task that no check-in and check-out recorded.

    ``open_key`` ("<task>:<user>") is set while the request is pending and cleared when it is
    reviewed: unique, so a person has at most one open request per task under any concurrency.
    """

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="hour_requests", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="hour_requests", on_delete=fields.CASCADE
    )
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField()
    # The hours the times come to (rounded down to the half hour, capped by the task's hours).
    hours = fields.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0"))
    note = fields.CharField(max_length=200, default="")
    status = fields.CharField(max_length=16, default="pending", db_index=True)
    open_key = fields.CharField(max_length=32, null=True, unique=True)
    # The reviewer's reason, the hours and points the approval wrote to the ledger.
    reason = fields.CharField(max_length=200, null=True)
    awarded_hours = fields.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0"))
    awarded_points = fields.IntField(default=0)
    reviewed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="hour_reviews", null=True, on_delete=fields.SET_NULL
    )
    reviewed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    task_id: int
    user_id: int
    reviewed_by_id: int | None

    class Meta:
        table = "hour_requests"


class HourRequestMedia(Model):
    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[HourRequest] = fields.ForeignKeyField(
        "models.HourRequest", related_name="photos", on_delete=fields.CASCADE
    )
    media: fields.ForeignKeyRelation[Media] = fields.ForeignKeyField(
        "models.Media", related_name="hour_request_uses", on_delete=fields.RESTRICT
    )
    position = fields.IntField()

    request_id: int
    media_id: int

    class Meta:
        table = "hour_request_media"


def open_key(task_id: int, user_id: int) -> str:
    return f"{task_id}:{user_id}"


def once_key(request_id: int) -> str:
    """The ledger's hold on an approval: written once whatever retries or races happen."""
    return f"hour_request:{request_id}"
