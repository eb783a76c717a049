"""Notices (通知): staff write to an org subtree or a campaign's people, who read them in the mini-program."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.notice_schemas import NoticeIn, NoticeList, NoticeQuery, NoticeRead, NoticeStats
from models.campaigns import Campaign
from models.notices import (
    Notice,
    NoticeDraft,
    get_notice,
    mark_read,
    read_counts,
    receipt,
    received_page,
    send_notice,
    sent_page,
)
from models.users import STAFF_ROLES, User
from server.kernel.errors import Forbidden, InvalidRequest, NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response, no_content
from server.web.permissions import in_scope, managed_campaign, org_in_scope, staff_scope
from server.web.services import Services

bp = Blueprint("notices")


@bp.post("/notices")
@endpoint(
    summary="发布通知",
    roles=STAFF_ROLES,
    body=NoticeIn,
    response=NoticeRead,
    status=201,
    rate_limit="notice",
    tag="notices",
)
async def post_notice(request: Request, user: User, body: NoticeIn, services: Services) -> HTTPResponse:
    """Send a notice to the members of an org subtree, or to a campaign's enrolled people, maybe some roles only."""
    org = await org_in_scope(user, int(body.org_id), "只能给本组织及下级组织发通知")
    campaign = await _campaign(int(body.campaign_id), user) if body.campaign_id else None
    draft = NoticeDraft(body.title, body.content, org, campaign, body.roles)
    notice = await send_notice(user, draft, services.effects)
    return json_response(NoticeRead.of(notice, read_count=0), status=201)


@bp.get("/notices")
@endpoint(summary="通知列表", query=NoticeQuery, response=NoticeList, errors=(Forbidden,), tag="notices")
async def list_notices(request: Request, user: User, query: NoticeQuery) -> HTTPResponse:
    """Mine, newest first, each with `read`; staff with `sent=1`: those to their subtree, with read counts."""
    before = decode_id_cursor(query.cursor)
    if query.sent in ("1", "true"):
        if not user.is_staff:
            raise Forbidden("只有工作人员可以查看发出的通知")
        scope = staff_scope(user)
        sent, next_cursor = split_page(await sent_page(scope.path if scope else None, before, query.limit), query.limit)
        counts = await read_counts([n.id for n in sent])
        items = [NoticeRead.of(n, read_count=counts.get(n.id, 0)) for n in sent]
        return json_response(NoticeList(items=items, next_cursor=next_cursor))
    rows = await received_page(user.id, before, query.limit)
    page, next_cursor = split_page(rows, query.limit, key=lambda r: (r.notice.id,))
    items = [NoticeRead.of(r.notice, read_at=r.read_at, recipient=True) for r in page]
    return json_response(NoticeList(items=items, next_cursor=next_cursor))


@bp.get("/notices/<notice_id:id>")
@endpoint(summary="通知详情", response=NoticeRead, tag="notices")
async def get_one(request: Request, notice_id: int, user: User) -> HTTPResponse:
    """One notice: to a recipient (with `read`), or to staff whose subtree holds its org (with the read count)."""
    notice = await get_notice(notice_id)
    mine = await receipt(notice.id, user.id)
    if mine is not None:
        return json_response(NoticeRead.of(notice, read_at=mine.read_at, recipient=True))
    await _overseen(notice, user)
    return json_response(NoticeRead.of(notice, read_count=(await read_counts([notice.id])).get(notice.id, 0)))


@bp.post("/notices/<notice_id:id>/read")
@endpoint(summary="标记通知已读", status=204, tag="notices")
async def read(request: Request, notice_id: int, user: User) -> HTTPResponse:
    """Mark the caller's copy read; again is harmless. Only a recipient (anyone else: 404)."""
    if not await mark_read(notice_id, user.id):
        raise NotFound("通知不存在")
    return no_content()


@bp.get("/notices/<notice_id:id>/stats")
@endpoint(summary="通知阅读情况", roles=STAFF_ROLES, response=NoticeStats, tag="notices")
async def stats(request: Request, notice_id: int, user: User) -> HTTPResponse:
    """How many it was sent to and how many have read it (staff whose subtree holds the notice's org)."""
    notice = await _overseen(await get_notice(notice_id), user)
    read_count = (await read_counts([notice.id])).get(notice.id, 0)
    return json_response(NoticeStats(recipients=notice.recipients, read=read_count))


async def _campaign(campaign_id: int, user: User) -> Campaign:
    """A campaign the caller manages; one that does not exist (or they cannot see) is a 400 naming the field."""
    try:
        return await managed_campaign(campaign_id, user)
    except NotFound:
        raise InvalidRequest.fields({"campaign_id": "活动不存在"}) from None


async def _overseen(notice: Notice, user: User) -> Notice:
    """The notice if ``user`` is staff whose subtree holds its org; else 404 (ids leak nothing)."""
    if not user.is_staff or (user.role == "staff" and user.org is None):
        raise NotFound("通知不存在")
    if not in_scope(staff_scope(user), notice.org):
        raise NotFound("通知不存在")
    return notice
