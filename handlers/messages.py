"""Netizen messages: written by anyone signed in, handled by staff from acceptance to the writer's rating."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.message_schemas import (
    AssignIn,
    DraftIn,
    ExtendIn,
    MessageIn,
    MessageList,
    MessageQuery,
    MessageRead,
    NoteIn,
    PublicMessageList,
    PublicMessageRead,
    RateIn,
    ReasonIn,
)
from handlers.schemas import PageQuery
from models.media import MediaNotYours
from models.messages import (
    BadTransition,
    Draft,
    Move,
    get_message,
    handles,
    may_read,
    messages_page,
    move,
    public_page,
    write_message,
)
from models.users import STAFF_ROLES, User
from server.kernel.errors import Forbidden, NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.services import Services

bp = Blueprint("messages")
MOVE_ERRORS = (NotFound, BadTransition, Forbidden)


@bp.post("/messages")
@endpoint(
    summary="留言",
    body=MessageIn,
    response=MessageRead,
    status=201,
    idempotent=True,
    errors=(MediaNotYours,),
    tag="messages",
)
async def post_message(request: Request, user: User, body: MessageIn, services: Services) -> HTTPResponse:
    """Leave a message for the county: it gets a number and waits to be accepted. Honours Idempotency-Key."""
    draft = Draft(
        category=body.category,
        title=body.title,
        content=body.content,
        public_ok=body.public_ok,
        media_ids=[int(i) for i in body.media_ids],
        lat=body.lat,
        lng=body.lng,
    )
    message = await get_message((await write_message(user, draft, services.effects)).id)
    return json_response(MessageRead.of(message, services.storage, handler=False), status=201)


@bp.get("/messages")
@endpoint(summary="留言列表", query=MessageQuery, response=MessageList, tag="messages")
async def list_messages(request: Request, user: User, query: MessageQuery, services: Services) -> HTTPResponse:
    """Newest first: your own (`mine=1`, always for volunteers), or, for staff, those their org handles."""
    mine = query.mine in ("1", "true") or not user.is_staff
    rows = await messages_page(
        writer_id=user.id if mine else None,
        staff=None if mine else user,
        status=query.status,
        overdue=query.overdue in ("1", "true"),
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    page, next_cursor = split_page(rows, query.limit)
    items = [MessageRead.of(m, services.storage, handler=not mine and handles(user, m)) for m in page]
    return json_response(MessageList(items=items, next_cursor=next_cursor))


@bp.get("/messages/<message_id:id>")
@endpoint(summary="留言详情", response=MessageRead, errors=(NotFound,), tag="messages")
async def get_one(request: Request, message_id: int, user: User, services: Services) -> HTTPResponse:
    """One message: its writer (public steps only), or staff of the org holding it or above."""
    message = await _readable(message_id, user)
    return _render(message, user, services)


@bp.get("/public/messages")
@endpoint(summary="公开的留言答复", auth=False, query=PageQuery, response=PublicMessageList, tag="messages")
async def public_messages(request: Request, query: PageQuery, services: Services) -> HTTPResponse:
    """Replied messages whose writers allowed it, the writer shown only as 网友. No sign-in."""
    rows = await public_page(decode_id_cursor(query.cursor), query.limit)
    page, next_cursor = split_page(rows, query.limit)
    items = [PublicMessageRead.of(m, services.storage) for m in page]
    return json_response(PublicMessageList(items=items, next_cursor=next_cursor))


@bp.post("/messages/<message_id:id>/accept")
@endpoint(summary="受理留言", roles=STAFF_ROLES, body=NoteIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages")
async def accept(request: Request, message_id: int, user: User, body: NoteIn, services: Services) -> HTTPResponse:
    """Accept a submitted message (staff of the county that received it, or above)."""
    return await _move(message_id, user, Move("accept", note=body.note), services)


@bp.post("/messages/<message_id:id>/reject")
@endpoint(
    summary="不予受理", roles=STAFF_ROLES, body=ReasonIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages"
)
async def reject(request: Request, message_id: int, user: User, body: ReasonIn, services: Services) -> HTTPResponse:
    """Decline a message, with the reason the writer reads; final."""
    return await _move(message_id, user, Move("reject", reason=body.reason), services)


@bp.post("/messages/<message_id:id>/assign")
@endpoint(
    summary="交办或转办", roles=STAFF_ROLES, body=AssignIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages"
)
async def assign(request: Request, message_id: int, user: User, body: AssignIn, services: Services) -> HTTPResponse:
    """Hand the message on (交办 within your subtree, 转办 within your county); the deadline starts."""
    step = Move(
        "assign", note=body.note, org_id=int(body.org_id), kind=body.kind, co_org_ids=[int(i) for i in body.co_org_ids]
    )
    return await _move(message_id, user, step, services)


@bp.post("/messages/<message_id:id>/return")
@endpoint(
    summary="退回留言", roles=STAFF_ROLES, body=ReasonIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages"
)
async def send_back(request: Request, message_id: int, user: User, body: ReasonIn, services: Services) -> HTTPResponse:
    """The assignee sends the message back to the org that assigned it, saying why."""
    return await _move(message_id, user, Move("return", reason=body.reason), services)


@bp.post("/messages/<message_id:id>/extend")
@endpoint(
    summary="申请延期", roles=STAFF_ROLES, body=ExtendIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages"
)
async def extend(request: Request, message_id: int, user: User, body: ExtendIn, services: Services) -> HTTPResponse:
    """The assignee asks for more working days (at most 15 in all); the assigner approves."""
    return await _move(message_id, user, Move("extend", reason=body.reason, days=body.days), services)


@bp.post("/messages/<message_id:id>/approve-extension")
@endpoint(summary="批准延期", roles=STAFF_ROLES, body=NoteIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages")
async def approve_extension(
    request: Request, message_id: int, user: User, body: NoteIn, services: Services
) -> HTTPResponse:
    """The assigning org grants the extension asked for: the deadline moves by those working days."""
    return await _move(message_id, user, Move("approve-extension", note=body.note), services)


@bp.post("/messages/<message_id:id>/draft-reply")
@endpoint(summary="拟写答复", roles=STAFF_ROLES, body=DraftIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages")
async def draft_reply(request: Request, message_id: int, user: User, body: DraftIn, services: Services) -> HTTPResponse:
    """The assignee drafts (or revises) the reply, which waits for the assigning org's approval."""
    return await _move(message_id, user, Move("draft-reply", content=body.content), services)


