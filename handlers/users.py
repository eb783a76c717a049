"""Staff views of people: list within one's subtree, grant roles, move orgs."""

from __future__ import annotations

import asyncio
import re

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import UserList, UserQuery, UserRead, UserUpdate
from media.spreadsheets import NotASpreadsheet, read_rows
from models.orgs import org_path
from models.roster import RosterError, columns_of, import_roster, roster_secrets
from models.users import STAFF_ROLES, User, change_person, find_user, list_users
from server.kernel.errors import Forbidden, InvalidRequest, NotFound, PayloadTooLarge, RateLimited, RequestTimeout
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.multipart import discard
from server.web.permissions import managed_person, may_change_person, path_in_scope, staff_scope
from server.web.services import Services

bp = Blueprint("users", url_prefix="/users")
PHONE = re.compile(r"^1\d{10}$")


@bp.get("")
@endpoint(summary="人员列表", roles=STAFF_ROLES, query=UserQuery, response=UserList, tag="users")
async def get_users(request: Request, user: User, query: UserQuery, services: Services) -> HTTPResponse:
    """People in the caller's org subtree; `q` matches nickname, or a full phone number exactly."""
    scope = staff_scope(user)
    before_id = decode_id_cursor(query.cursor)
    path = await org_path(int(query.org_id)) if query.org_id else None
    if query.org_id and path is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    if path is not None and not path_in_scope(scope, path):
        # As the reports do: asking for another township's people is refused, not answered empty.
        raise Forbidden("只能查看本组织及下级组织的人员")
    phone_hash = services.vault.lookup_hash(query.q) if query.q and PHONE.match(query.q) else None
    rows = await list_users(
        scope_path=scope.path if scope else None,
        org_path=path,
        role=query.role,
        q=query.q,
        phone_hash=phone_hash,
        before_id=before_id,
        limit=query.limit,
    )
    rows, next_cursor = split_page(rows, query.limit)
    return json_response(UserList(items=[UserRead.of(u, services.storage) for u in rows], next_cursor=next_cursor))


@bp.patch("/<user_id:id>")
@endpoint(
    summary="调整人员角色或组织",
    roles=STAFF_ROLES,
    body=UserUpdate,
    response=UserRead,
    errors=(NotFound,),
    tag="users",
)
async def patch_user(request: Request, user_id: int, user: User, body: UserUpdate, services: Services) -> HTTPResponse:
    """Admins set any role and org; staff switch volunteer↔influencer and move people inside their subtree."""
    target = managed_person(user, await find_user(user_id))
    changes = body.model_dump(exclude_unset=True)
    if "role" in changes and changes["role"] is None:
        raise InvalidRequest.fields({"role": "不能为 null"})
    path = await org_path(int(changes["org_id"])) if changes.get("org_id") else None
    if changes.get("org_id") and path is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    may_change_person(user, target, changes.get("role", target.role), path, "org_id" in changes)
    target = await change_person(user, target, changes)
    return json_response(UserRead.of(target, services.storage))


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
async def import_users(request: Request, user: User, services: Services) -> HTTPResponse:
    """An .xlsx roster (姓名, 手机号, 组织, 身份): people created or updated by phone; bad rows listed by number."""
    received = await services.uploads.receive(request, str(user.id), field="file", max_bytes=ROSTER_MAX_BYTES)
    try:
        header, rows = await asyncio.to_thread(read_rows, received.path)
        secrets = roster_secrets(services.vault)
        source = received.filename or "roster.xlsx"
        result = await import_roster(rows, columns_of(header), secrets, actor=user, source=source)
    except (NotASpreadsheet, RosterError) as exc:
        raise RosterRejected(str(exc)) from None
    finally:
        discard(received.path)
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    errors = [RosterRowError(row=e.row, message=e.message) for e in result.errors]
    return json_response(RosterResult(**counts, errors=errors))
