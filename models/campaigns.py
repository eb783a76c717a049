"""Campaigns (活动) and their tasks (任务)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.orgs import Org
from models.users import User

CAMPAIGN_KINDS = ("village_visit", "hometown_showcase", "law_outreach", "positive_content", "clue_report")
CAMPAIGN_STATUSES = ("draft", "published", "closed")
TASK_STATUSES = ("open", "ended", "cancelled")


class Campaign(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    kind = fields.CharField(max_length=32)
    description = fields.TextField(default="")
    org: fields.ForeignKeyRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="campaigns", on_delete=fields.RESTRICT
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    cover_media_id = fields.CharField(max_length=64, null=True)
    cover_key = fields.CharField(max_length=40, null=True)  # storage stem of the cover, see User.avatar_key
    status = fields.CharField(max_length=16, default="draft", db_index=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="campaigns_created", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    published_at = fields.DatetimeField(null=True)

    org_id: int

    class Meta:
        table = "campaigns"


class Task(Model):
    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="tasks", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField(db_index=True)
    quota = fields.IntField(null=True)
    # Kept in step with active enrollments inside the same transaction; the
    # conditional update on it is what holds the quota under concurrency.
    enrolled_count = fields.IntField(default=0)
    points = fields.IntField(default=0)
    service_hours = fields.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0"))
    min_photos = fields.IntField(default=1)
    max_photos = fields.IntField(default=9)
    location_name = fields.CharField(max_length=100, null=True)
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    radius_m = fields.IntField(null=True)
    checkin_required = fields.BooleanField(default=False)
    # Audience as delimited strings (",volunteer," and "|/1/4/|") so the feed
    # can filter with LIKE in SQL on both SQLite and PostgreSQL.
    audience_roles = fields.CharField(max_length=100, null=True)
    audience_org_paths = fields.TextField(null=True)
    audience_org_ids = fields.CharField(max_length=255, null=True)
    cancelled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    campaign_id: int

    class Meta:
        table = "tasks"

    def status_at(self, now: datetime) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        if now >= self.ends_at or self.campaign.status == "closed":
            return "ended"
        return "open"


class Enrollment(Model):
    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="enrollments", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="enrollments", on_delete=fields.CASCADE
    )
    status = fields.CharField(max_length=16, default="enrolled")
    enrolled_at = fields.DatetimeField()
    checked_in_at = fields.DatetimeField(null=True)
    checkin_method = fields.CharField(max_length=8, null=True)
    checkin_lat = fields.FloatField(null=True)
    checkin_lng = fields.FloatField(null=True)
    checkin_distance_m = fields.IntField(null=True)

    task_id: int
    user_id: int

    class Meta:
        table = "enrollments"
        unique_together = (("task", "user"),)
        # A person's own list (the feed's mine=1): the unique index leads with the task.
        indexes = (Index(fields=("user_id",)),)
