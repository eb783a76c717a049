"""Reach of online work: the owner's snapshots (staff correct them) and official reposts staff record."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.reach_schemas import ReachIn, ReachList, ReachSnapshotRead, RepostIn, RepostList, RepostRead
from models.media import MediaNotYours
from models.reach import (
    NotApproved,
    NotOnline,
    ReachDecreasing,
    RepostRecorded,
    SubmissionClosed,
    add_snapshot,
    get_snapshot,
    record_repost,
    reposts_of,
    snapshots_of,
)
from models.users import STAFF_ROLES, User
from server.kernel.errors import NotFound
from server.web.endpoint import endpoint, json_response
from server.web.permissions import readable_submission
from server.web.services import Services

bp = Blueprint("reach")


@bp.post("/submissions/<submission_id:id>/reach")
@endpoint(
    summary="记录传播数据",
    body=ReachIn,
    response=ReachSnapshotRead,
    status=201,
    idempotent=True,
    errors=(NotFound, NotOnline, SubmissionClosed, ReachDecreasing, MediaNotYours),
    tag="reach",
)
async def post_reach(
    request: Request, submission_id: int, user: User, body: ReachIn, services: Services
) -> HTTPResponse:
    """The owner records counts that never go down; staff of the task's subtree correct them (audited)."""
    submission = await readable_submission(submission_id, user)
    snapshot = await add_snapshot(submission, user, body.reach(), services.effects)
    shown = ReachSnapshotRead.of(await get_snapshot(snapshot.id), services.storage, staff=user.is_staff)
    return json_response(shown, status=201)


@bp.get("/submissions/<submission_id:id>/reach")
@endpoint(summary="传播数据记录", response=ReachList, errors=(NotFound,), tag="reach")
async def list_reach(request: Request, submission_id: int, user: User, services: Services) -> HTTPResponse:
    """The submission's snapshots in time order: its owner, or staff of the task's subtree."""
    submission = await readable_submission(submission_id, user)
    rows = await snapshots_of(submission.id)
    return json_response(
        ReachList(items=[ReachSnapshotRead.of(s, services.storage, staff=user.is_staff) for s in rows])
    )


@bp.post("/submissions/<submission_id:id>/repost")
@endpoint(
    summary="记录官方转载",
    roles=STAFF_ROLES,
    body=RepostIn,
    response=RepostRead,
    status=201,
    errors=(NotFound, NotOnline, NotApproved, RepostRecorded),
    tag="reach",
)
async def post_repost(
    request: Request, submission_id: int, user: User, body: RepostIn, services: Services
) -> HTTPResponse:
    """Staff of the task's subtree record an official site's repost: that level's bonus, once per level."""
    submission = await readable_submission(submission_id, user)
    repost, _ = await record_repost(submission, user, body.level, body.url, services.effects)
    return json_response(RepostRead.of(repost), status=201)


@bp.get("/submissions/<submission_id:id>/reposts")
@endpoint(summary="官方转载记录", response=RepostList, errors=(NotFound,), tag="reach")
async def list_reposts(request: Request, submission_id: int, user: User) -> HTTPResponse:
    """The official reposts recorded for the submission, oldest first: its owner, or staff of the task's subtree."""
    submission = await readable_submission(submission_id, user)
    return json_response(RepostList(items=[RepostRead.of(r) for r in await reposts_of(submission.id)]))