@bp.post("/messages/<message_id:id>/approve-reply")
@endpoint(
    summary="审核通过答复", roles=STAFF_ROLES, body=NoteIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages"
)
async def approve_reply(
    request: Request, message_id: int, user: User, body: NoteIn, services: Services
) -> HTTPResponse:
    """Staff of the assigning org (or an admin) approve the draft: it is the reply, and the writer is told."""
    return await _move(message_id, user, Move("approve-reply", note=body.note), services)


@bp.post("/messages/<message_id:id>/supervise")
@endpoint(summary="督办", roles=STAFF_ROLES, body=NoteIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages")
async def supervise(request: Request, message_id: int, user: User, body: NoteIn, services: Services) -> HTTPResponse:
    """Raise the message's supervision level by one (at most 3); the assignee is told."""
    return await _move(message_id, user, Move("supervise", note=body.note), services)


@bp.post("/messages/<message_id:id>/rate")
@endpoint(summary="评价答复", body=RateIn, response=MessageRead, errors=MOVE_ERRORS, tag="messages")
async def rate(request: Request, message_id: int, user: User, body: RateIn, services: Services) -> HTTPResponse:
    """The writer rates the reply within 15 days; unsatisfied reopens it once."""
    return await _move(message_id, user, Move("rate", rating=body.rating, comment=body.comment), services)


async def _readable(message_id: int, user: User):
    message = await get_message(message_id)
    if not may_read(user, message):
        raise NotFound("留言不存在")
    return message


async def _move(message_id: int, user: User, step: Move, services: Services) -> HTTPResponse:
    message = await _readable(message_id, user)
    moved = await move(message, user, step, services.effects, days_by_category=dict(services.config.message_days))
    return _render(moved, user, services)


def _render(message, user: User, services: Services) -> HTTPResponse:
    handler = user.is_staff and handles(user, message)
    return json_response(MessageRead.of(message, services.storage, handler=handler))
