"""Staff views of people: list within one's subtree, grant roles, move orgs."""

from __future__ import annotations

import asyncio
import re

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import UserList, UserQuery, UserRead, UserUpdate
from media.spreadsheets import NotASpreadsheet, read_rows
from models.audit import record
from models.orgs import org_path
from models.roster import RosterError, columns_of, import_roster, roster_secrets
from models.users import STAFF_ROLES, User, list_users, update_profile
from server.kernel.errors import Forbidden, InvalidRequest, NotFound, PayloadTooLarge, RateLimited, RequestTimeout
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.auth import staff_scope
from server.web.endpoint import endpoint, json_response
from server.web.multipart import discard

bp = Blueprint("users", url_prefix="/users")
PHONE = re.compile(r"^1\d{10}$")
# What staff (not admins) may grant: 网络大V/达人 status, and take it back.
STAFF_GRANTABLE = frozenset({"volunteer", "influencer"})


@bp.get("")
@endpoint(summary="人员列表", roles=STAFF_ROLES, query=UserQuery, response=UserList, tag="users")
async def get_users(request: Request, user: User, query: UserQuery) -> HTTPResponse:
    """People in the caller's org subtree; `q` matches nickname, or a full phone number exactly."""
    scope = staff_scope(user)
    before_id = decode_id_cursor(query.cursor)
    path = await org_path(int(query.org_id)) if query.org_id else None
    if query.org_id and path is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    if scope is not None and path is not None and not path.startswith(scope.path):
        # As the reports do: asking for another township's people is refused, not answered empty.
        raise Forbidden("只能查看本组织及下级组织的人员")
    phone_hash = request.app.ctx.vault.lookup_hash(query.q) if query.q and PHONE.match(query.q) else None
    rows = await list_users(
        scope_path=scope.path if scope else None,
        org_path=path,
        role=query.role,
        q=query.q,
        phone_hash=phone_hash,
        before_id=before_id,
        limit=query.limit + 1,
    )
    rows, next_cursor = split_page(rows, query.limit)
    return json_response(
        {
            "items": [UserRead.of(u, request.app.ctx.storage).model_dump(mode="json") for u in rows],
            "next_cursor": next_cursor,
        }
    )


@bp.patch("/<user_id:id>")
@endpoint(
    summary="调整人员角色或组织",
    roles=STAFF_ROLES,
    body=UserUpdate,
    response=UserRead,
    errors=(NotFound,),
    tag="users",
)
async def patch_user(request: Request, user_id: int, user: User, body: UserUpdate) -> HTTPResponse:
    """Admins set any role and org; staff switch volunteer↔influencer and move people inside their subtree."""
    scope = staff_scope(user)
    target = await User.get_or_none(id=user_id).select_related("org")
    if target is None or (scope and not (target.org and target.org.path.startswith(scope.path))):
        raise NotFound("人员不存在")
    changes = body.model_dump(exclude_unset=True)
    if "role" in changes and changes["role"] is None:
        raise InvalidRequest.fields({"role": "不能为 null"})
    path = await org_path(int(changes["org_id"])) if changes.get("org_id") else None
    if changes.get("org_id") and path is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    if scope is not None:
        if target.role not in STAFF_GRANTABLE or changes.get("role", target.role) not in STAFF_GRANTABLE:
            raise Forbidden("工作人员只能设置志愿者与网络达人身份")
        if "org_id" in changes and (path is None or not path.startswith(scope.path)):
            raise Forbidden("只能调整到本组织及下级组织")
    before = (target.role, target.org_id)
    target = await update_profile(target, changes)
    if (target.role, target.org_id) != before:
        details = {
            "from": {"role": before[0], "org_id": before[1]},
            "to": {"role": target.role, "org_id": target.org_id},
        }
        await record(user, "role_change", f"user:{target.id}", details)
    return json_response(UserRead.of(target, request.app.ctx.storage))


class RosterRowError(BaseModel):
    row: int
    message: str


class RosterResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[RosterRowError]


class RosterRejected(InvalidRequest):
    code = "invalid_roster"


ROSTER_MAX_BYTES = 10 * 1024 * 1024


@bp.post("/import", stream=True)
@endpoint(
    summary="导入人员名单",
    roles=("admin",),
    response=RosterResult,
    errors=(RosterRejected, PayloadTooLarge, RateLimited, RequestTimeout),
    tag="users",
    upload_field="file",
    upload_types=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
)
async def import_users(request: Request, user: User) -> HTTPResponse:
    """An .xlsx roster (姓名, 手机号, 组织, 身份): people created or updated by phone; bad rows listed by number."""
    ctx = request.app.ctx
    received = await ctx.uploads.receive(request, str(user.id), field="file", max_bytes=ROSTER_MAX_BYTES)
    try:
        header, rows = await asyncio.to_thread(read_rows, received.path)
        result = await import_roster(rows, columns_of(header), roster_secrets(ctx.vault))
    except (NotASpreadsheet, RosterError) as exc:
        raise RosterRejected(str(exc)) from None
    finally:
        discard(received.path)
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    await record(user, "roster_import", received.filename or "roster.xlsx", {**counts, "errors": len(result.errors)})
    errors = [RosterRowError(row=e.row, message=e.message) for e in result.errors]
    return json_response(RosterResult(**counts, errors=errors))
