"""The points ledger: append-only, the truth every total and ranking is computed from."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.expressions import F
from tortoise.indexes import Index
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import record
from models.users import User

LEDGER_KINDS = ("award", "reversal")
# Credit hours (信用时长) come from the person's own check-in and check-out or an approved make-up
# request and may carry points; honour hours (荣誉时长) are granted by an admin and carry none.
HOURS_KINDS = ("credit", "honour")


class LedgerEntry(Model):
    """Points and service hours given (award) or taken back (reversal), never edited or deleted.

    At most one award and one reversal per submission, held by a unique index: a retried,
    double-clicked or raced approval cannot award twice.
    """

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="ledger", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=16)
    points = fields.IntField()
    service_hours = fields.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    reason = fields.CharField(max_length=200)
    submission_id = fields.IntField(null=True)
    campaign_id = fields.IntField(null=True, db_index=True)
    # The person's org when the entry was made, and its path: org rankings add up
    # where people were when they earned, so moving later does not rewrite history.
    org_id = fields.IntField(null=True)
    org_path = fields.CharField(max_length=255, default="", db_index=True)
    # An award that may happen once only, when it is not tied to a submission: a quiz's points,
    # once per person, task and day ("quiz:<task>:<user>:<YYYY-MM-DD>"). Unique: a raced or
    # retried finish cannot award twice.
    once_key = fields.CharField(max_length=64, null=True, unique=True)
    # A bonus earned by a submission besides its approval (a reach tier, an official repost):
    # the submission, with ``submission_id`` left NULL since that names the approval's own award.
    bonus_of = fields.IntField(null=True)
    hours_kind = fields.CharField(max_length=8, default="credit")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    user_id: int

    class Meta:
        table = "ledger_entries"
        unique_together = (("submission_id", "kind"),)
        # Declared here, not as db_index on the field: a migration's AddField does not create that one.
        indexes = (Index(fields=("bonus_of",)),)


async def write_entry(
    user: User,
    *,
    kind: str,
    points: int,
    hours: Decimal,
    reason: str,
    hours_kind: str = "credit",
    **links: Any,
) -> LedgerEntry:
    """One entry and the person's totals, inside the caller's transaction.

    The entry remembers where ``user`` (with their org) was when they earned; ``links`` are
    ``submission_id``, ``campaign_id`` and ``once_key`` as the award has them. The unique
    indexes (submission and kind, once_key) raise IntegrityError for a second award. Honour
    hours carry no points."""
    if hours_kind not in HOURS_KINDS or (hours_kind == "honour" and points):
        raise ValueError(f"bad ledger entry: {hours_kind} hours with {points} points")
    entry = await LedgerEntry.create(
        user_id=user.id,
        kind=kind,
        points=points,
        service_hours=hours,
        reason=reason[:200],
        hours_kind=hours_kind,
        org_id=user.org_id,
        org_path=user.org.path if user.org_id and user.org else "",
        **links,
    )
    totals: dict[str, Any] = {"points": F("points") + points, "service_hours": F("service_hours") + hours}
    if hours_kind == "honour":
        totals["honour_hours"] = F("honour_hours") + hours
    await User.filter(id=user.id).update(**totals)
    return entry


async def ledger_page(user_id: int, before_id: int | None, limit: int) -> list[LedgerEntry]:
    """A person's entries, newest first, ``limit + 1`` of them (see ``server.kernel.pagination.split_page``)."""
    rows = LedgerEntry.filter(user_id=user_id)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return await rows.order_by("-id").limit(limit + 1)


HONOUR_REASON_PREFIX = "荣誉时长："


async def grant_honour_hours(actor: User, target: User, hours: Decimal, reason: str) -> LedgerEntry:
    """An admin's grant of honour hours (荣誉时长) to ``target``: the ledger entry, the person's
    totals and the audit entry in one transaction. No points, so rankings do not move."""
    async with in_transaction():
        entry = await write_entry(
            target,
            kind="award",
            points=0,
            hours=hours,
            reason=f"{HONOUR_REASON_PREFIX}{reason}",
            hours_kind="honour",
        )
        details = {"hours": format(hours, "f"), "reason": reason, "entry_id": entry.id}
        await record(actor, "honour_hours", f"user:{target.id}", details)
    return entry
