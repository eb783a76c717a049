"""Reviewing evidence: the queue, one decision, a batch of decisions."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.media_schemas import SubmissionList, SubmissionRead
from handlers.review_schemas import BatchIn, BatchOut, QueueQuery, ReviewIn
from models.audit import record
from models.review import AlreadyReviewed, Decision, SubmissionWithdrawn, review
from models.submissions import Submission, review_queue, with_relations
from models.tasks import TaskClosed
from models.users import STAFF_ROLES, User
from server.kernel.errors import ApiError, NotFound, RateLimited
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.auth import in_scope, staff_scope
from server.web.endpoint import endpoint, json_response

bp = Blueprint("review")
log = logging.getLogger("wenming.review")


@bp.get("/review/queue")
@endpoint(summary="审核队列", roles=STAFF_ROLES, query=QueueQuery, response=SubmissionList, tag="review")
async def queue(request: Request, user: User, query: QueueQuery) -> HTTPResponse:
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
    storage = request.app.ctx.storage
    items = [SubmissionRead.of(s, storage, staff=True).model_dump(mode="json") for s in page]
    return json_response({"items": items, "next_cursor": next_cursor})


@bp.post("/submissions/<submission_id:id>/review")
@endpoint(
    summary="审核提交",
    roles=STAFF_ROLES,
    body=ReviewIn,
    response=SubmissionRead,
    errors=(NotFound, AlreadyReviewed, SubmissionWithdrawn, TaskClosed, RateLimited),
    tag="review",
)
async def review_one(request: Request, submission_id: int, user: User, body: ReviewIn) -> HTTPResponse:
    """Approve (the task's points, or 0..2x of them) or reject with a reason; rejecting an approval reverses it."""
    ctx = request.app.ctx
    await ctx.limiter.hit("review", str(user.id), ctx.config.limit_review)
    submissions = await _reviewable(user, [submission_id])
    if submission_id not in submissions:
        raise NotFound("提交不存在")
    await _decide(request, submissions[submission_id], user, Decision(body.decision, body.reason, body.points))
    (fresh,) = await with_relations(Submission.filter(id=submission_id))
    return json_response(SubmissionRead.of(fresh, ctx.storage, staff=True))


@bp.post("/review/batch")
@endpoint(summary="批量审核", roles=STAFF_ROLES, body=BatchIn, response=BatchOut, errors=(RateLimited,), tag="review")
async def review_batch(request: Request, user: User, body: BatchIn) -> HTTPResponse:
    """The same decision for many submissions; each succeeds or fails on its own (`failed`: id → error code)."""
    ctx = request.app.ctx
    await ctx.limiter.hit("review", str(user.id), ctx.config.limit_review)
    ids = [int(i) for i in body.ids]
    submissions = await _reviewable(user, ids)
    done: list[str] = []
    failed: dict[str, str] = {}
    for submission_id in ids:
        try:
            if submission_id not in submissions:
                raise NotFound()
            await _decide(request, submissions[submission_id], user, Decision(body.decision, body.reason))
            done.append(str(submission_id))
        except ApiError as exc:
            failed[str(submission_id)] = exc.code
    return json_response(BatchOut(done=done, failed=failed))


async def _reviewable(user: User, ids: list[int]) -> dict[int, Submission]:
    """The submissions among ``ids`` of tasks in the caller's subtree (others stay unseen: 404)."""
    scope = staff_scope(user)
    rows = await with_relations(Submission.filter(id__in=ids))
    return {s.id: s for s in rows if in_scope(scope, s.task.campaign.org)}


async def _decide(request: Request, submission: Submission, user: User, decision: Decision) -> None:
    entries = await review(submission, user, decision)
    details = {"decision": decision.decision, "reason": decision.reason, "points": sum(e.points for e in entries)}
    await record(user, "review", f"submission:{submission.id}", details)
    try:
        await request.app.ctx.rankings.record(entries)
    except (RedisError, OSError):  # the ledger is committed; `wenming ranking rebuild` catches up
        log.exception("ranking update failed for submission %s", submission.id)
    await request.app.ctx.jobs.enqueue("notify_review", submission.id)
