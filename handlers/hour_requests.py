"""Make-up requests for service hours (补录): asked by the person, decided by staff of the task's subtree."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.hour_request_schemas import (
    HourRequestIn,
    HourRequestList,
    HourRequestQuery,
    HourRequestRead,
    HourReviewIn,
)
from models.makeup import (
    Claim,
    HourRequestOpen,
    HourRequestReviewed,
    Verdict,
    get_hour_request,
    hour_requests_page,
    request_hours,
)
from models.media import MediaNotYours
from models.tasks import TaskClosed
from models.users import STAFF_ROLES, User
from server.kernel.errors import Forbidden, NotFound, RateLimited
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.permissions import readable_hour_request, staff_scope, visible_task
from server.web.reviewing import decide_hours
from server.web.services import Services

bp = Blueprint("hour_requests")


@bp.post("/hour-requests")
@endpoint(
    summary="申请补录服务时长",
    body=HourRequestIn,
    response=HourRequestRead,
    status=201,
    idempotent=True,
    errors=(NotFound, Forbidden, MediaNotYours, HourRequestOpen, TaskClosed),
    tag="hour_requests",
)
async def post_hour_request(request: Request, user: User, body: HourRequestIn, services: Services) -> HTTPResponse:
    """Ask for hours served without check-in/out records; one open request per task. Honours Idempotency-Key."""
    task = await visible_task(int(body.task_id), user)
    claim = Claim(
        task_id=task.id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        note=body.note,
        media_ids=[int(i) for i in body.media_ids],
    )
    made = await get_hour_request((await request_hours(user, task, claim)).id)
    assert made is not None
    return json_response(HourRequestRead.of(made, services.storage, staff=False), status=201)


@bp.get("/hour-requests")
@endpoint(summary="补录申请列表", query=HourRequestQuery, response=HourRequestList, tag="hour_requests")
async def list_hour_requests(request: Request, user: User, query: HourRequestQuery, services: Services) -> HTTPResponse:
    """Newest first: your own (`mine=1`, always for volunteers), or, for staff, those on their subtree's tasks."""
    mine = query.mine in ("1", "true") or not user.is_staff
    scope = None if mine else staff_scope(user)
    rows = await hour_requests_page(
        user_id=user.id if mine else None,
        scope_path=scope.path if scope else None,
        status=query.status,
        task_id=int(query.task_id) if query.task_id else None,
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    page, next_cursor = split_page(rows, query.limit)
    items = [HourRequestRead.of(r, services.storage, staff=not mine) for r in page]
    return json_response(HourRequestList(items=items, next_cursor=next_cursor))


@bp.get("/hour-requests/<hour_request_id:id>")
@endpoint(summary="补录申请详情", response=HourRequestRead, tag="hour_requests")
async def get_one(request: Request, hour_request_id: int, user: User, services: Services) -> HTTPResponse:
    """One request: its owner's, or staff's of the task's org subtree."""
    found = await readable_hour_request(hour_request_id, user)
    return json_response(HourRequestRead.of(found, services.storage, staff=found.user_id != user.id))


@bp.post("/hour-requests/<hour_request_id:id>/review")
@endpoint(
    summary="审核补录申请",
    roles=STAFF_ROLES,
    body=HourReviewIn,
    response=HourRequestRead,
    errors=(HourRequestReviewed, TaskClosed, RateLimited),
    tag="hour_requests",
)
async def review_one(
    request: Request, hour_request_id: int, user: User, body: HourReviewIn, services: Services
) -> HTTPResponse:
    """Approve (the hours go to the ledger once, points only the first time) or reject with a reason."""
    fresh = await decide_hours(user, hour_request_id, Verdict(body.decision, body.reason), services)
    return json_response(HourRequestRead.of(fresh, services.storage, staff=True))
