"""The signed-in person's own profile."""

from __future__ import annotations

import asyncio

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.review_schemas import LedgerPage, LedgerRead
from handlers.schemas import MeRead, MeUpdate, PageQuery, PersonalData
from media.uploads import remove_files
from models.ledger import ledger_page
from models.media import MediaNotYours, picture_columns
from models.notices import unread_count
from models.org_requests import OrgRequestPending, choose_org, pending_request
from models.privacy import erase_user, personal_data
from models.users import User, update_profile
from server.kernel.errors import Forbidden, InvalidRequest
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response, no_content
from server.web.services import Services

bp = Blueprint("me", url_prefix="/me")


@bp.get("")
@endpoint(summary="我的资料", response=MeRead, tag="me")
async def get_me(request: Request, user: User, services: Services) -> HTTPResponse:
    """The caller's profile: points, service hours, star level, an org change awaiting approval, unread notices."""
    return await _me(user, services)


@bp.patch("")
@endpoint(
    summary="修改我的资料",
    body=MeUpdate,
    response=MeRead,
    errors=(Forbidden, MediaNotYours, OrgRequestPending),
    tag="me",
)
async def patch_me(request: Request, user: User, body: MeUpdate, services: Services) -> HTTPResponse:
    """Change nickname, avatar or leaderboard visibility; an org is chosen once, later changes await
    approval by the new org's staff (`pending_org`)."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items()}
    for name in ("nickname", "leaderboard_visible"):
        if name in changes and changes[name] is None:
            raise InvalidRequest.fields({name: "不能为 null"})
    if "org_id" in changes and user.role == "staff":
        # A staff member's org is their authority; only an admin moves it.
        raise Forbidden("工作人员的所属组织由管理员调整")
    if "avatar_media_id" in changes:
        changes.update(await picture_columns(user, changes["avatar_media_id"], "avatar"))
    if "org_id" in changes:
        org_id = changes.pop("org_id")
        await choose_org(user, int(org_id) if org_id is not None else None)
    user = await update_profile(user, changes)
    return await _me(user, services)


@bp.get("/points")
@endpoint(summary="我的积分明细", query=PageQuery, response=LedgerPage, tag="me")
async def my_points(request: Request, user: User, query: PageQuery) -> HTTPResponse:
    """The caller's ledger, newest first: every award and every reversal."""
    rows = await ledger_page(user.id, decode_id_cursor(query.cursor), query.limit)
    page, next_cursor = split_page(rows, query.limit)
    return json_response(LedgerPage(items=[LedgerRead.of(e) for e in page], next_cursor=next_cursor))


@bp.get("/export")
@endpoint(summary="导出我的个人信息", response=PersonalData, tag="me")
async def export_me(request: Request, user: User, services: Services) -> HTTPResponse:
    """Everything the service holds about the caller, phone number in full (it is theirs)."""
    return json_response(await personal_data(user, services.vault))


@bp.delete("")
@endpoint(summary="注销账号", status=204, tag="me")
async def delete_me(request: Request, user: User, services: Services) -> HTTPResponse:
    """Erase personal data, photos included, and sign out everywhere; earned points stay, anonymised."""
    keys = await erase_user(user)
    await asyncio.to_thread(remove_files, services.storage, keys)
    return no_content()


async def _me(user: User, services: Services) -> HTTPResponse:
    pending = await pending_request(user.id)
    return json_response(MeRead.of_me(user, services.storage, pending, await unread_count(user.id)))
