"""Reviewing evidence: the queue, one decision, a batch of decisions."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.media_schemas import SubmissionList, SubmissionRead
from handlers.review_schemas import BatchIn, BatchOut, QueueQuery, ReviewIn
from models.review import AlreadyReviewed, Decision, SubmissionWithdrawn
from models.submissions import review_queue
from models.tasks import TaskClosed
from models.users import STAFF_ROLES, User
from server.kernel.errors import NotFound, RateLimited
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.permissions import staff_scope
from server.web.reviewing import decide, decide_many
from server.web.services import Services

bp = Blueprint("review")


@bp.get("/review/queue")
@endpoint(summary="审核队列", roles=STAFF_ROLES, query=QueueQuery, response=SubmissionList, tag="review")
async def queue(request: Request, user: User, query: QueueQuery, services: Services) -> HTTPResponse:
    """Oldest first, with risk flags: by default everything awaiting review in the caller's org subtree."""
    scope = staff_scope(user)
    rows = await review_queue(
        scope_path=scope.path if scope else None,
        campaign_id=int(query.campaign_id) if query.campaign_id else None,
        status=query.status,
        after_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    page, next_cursor = split_page(rows, query.limit)
    items = [SubmissionRead.of(s, services.storage, staff=True) for s in page]
    return json_response(SubmissionList(items=items, next_cursor=next_cursor))


@bp.post("/submissions/<submission_id:id>/review")
@endpoint(
    summary="审核提交",
    roles=STAFF_ROLES,
    body=ReviewIn,
    response=SubmissionRead,
    errors=(NotFound, AlreadyReviewed, SubmissionWithdrawn, TaskClosed, RateLimited),
    tag="review",
)
async def review_one(
    request: Request, submission_id: int, user: User, body: ReviewIn, services: Services
) -> HTTPResponse:
    """Approve (the task's points and hours, or the reviewer's within bounds) or reject with a reason.

    Rejecting an approval reverses it."""
    decision = Decision(body.decision, body.reason, body.points, body.service_hours)
    fresh = await decide(user, submission_id, decision, services)
    return json_response(SubmissionRead.of(fresh, services.storage, staff=True))


@bp.post("/review/batch")
@endpoint(summary="批量审核", roles=STAFF_ROLES, body=BatchIn, response=BatchOut, errors=(RateLimited,), tag="review")
async def review_batch(request: Request, user: User, body: BatchIn, services: Services) -> HTTPResponse:
    """The same decision for many submissions; each succeeds or fails on its own (`failed`: id → error code)."""
    ids = [int(i) for i in body.ids]
    outcome = await decide_many(user, ids, Decision(body.decision, body.reason), services)
    done = [str(i) for i in outcome.done]
    failed = {str(i): exc.code for i, exc in outcome.failed.items()}
    return json_response(BatchOut(done=done, failed=failed))
