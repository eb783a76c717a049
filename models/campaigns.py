"""Campaigns (活动) and their tasks (任务); the operations on campaigns that keep their invariants."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import record
from models.orgs import Org
from models.users import User
from server.kernel.clock import local_text, now_utc
from server.kernel.effects import AfterCommit
from server.kernel.errors import Conflict, InvalidRequest, NotFound
from server.kernel.ids import is_id

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
    # Check-out (签退) on site as well: service hours then come from the time between the two.
    checkout_required = fields.BooleanField(default=False)
    # Audience as delimited strings (",volunteer," and "|/1/4/|") so the feed
    # can filter with LIKE in SQL on both SQLite and PostgreSQL.
    audience_roles = fields.CharField(max_length=100, null=True)
    audience_org_paths = fields.TextField(null=True)
    audience_org_ids = fields.CharField(max_length=255, null=True)
    cancelled_at = fields.DatetimeField(null=True)
    # 网络普法: {"count", "tags", "types", "time_limit_s", "attempts_per_day", "pass_score", "points"}
    # or None (no quiz); see models.quiz.
    quiz = fields.JSONField(null=True)
    # Online work (网络传播): {"platforms", "require_link", "own_account", "reach_tiers": [{"views",
    # "points"}], "repost_bonus": {level: points}, "share_points", "share_daily_cap"} or None; see
    # models.submission_links and models.reach. An online task needs no location or check-in.
    online = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    campaign_id: int

    class Meta:
        table = "tasks"

    def status_at(self, now: datetime) -> str:
        return task_status(self.cancelled_at is not None, self.ends_at, self.campaign.status == "closed", now)


def task_status(cancelled: bool, ends_at: datetime | float, campaign_closed: bool, now: datetime | float) -> str:
    """A task's status at ``now``: cancelled, ended (its end passed, or its campaign closed) or open.

    ``ends_at`` and ``now`` are both datetimes or both POSIX timestamps (cheaper to compare).
    """
    if cancelled:
        return "cancelled"
    if campaign_closed or now >= ends_at:
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
    # Check-out (签退), by the check-in's rules; the reminder to check out is sent once.
    checked_out_at = fields.DatetimeField(null=True)
    checkout_method = fields.CharField(max_length=8, null=True)
    checkout_distance_m = fields.IntField(null=True)
    checkout_reminded_at = fields.DatetimeField(null=True)

    task_id: int
    user_id: int

    class Meta:
        table = "enrollments"
        unique_together = (("task", "user"),)
        # A person's own list (the feed's mine=1): the unique index leads with the task.
        indexes = (Index(fields=("user_id",)),)


async def campaigns_page(
    *,
    scope_path: str | None,
    drafts: bool,
    status: str | None,
    kind: str | None,
    org_path: str | None,
    before_id: int | None,
    limit: int,
) -> list[Campaign]:
    """Newest first, ``limit + 1`` rows (see ``server.kernel.pagination.split_page``), orgs joined.

    ``scope_path`` keeps staff to their subtree; without ``drafts`` only published and closed ones."""
    rows = Campaign.all().select_related("org")
    if scope_path is not None:
        rows = rows.filter(org__path__startswith=scope_path)
    if not drafts:
        rows = rows.exclude(status="draft")
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if org_path is not None:
        rows = rows.filter(org__path__startswith=org_path)
    if before_id:
        rows = rows.filter(id__lt=before_id)
    return await rows.order_by("-id").limit(limit + 1)


# -- operations ---------------------------------------------------------------


async def get_campaign(campaign_id: int) -> Campaign:
    campaign = await Campaign.get_or_none(id=campaign_id).select_related("org") if is_id(campaign_id) else None
    if campaign is None:
        raise NotFound("活动不存在")
    return campaign


def check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidRequest.fields({"ends_at": "结束时间必须晚于开始时间"})


async def create_campaign(data: dict[str, Any], org: Org, creator: User) -> Campaign:
    check_window(data["starts_at"], data["ends_at"])
    campaign = await Campaign.create(**data, org=org, created_by=creator, status="draft")
    campaign.org = org
    return campaign


async def update_campaign(campaign: Campaign, changes: dict[str, Any]) -> Campaign:
    if campaign.status == "closed":
        raise Conflict("活动已结束，不能修改")
    starts_at, ends_at = changes.get("starts_at", campaign.starts_at), changes.get("ends_at", campaign.ends_at)
    check_window(starts_at, ends_at)
    if "starts_at" in changes or "ends_at" in changes:
        await check_tasks_inside(campaign, starts_at, ends_at)
    if not changes:
        return campaign
    # Only the changed columns, and only while the campaign is still open: writing back the
    # whole row as it was read would undo a close (or publish) that committed meanwhile.
    if await Campaign.filter(id=campaign.id).exclude(status="closed").update(**changes, updated_at=now_utc()) != 1:
        raise Conflict("活动已结束，不能修改")
    return await get_campaign(campaign.id)


async def check_tasks_inside(campaign: Campaign, starts_at: datetime, ends_at: datetime) -> None:
    """New campaign dates must still hold every live task; a cancelled one takes nothing new, so it may lie outside."""
    live = Task.filter(campaign_id=campaign.id, cancelled_at__isnull=True)
    fields: dict[str, str] = {}
    early = await live.filter(starts_at__lt=starts_at).order_by("starts_at").first()
    if early is not None:
        fields["starts_at"] = f"活动开始时间不能晚于任务「{early.title}」的开始时间（{local_text(early.starts_at)}）"
    late = await live.filter(ends_at__gt=ends_at).order_by("-ends_at").first()
    if late is not None:
        fields["ends_at"] = f"活动结束时间不能早于任务「{late.title}」的结束时间（{local_text(late.ends_at)}）"
    if fields:
        raise InvalidRequest.fields(fields, "活动时间须覆盖其全部任务的时间")


def check_inside_campaign(campaign: Campaign, starts_at: datetime, ends_at: datetime) -> None:
    """A task runs within its campaign's dates."""
    fields: dict[str, str] = {}
    if starts_at < campaign.starts_at:
        fields["starts_at"] = f"任务开始时间不能早于活动开始时间（{local_text(campaign.starts_at)}）"
    if ends_at > campaign.ends_at:
        fields["ends_at"] = f"任务结束时间不能晚于活动结束时间（{local_text(campaign.ends_at)}）"
    if fields:
        raise InvalidRequest.fields(fields, "任务时间须在活动时间范围内")


