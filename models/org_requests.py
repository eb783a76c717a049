"""Which org a member belongs to: chosen freely once, then changed only with the target org's consent.

A member's org decides which tasks they may join and where their points and report rows count.
Were it theirs to change at will, a volunteer could step into another township, enroll in a task
meant for it and step back. So after the first choice a change is a request: the old org counts
everywhere until staff of the requested org (or an admin) approve it.

    pending ──approve──▶ approved (the person moves)
    pending ──refuse───▶ refused
    pending ──the person asks for another org, stays, or is erased──▶ cancelled
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import record
from models.orgs import Org, find_org
from models.users import MEMBER_ROLES, User
from server.kernel.clock import now_utc
from server.kernel.errors import Conflict, InvalidRequest, NotFound

ORG_REQUEST_STATUSES = ("pending", "approved", "refused", "cancelled")


class OrgRequestDecided(Conflict):
    code, message = "org_request_decided", "该组织变更申请已处理或已撤回"


class OrgRequestPending(Conflict):
    code, message = "org_request_pending", "您的组织变更申请正在提交，请稍后再试"


class OrgChangeRequest(Model):
    """A member's request to move to another org, decided by staff of that org."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="org_requests", on_delete=fields.CASCADE
    )
    from_org: fields.ForeignKeyNullableRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="org_requests_out", null=True, on_delete=fields.SET_NULL
    )
    to_org: fields.ForeignKeyRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="org_requests_in", on_delete=fields.RESTRICT
    )
    status = fields.CharField(max_length=16, default="pending", db_index=True)
    # The person's id while pending, NULL after: the unique index keeps one open request per
    # person whatever races (as Submission.live_key does for evidence).
    pending_user_id = fields.IntField(null=True, unique=True)
    reason = fields.CharField(max_length=200, null=True)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="org_decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int
    from_org_id: int | None
    to_org_id: int
    decided_by_id: int | None

    class Meta:
        table = "org_change_requests"


async def choose_org(user: User, org_id: int | None) -> None:
    """The person's own choice of org (PATCH /me): applied at once the first time, or for
    anyone but a member; otherwise it opens (or replaces) a request, or withdraws it when the
    choice is the org they are in. ``user`` is updated in place."""
    org = await find_org(org_id) if org_id is not None else None
    if org_id is not None and org is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    if user.role not in MEMBER_ROLES:
        await _set_org(user, org)
        return
    if user.org_id is None:
        if org is None:
            return
        # Conditional: of two first choices racing, one is the choice and the other a request.
        if await User.filter(id=user.id, org_id__isnull=True).update(org_id=org.id) == 1:
            user.org, user.org_id = org, org.id
            return
        await user.refresh_from_db(fields=["org_id"])
    if org is None:
        raise InvalidRequest.fields({"org_id": "已选择的组织不能清空；如需变更，请选择新的组织并等待审核"})
    current = await pending_request(user.id)
    if current is not None and current.to_org_id == org.id:
        return  # asked again (a retry, a second tap): the request stands as it is
    async with in_transaction():
        replaced = await _cancel_pending(user.id)
        if org.id != user.org_id:
            try:
                request = await OrgChangeRequest.create(
                    user_id=user.id, from_org_id=user.org_id, to_org_id=org.id, pending_user_id=user.id
                )
            except IntegrityError:
                raise OrgRequestPending() from None  # the same person's concurrent request won
            details = {"request_id": str(request.id), **_move(user.org_id, org.id), "replaces": replaced}
            await record(user, "org_change_request", f"user:{user.id}", details)
        elif replaced:
            await record(user, "org_change_cancel", f"user:{user.id}", {"request_id": replaced})


async def _set_org(user: User, org: Org | None) -> None:
    await User.filter(id=user.id).update(org_id=org.id if org else None)
    user.org, user.org_id = org, org.id if org else None


async def _cancel_pending(user_id: int) -> str | None:
    """Withdraw the person's open request, if any; returns its id."""
    pending = await OrgChangeRequest.filter(pending_user_id=user_id).first().values_list("id", flat=True)
    if pending is None:
        return None
    await OrgChangeRequest.filter(id=pending, status="pending").update(status="cancelled", pending_user_id=None)
    return str(pending)


async def cancel_pending_request(user_id: int) -> None:
    """For erasure: nobody is left to move (the caller owns the transaction)."""
    await _cancel_pending(user_id)


async def pending_request(user_id: int) -> OrgChangeRequest | None:
    return await OrgChangeRequest.get_or_none(pending_user_id=user_id).select_related("to_org")


async def org_requests_page(
    *, scope_path: str | None, status: str | None, before_id: int | None, limit: int
) -> list[OrgChangeRequest]:
    """Requests into ``scope_path``'s subtree (None: everywhere), newest first, ``limit + 1`` rows, one query."""
    rows = OrgChangeRequest.all()
    if scope_path is not None:
        rows = rows.filter(to_org__path__startswith=scope_path)
    if status is not None:
        rows = rows.filter(status=status)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return (
        await rows.select_related("user__org", "from_org", "to_org", "decided_by__org").order_by("-id").limit(limit + 1)
    )


async def decide(
    request_id: int, staff: User, scope_path: str | None, *, approve: bool, reason: str | None
) -> OrgChangeRequest:
    """Approve (the person moves) or refuse (with a reason) a request into the staff member's subtree.

    The decision, the move and the audit entry commit together; of two staff deciding at
    once, the conditional update lets exactly one through.
    """
    reason = (reason or "").strip() or None
    request = await OrgChangeRequest.get_or_none(id=request_id).select_related("to_org")
    if request is None or (scope_path is not None and not request.to_org.path.startswith(scope_path)):
        raise NotFound("组织变更申请不存在")
    if not approve and reason is None:
        raise InvalidRequest.fields({"reason": "拒绝须说明原因"})
    status = "approved" if approve else "refused"
    async with in_transaction():
        decided = await OrgChangeRequest.filter(id=request.id, status="pending").update(
            status=status, pending_user_id=None, reason=reason, decided_by_id=staff.id, decided_at=now_utc()
        )
        if decided != 1:
            raise OrgRequestDecided()
        if approve:
            moved = await User.filter(id=request.user_id, role__in=MEMBER_ROLES, deleted_at__isnull=True).update(
                org_id=request.to_org_id
            )
            if moved != 1:  # made staff meanwhile: a staff member's org is an admin's call
                raise Conflict("该用户已不是志愿者或网络达人，不能按申请变更组织")
        details = {"request_id": str(request.id), **_move(request.from_org_id, request.to_org_id), "reason": reason}
        await record(staff, f"org_change_{'approve' if approve else 'refuse'}", f"user:{request.user_id}", details)
    (fresh,) = await OrgChangeRequest.filter(id=request.id).select_related(
        "user__org", "from_org", "to_org", "decided_by__org"
    )
    return fresh


def _move(from_org_id: int | None, to_org_id: int) -> dict[str, Any]:
    return {"from_org_id": str(from_org_id) if from_org_id else None, "to_org_id": str(to_org_id)}


async def requests_of(user_id: int) -> list[OrgChangeRequest]:
    """A person's own requests, for their export."""
    return await OrgChangeRequest.filter(user_id=user_id).order_by("id")
