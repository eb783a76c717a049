"""Notices (通知) from staff to the people of an org subtree or a campaign, with read receipts.

Who receives one is decided when it is sent and written down (``NoticeRecipient``), in the
transaction that writes the notice and its audit entry:

- to an org: every member (volunteers and influencers, never staff, never erased accounts)
  whose org lies in that org's subtree
- to a campaign: its members enrolled in any of its tasks and not withdrawn, whatever their
  org (people from a neighbouring township who joined are the campaign's people too)

``roles`` narrows either to volunteers or influencers. Nobody matching is a 400 naming the
field that chose them. The subscribe message (event ``notice``) goes after commit, in batches.
An erased person's receipts are deleted with their account, the notice's ``recipients``
stays what it was when sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import fields
from tortoise.expressions import Q, Subquery
from tortoise.functions import Count
from tortoise.indexes import Index
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import record
from models.campaigns import Campaign, Enrollment
from models.notifications import thing_field, time_field
from models.orgs import Org
from models.users import MEMBER_ROLES, User
from server.kernel.clock import now_utc
from server.kernel.effects import AfterCommit
from server.kernel.errors import InvalidRequest, NotFound
from server.kernel.ids import is_id

TITLE_MAX = 64
CONTENT_MAX = 2000
ROLE_NAMES = {"volunteer": "志愿者", "influencer": "网络达人"}
# Rows per INSERT when recipients are written, and per round of subscribe messages.
BATCH = 500
NOBODY = "没有符合条件的接收人"


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


# -- sending ---------------------------------------------------------------------------------------


@dataclass
class NoticeDraft:
    title: str
    content: str
    org: Org
    campaign: Campaign | None = None
    roles: Sequence[str] | None = None


def _roles(roles: Sequence[str] | None) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(roles)) if roles else MEMBER_ROLES
    unknown = [r for r in wanted if r not in MEMBER_ROLES]
    if unknown:
        raise InvalidRequest.fields({"roles": "身份只能是：" + "、".join(f"{k}（{v}）" for k, v in ROLE_NAMES.items())})
    return wanted


async def audience(org: Org, campaign: Campaign | None, roles: Sequence[str] | None) -> list[int]:
    """The ids of the people a notice with these choices reaches, by id (one query)."""
    people = User.filter(role__in=_roles(roles), deleted_at__isnull=True)
    if campaign is not None:
        enrolled = Enrollment.filter(task__campaign_id=campaign.id).exclude(status="withdrawn")
        people = people.filter(id__in=Subquery(enrolled.values("user_id")))
    else:
        people = people.filter(org__path__startswith=org.path)
    return list(await people.order_by("id").values_list("id", flat=True))


async def send_notice(author: User, draft: NoticeDraft, after: AfterCommit) -> Notice:
    """Write the notice, its recipients (in batches) and its audit entry in one transaction,
    then queue the subscribe message."""
    if draft.campaign is not None and not draft.campaign.org.path.startswith(draft.org.path):
        raise InvalidRequest.fields({"campaign_id": "活动不属于所选的接收组织"})
    roles = _roles(draft.roles)
    async with in_transaction():
        people = await audience(draft.org, draft.campaign, roles)
        if not people:
            raise InvalidRequest.fields({"campaign_id" if draft.campaign is not None else "org_id": NOBODY}, NOBODY)
        notice = await Notice.create(
            title=draft.title,
            content=draft.content,
            org_id=draft.org.id,
            campaign_id=draft.campaign.id if draft.campaign is not None else None,
            roles=",".join(roles) if draft.roles else None,
            author_id=author.id,
            recipients=len(people),
        )
        await NoticeRecipient.bulk_create(
            [NoticeRecipient(notice_id=notice.id, user_id=uid) for uid in people], batch_size=BATCH
        )
        details: dict[str, Any] = {"title": notice.title, "recipients": len(people), "org_id": str(draft.org.id)}
        if draft.campaign is not None:
            details["campaign_id"] = str(draft.campaign.id)
        if notice.roles:
            details["roles"] = list(roles)
        await record(author, "notice", f"notice:{notice.id}", details)
    await after.notify("notify_notice", notice.id)
    notice.org = draft.org
    return notice


# -- reading ---------------------------------------------------------------------------------------


@dataclass
class Received:
    """A notice as one recipient has it."""

    notice: Notice
    read_at: datetime | None


async def get_notice(notice_id: int) -> Notice:
    found = Notice.filter(id=notice_id).select_related("org", "campaign", "author")
    notice = await found.first() if is_id(notice_id) else None
    if notice is None:
        raise NotFound("通知不存在")
    return notice


async def receipt(notice_id: int, user_id: int) -> NoticeRecipient | None:
    return await NoticeRecipient.get_or_none(notice_id=notice_id, user_id=user_id) if is_id(notice_id) else None


async def received_page(user_id: int, before_id: int | None, limit: int) -> list[Received]:
    """The person's notices, newest first, ``limit + 1`` rows (the cursor is the notice id)."""
    rows = NoticeRecipient.filter(user_id=user_id)
    if before_id is not None:
        rows = rows.filter(notice_id__lt=before_id)
    found = await rows.order_by("-notice_id").limit(limit + 1).select_related("notice__org")
    return [Received(r.notice, r.read_at) for r in found]


