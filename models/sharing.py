"""Share links and the opens they bring, attributed on the server.

A person sharing a task gets a ref (``POST /share-links``) that the mini-program puts in the
share card's path; whoever opens the card sends it back (``POST /share-opens``). An open counts
once per opener and link, never for the sharer themself. WeChat no longer tells who shared, so
sharing earns nothing; opens may earn the sharer the task's ``online.share_points`` each, up to
``online.share_daily_cap`` a day.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from decimal import Decimal

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.campaigns import Task
from models.ledger import LedgerEntry, write_entry
from models.users import User
from server.kernel.clock import local_day, now_utc
from server.kernel.effects import AfterCommit
from server.kernel.errors import ApiError
from server.kernel.ids import is_id


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


class BadRef(ApiError):
    status, code, message = 400, "bad_ref", "分享链接无效"


def ref_for(link_id: int, key: bytes) -> str:
    """The token a share card carries: the link's id and a truncated HMAC of it (about 34 characters)."""
    return f"{link_id}.{_ref_sig(link_id, key)}"


def _ref_sig(link_id: int, key: bytes) -> str:
    digest = hmac.new(key, f"share:{link_id}".encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).decode()[:22]


def link_of_ref(ref: str, key: bytes) -> int:
    """The ShareLink id a ref names; 400 ``bad_ref`` unless it was signed with ``key``."""
    head, _, sig = ref.partition(".")
    if not head.isascii() or not head.isdigit() or not is_id(int(head)):
        raise BadRef()
    link_id = int(head)
    if not hmac.compare_digest(sig.encode(), _ref_sig(link_id, key).encode()):
        raise BadRef()
    return link_id


async def share_link(task: Task, user: User) -> ShareLink:
    """The person's link for the task, made on their first share and reused after.

    Two first shares racing: the unique (task, user) index lets one insert, the other reads it."""
    link = await ShareLink.get_or_none(task_id=task.id, user_id=user.id)
    if link is not None:
        return link
    try:
        return await ShareLink.create(task_id=task.id, user_id=user.id)
    except IntegrityError:
        return await ShareLink.get(task_id=task.id, user_id=user.id)


async def record_open(link_id: int, opener: User, after: AfterCommit) -> ShareOpen | None:
    """Count an open of a shared card, once per opener and link, never by the sharer.

    Returns the new open, or None when nothing was counted (the sharer, or a repeat). When the
    task pays for opens (``online.share_points``), the sharer earns them for at most
    ``online.share_daily_cap`` opens of this link a local day; later opens are counted unpaid.
    The cap is held by the ledger's unique ``once_key``: the n-th paid open of a link on a day
    takes the key ``share:<link>:<day>:<n>``, so of two opens racing for one slot one commits
    and the other (the whole transaction: the open and its reward together) tries again.
    """
    link = await ShareLink.get_or_none(id=link_id).select_related("task", "user__org")
    if link is None:
        raise BadRef()
    if link.user_id == opener.id:
        return None
    online = link.task.online or {}
    points = int(online.get("share_points") or 0) if link.task.cancelled_at is None else 0
    cap = int(online.get("share_daily_cap") or 0)
    day = local_day(now_utc()).isoformat()
    # Each lost slot means another open took one, so after ``cap`` losses no reward is tried and
    # only a repeat by the same opener can fail: cap + 2 tries always settle.
    for _ in range(cap + 2):
        if await ShareOpen.exists(link_id=link.id, opener_id=opener.id):
            return None
        try:
            opened, entries = await _open_once(link, opener, day, points, cap)
        except IntegrityError:
            continue  # a repeat by the same opener (found above next time) or a lost reward slot
        await after.points_moved(entries)
        return opened
    return None


async def _open_once(
    link: ShareLink, opener: User, day: str, points: int, cap: int
) -> tuple[ShareOpen, list[LedgerEntry]]:
    async with in_transaction():
        opened = await ShareOpen.create(link_id=link.id, opener_id=opener.id, task_id=link.task_id, day=day)
        # The ledger, not the opens, counts the paid slots: it is append-only, so a slot once
        # taken stays taken even if the open that took it goes with its opener's account.
        slots = f"share:{link.id}:{day}:"
        paid = await LedgerEntry.filter(once_key__startswith=slots).count()
        if points <= 0 or paid >= cap:
            return opened, []
        entry = await write_entry(
            link.user,
            kind="award",
            points=points,
            hours=Decimal("0"),
            reason=f"分享的任务被打开：{link.task.title}",
            campaign_id=link.task.campaign_id,
            once_key=f"{slots}{paid}",
        )
        await ShareOpen.filter(id=opened.id).update(rewarded=True)
        opened.rewarded = True
        return opened, [entry]


async def share_stats(task_id: int) -> tuple[int, int]:
    """(links, opens) of a task: people who shared it and the opens counted for them."""
    return (
        await ShareLink.filter(task_id=task_id).count(),
        await ShareOpen.filter(task_id=task_id).count(),
    )
