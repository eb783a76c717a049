"""Staff views of people: list within one's subtree, grant roles, move orgs."""

from __future__ import annotations

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import HonourHoursIn, LedgerRead, UserList, UserQuery, UserRead, UserUpdate
from models.users import STAFF_ROLES, User
from server.kernel.errors import NotFound, PayloadTooLarge, RateLimited, RequestTimeout
from server.web.endpoint import endpoint, json_response
from server.web.people import (
    ROSTER_TYPES,
    RosterRejected,
    change_person_as,
    find_people,
    grant_honour_hours_as,
    import_roster_upload,
)
from server.web.services import Services

bp = Blueprint("users", url_prefix="/users")


@bp.get("")
@endpoint(summary="人员列表", roles=STAFF_ROLES, query=UserQuery, response=UserList, tag="users")
async def get_users(request: Request, user: User, query: UserQuery, services: Services) -> HTTPResponse:
    """People in the caller's org subtree; `q` matches the nickname or real name, or a full phone number exactly."""
    rows, next_cursor = await find_people(
        user,
        services.vault,
        org_id=int(query.org_id) if query.org_id else None,
        role=query.role,
        q=query.q,
        cursor=query.cursor,
        limit=query.limit,
    )
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
    target = await change_person_as(user, user_id, body.model_dump(exclude_unset=True))
    return json_response(UserRead.of(target, services.storage))


@bp.post("/<user_id:id>/honour-hours")
@endpoint(
    summary="授予荣誉时长",
    roles=("admin",),
    body=HonourHoursIn,
    response=LedgerRead,
    status=201,
    idempotent=True,
    tag="users",
)
async def post_honour_hours(request: Request, user_id: int, user: User, body: HonourHoursIn) -> HTTPResponse:
    """An admin grants honour hours (荣誉时长): counted in service hours and star level, never in points."""
    entry = await grant_honour_hours_as(user, user_id, body.hours, body.reason)
    return json_response(LedgerRead.of(entry), status=201)


class RosterRowError(BaseModel):
    row: int
    message: str


class RosterResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[RosterRowError]


@bp.post("/import", stream=True)
@endpoint(
    summary="导入人员名单",
    roles=STAFF_ROLES,
    response=RosterResult,
    errors=(RosterRejected, PayloadTooLarge, RateLimited, RequestTimeout),
    tag="users",
    upload_field="file",
    upload_types=ROSTER_TYPES,
)
async def import_users(request: Request, user: User, services: Services) -> HTTPResponse:
    """An .xlsx or .csv roster (姓名, 手机号, 组织, 身份): people created or updated by phone; bad rows listed by
    number. Staff import volunteers and influencers into their own subtree; admins anything."""
    result = await import_roster_upload(request, user, services, field="file")
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    errors = [RosterRowError(row=e.row, message=e.message) for e in result.errors]
    return json_response(RosterResult(**counts, errors=errors))