def sent_filter(scope_path: str | None) -> Q:
    """Notices to orgs inside the subtree at ``scope_path`` (None: all, for admins)."""
    return Q() if scope_path is None else Q(org__path__startswith=scope_path)


async def sent_page(scope_path: str | None, before_id: int | None, limit: int, offset: int = 0) -> list[Notice]:
    """Notices to orgs in the subtree, newest first, ``limit + 1`` rows, with their org."""
    rows = Notice.filter(sent_filter(scope_path))
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return await rows.order_by("-id").offset(offset).limit(limit + 1).select_related("org")


async def read_counts(notice_ids: Sequence[int]) -> dict[int, int]:
    """How many recipients read each notice (one query, notices nobody read left out)."""
    if not notice_ids:
        return {}
    grouped = (
        await NoticeRecipient.filter(notice_id__in=list(notice_ids), read_at__isnull=False)
        .annotate(n=Count("id"))
        .group_by("notice_id")
        .values("notice_id", "n")
    )
    return {row["notice_id"]: row["n"] for row in grouped}


async def unread_count(user_id: int) -> int:
    """Notices the person has not read: one count on the (user, read_at) index."""
    return await NoticeRecipient.filter(user_id=user_id, read_at__isnull=True).count()


async def mark_read(notice_id: int, user_id: int) -> bool:
    """Mark the person's copy read (the first time only), or answer False when they did not receive it."""
    if not is_id(notice_id):
        return False
    if await NoticeRecipient.filter(notice_id=notice_id, user_id=user_id, read_at__isnull=True).update(
        read_at=now_utc()
    ):
        return True
    return await NoticeRecipient.exists(notice_id=notice_id, user_id=user_id)


async def unread_people(notice_id: int, offset: int, limit: int) -> list[User]:
    """Recipients who have not read the notice, in the order they were written, with their org (``limit + 1``)."""
    rows = (
        await NoticeRecipient.filter(notice_id=notice_id, read_at__isnull=True)
        .order_by("id")
        .offset(offset)
        .limit(limit + 1)
        .select_related("user__org")
    )
    return [r.user for r in rows]


# -- the subscribe message -------------------------------------------------------------------------


def notice_message(notice: Notice) -> tuple[dict[str, Any], str]:
    """Template fields and page of a notice (needs its org)."""
    data = {
        "thing1": thing_field(notice.title),
        "thing2": thing_field(notice.org.name),
        "time3": time_field(notice.created_at),
    }
    return data, f"pages/notice/detail?id={notice.id}"


async def reachable_batches(notice_id: int, size: int = BATCH) -> list[list[int]]:
    """The recipients WeChat can be asked to reach (not erased), in batches of ``size`` (one query)."""
    ids = list(
        await NoticeRecipient.filter(notice_id=notice_id, user__openid__isnull=False)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    return [ids[i : i + size] for i in range(0, len(ids), size)]


# -- personal data ---------------------------------------------------------------------------------


async def notices_of(user_id: int) -> list[dict[str, Any]]:
    """The person's notices for their export: what they were sent and when they read it (one query)."""
    rows = await NoticeRecipient.filter(user_id=user_id).order_by("notice_id").select_related("notice__org")
    return [
        {
            "id": str(r.notice_id),
            "title": r.notice.title,
            "content": r.notice.content,
            "org": r.notice.org.name,
            "sent_at": r.notice.created_at.isoformat(),
            "read_at": r.read_at.isoformat() if r.read_at else None,
        }
        for r in rows
    ]


async def forget_notices(user_id: int) -> None:
    """An erased person's receipts go (the notices, and the count they were sent to, stay)."""
    await NoticeRecipient.filter(user_id=user_id).delete()
