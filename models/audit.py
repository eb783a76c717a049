"""The audit log: which staff member did what, when (publish, review, role change, export, org changes)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.users import User

ACTIONS = (
    "publish",
    "close",
    "cancel",
    "review",
    "role_change",
    "export",
    "roster_import",
    "org_import",
    "org_rename",
    # A member's org change (models.org_requests): asked and withdrawn by the member, decided by staff.
    "org_change_request",
    "org_change_cancel",
    "org_change_approve",
    "org_change_refuse",
    # The question bank (models.question_bank).
    "question_create",
    "question_update",
    "question_retire",
    "question_import",
    # Platform accounts (models.accounts): verified or rejected by staff.
    "account_verify",
    "account_reject",
    # Online work (models.reach): a staff correction of reach, an official repost's bonus.
    "reach_correct",
    "repost",
    # The working-day calendar (models.calendar): a year's holidays and make-up workdays replaced.
    "calendar_update",
    # Notices (models.notices): a staff member wrote to an org subtree or a campaign's people.
    "notice",
    # Make-up requests for service hours (models.makeup): approved or rejected by staff.
    "hour_request_review",
    # Service hours and certificates: an admin's grant of honour hours, an org's certificate signer set.
    "honour_hours",
    "org_certificate",
)

# Who may read the log (the API's route and the console's page).
AUDIT_ROLES = ("admin",)


class AuditEntry(Model):
    """One staff action, append-only."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=32, db_index=True)
    target = fields.CharField(max_length=100)
    details = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    actor_id: int | None

    class Meta:
        table = "audit_entries"


async def record(actor: User | None, action: str, target: str, details: dict[str, Any] | None = None) -> None:
    await AuditEntry.create(actor_id=actor.id if actor else None, action=action, target=target, details=details or {})


async def audit_page(
    *,
    actor_id: int | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
    action: str | None = None,
) -> list[AuditEntry]:
    """Newest first, ``limit + 1`` rows (see ``server.kernel.pagination.split_page``)."""
    rows = AuditEntry.all().select_related("actor__org")
    if actor_id is not None:
        rows = rows.filter(actor_id=actor_id)
    if action is not None:
        rows = rows.filter(action=action)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return await rows.order_by("-id").limit(limit + 1)