async def set_campaign_status(campaign: Campaign, status: str) -> Campaign:
    """draft → published → closed; publishing twice is harmless, reopening is not allowed."""
    return (await _move(campaign, status))[0]


async def publish_campaign(campaign: Campaign, actor: User, after: AfterCommit) -> Campaign:
    """Make a draft visible, audited; whoever made the move tells the open tasks' audiences, once."""
    async with in_transaction():
        campaign, moved = await _move(campaign, "published")
        if moved:
            await record(actor, "publish", f"campaign:{campaign.id}", {"title": campaign.title})
    if moved:
        for task_id in await open_task_ids(campaign):
            await after.notify("notify_task_new", task_id)
    return campaign


async def close_campaign(campaign: Campaign, actor: User) -> Campaign:
    """Close a campaign (its tasks take no new enrollments), audited by whoever closed it."""
    async with in_transaction():
        campaign, moved = await _move(campaign, "closed")
        if moved:
            await record(actor, "close", f"campaign:{campaign.id}", {"title": campaign.title})
    return campaign


async def _move(campaign: Campaign, status: str) -> tuple[Campaign, bool]:
    """The campaign at ``status``, and whether this call moved it there."""
    order = {"draft": 0, "published": 1, "closed": 2}
    if order[status] < order[campaign.status]:
        raise Conflict("活动状态不能回退")
    if status == campaign.status:
        return campaign, False
    updates: dict[str, Any] = {"status": status}
    if status == "published":
        updates["published_at"] = now_utc()
    # Only from an earlier status as stored now: the row read may be stale, and publishing it
    # must not reopen a campaign closed meanwhile.
    earlier = [s for s, rank in order.items() if rank < order[status]]
    if await Campaign.filter(id=campaign.id, status__in=earlier).update(**updates) != 1:
        stored = await get_campaign(campaign.id)
        if stored.status != status:
            raise Conflict("活动状态不能回退")
        return stored, False  # someone else made the same move first
    campaign.update_from_dict(updates)
    return campaign, True


async def open_task_ids(campaign: Campaign) -> list[int]:
    """Tasks of the campaign that have not ended or been cancelled."""
    rows = Task.filter(campaign_id=campaign.id, cancelled_at__isnull=True, ends_at__gt=now_utc())
    return list(await rows.values_list("id", flat=True))
