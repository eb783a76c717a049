"""Notices (通知) from staff to the people of an org subtree or a campaign, with read receipts."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.campaigns import Campaign
from models.orgs import Org
from models.users import User


class Notice(Model):
    """What staff wrote and to whom: the org subtree, or a campaign's enrolled people, optionally some roles.

    The recipients are fixed when it is sent (``NoticeRecipient``): people who join later do not
    receive an old notice, and read counts have a fixed denominator.
    """

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=64)
    content = fields.TextField()
    org: fields.ForeignKeyRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="notices", on_delete=fields.RESTRICT
    )
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="notices", null=True, on_delete=fields.RESTRICT
    )
    # The roles it is for ("volunteer,influencer"), or None for everyone reached.
    roles = fields.CharField(max_length=64, null=True)
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notices_written", null=True, on_delete=fields.SET_NULL
    )
    recipients = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    org_id: int
    campaign_id: int | None
    author_id: int | None

    class Meta:
        table = "notices"


class NoticeRecipient(Model):
    id = fields.IntField(primary_key=True)
    notice: fields.ForeignKeyRelation[Notice] = fields.ForeignKeyField(
        "models.Notice", related_name="deliveries", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notices", on_delete=fields.CASCADE
    )
    read_at = fields.DatetimeField(null=True)

    notice_id: int
    user_id: int

    class Meta:
        table = "notice_recipients"
        unique_together = (("notice", "user"),)
        # A person's list and unread count lead with the person.
        indexes = (Index(fields=("user_id", "read_at")),)
