"""Evidence submissions: hand in photos for a task; the owner and the task's staff read them."""

from __future__ import annotations

import logging

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.media_schemas import SubmissionIn, SubmissionList, SubmissionQuery, SubmissionRead
from models.enrollment import NotEnrolled
from models.media import Media, MediaNotYours, record_check
from models.submission_links import LinkAccountMismatch, LinkClaimed, LinkPlatformMismatch
from models.submissions import (
    AlreadySubmitted,
    CheckinRequired,
    Evidence,
    TooFewPhotos,
    TooManyPhotos,
    get_submission,
    submissions_page,
    submit,
)
from models.tasks import TaskClosed
from models.users import MEMBER_ROLES, User
from server.kernel.errors import ApiError, NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.permissions import readable_submission, staff_scope, visible_task
from server.web.services import Services

bp = Blueprint("submissions")
log = logging.getLogger("wenming.submissions")
# WeChat's msg_sec_check scenes: 1 profile, 2 comment, 3 forum, 4 social post.
TEXT_SCENE = 3


@bp.post("/tasks/<task_id:id>/submissions")
@endpoint(
    summary="提交任务材料",
    roles=MEMBER_ROLES,
    body=SubmissionIn,
    response=SubmissionRead,
    status=201,
    idempotent=True,
    errors=(
        NotFound,
        NotEnrolled,
        TooFewPhotos,
        TooManyPhotos,
        MediaNotYours,
        TaskClosed,
        CheckinRequired,
        AlreadySubmitted,
        LinkPlatformMismatch,
        LinkAccountMismatch,
        LinkClaimed,
    ),
    tag="submissions",
)
async def post_submission(
    request: Request, task_id: int, user: User, body: SubmissionIn, services: Services
) -> HTTPResponse:
    """Hand in photos (uploaded first via POST /media), text, optional location and links. Honours Idempotency-Key."""
    task = await visible_task(task_id, user)
    evidence = Evidence(
        media_ids=[int(i) for i in body.media_ids], text=body.text, lat=body.lat, lng=body.lng, links=body.links
    )
    submission = await submit(task, user, evidence, lambda text: _check_text(services, user, text))
    submission = await get_submission(submission.id)
    assert submission is not None
    _check_photos_later(services, user, [p.media for p in submission.photos])
    return json_response(SubmissionRead.of(submission, services.storage, staff=user.is_staff), status=201)


@bp.get("/submissions")
@endpoint(summary="提交列表", query=SubmissionQuery, response=SubmissionList, tag="submissions")
async def list_submissions(request: Request, user: User, query: SubmissionQuery, services: Services) -> HTTPResponse:
    """Newest first: your own (`mine=1`, always for volunteers), or, for staff, those of tasks in your org subtree."""
    mine = query.mine in ("1", "true") or not user.is_staff
    scope = None if mine else staff_scope(user)
    rows = await submissions_page(
        owner_id=user.id if mine else None,
        scope_path=scope.path if scope else None,
        task_id=int(query.task_id) if query.task_id else None,
        status=query.status,
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    page, next_cursor = split_page(rows, query.limit)
    items = [SubmissionRead.of(s, services.storage, staff=user.is_staff) for s in page]
    return json_response(SubmissionList(items=items, next_cursor=next_cursor))


@bp.get("/submissions/<submission_id:id>")
@endpoint(summary="提交详情", response=SubmissionRead, errors=(NotFound,), tag="submissions")
async def get_one(request: Request, submission_id: int, user: User, services: Services) -> HTTPResponse:
    """One submission: its owner, or staff of the task's org subtree (who also see the risk flags)."""
    submission = await readable_submission(submission_id, user)
    return json_response(SubmissionRead.of(submission, services.storage, staff=user.is_staff))


async def _check_text(services: Services, user: User, text: str) -> str:
    """WeChat's verdict on the text; when WeChat cannot answer, the reviewer reads it unchecked."""
    try:
        answer = await services.wechat.msg_sec_check(text, user.openid or "", scene=TEXT_SCENE)
    except ApiError as exc:
        log.warning("text check skipped: %s", exc.code)
        return "unchecked"
    suggest = (answer.get("result") or {}).get("suggest")
    return suggest if suggest in ("pass", "review", "risky") else "unchecked"


def _check_photos_later(services: Services, user: User, media: list[Media]) -> None:
    """Ask WeChat to check the photos after the response; verdicts arrive by push (handlers.wechat)."""
    pending = [m for m in media if m.check_result == "unchecked"]
    if not pending or not user.openid:
        return

    async def ask(m: Media) -> str:
        return await services.wechat.media_check_async(
            services.storage.url(m.display_key), user.openid, scene=TEXT_SCENE
        )

    services.background.spawn(record_check(pending, ask), name=f"media-check:{user.id}")
