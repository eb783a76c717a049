"""Share links and the opens they bring, attributed on the server.

A person sharing a task gets a ref (``POST /share-links``) that the mini-program puts in the
share card's path; whoever opens the card sends it back (``POST /share-opens``). An open counts
once per opener and link, never for the sharer themself. WeChat no longer tells who shared, so
sharing earns nothing; opens may earn the sharer the task's ``online.share_points`` each, up to
``online.share_daily_cap`` a day.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.campaigns import Task
from models.users import User


class ShareLink(Model):
    """A person's share of a task: one per person and task, reused when they share again."""

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="share_links", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="share_links", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    task_id: int
    user_id: int

    class Meta:
        table = "share_links"
        unique_together = (("task", "user"),)


class ShareOpen(Model):
    """Someone other than the sharer opened a shared card: once per opener and link."""

    id = fields.IntField(primary_key=True)
    link: fields.ForeignKeyRelation[ShareLink] = fields.ForeignKeyField(
        "models.ShareLink", related_name="opens", on_delete=fields.CASCADE
    )
    opener: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="share_opens", on_delete=fields.CASCADE
    )
    task_id = fields.IntField(db_index=True)
    # The local day (Asia/Shanghai) of the open, for the sharer's daily cap.
    day = fields.CharField(max_length=10)
    rewarded = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    link_id: int
    opener_id: int

    class Meta:
        table = "share_opens"
        unique_together = (("link", "opener"),)
