"""Tasks (任务): the feed, enrollment within quota, on-site check-in and check-out, staff views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import PageQuery, UserRead
from handlers.task_schemas import (
    CheckinIn,
    CheckoutIn,
    EnrollmentList,
    EnrollmentRead,
    EnrollmentRow,
    TaskList,
    TaskQuery,
    TaskRead,
    TaskUpdate,
    task_changes,
)
from models.campaigns import Task, task_status
from models.enrollment import (
    CHECKIN_PAGE,
    AlreadyEnrolled,
    BadScene,
    CheckinWindowClosed,
    CheckoutNotRequired,
    CheckoutWindowClosed,
    NotCheckedIn,
    NotEnrolled,
    NotInAudience,
    OutsideArea,
    TaskFull,
    check_in,
    check_out,
    enroll,
    enrollments_page,
    scene_for,
    withdraw,
)
from models.feed import all_enrollments, enrolled_counts, task_feed
from models.tasks import (
    TaskClosed,
    cancel_task,
    enrollments_of,
    now_utc,
    update_task,
)
from models.users import MEMBER_ROLES, STAFF_ROLES, User
from server.kernel.errors import Conflict, Forbidden, NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.caches import Caches
from server.web.endpoint import endpoint, json_response, no_content
from server.web.permissions import managed_task, staff_scope, visible_task
from server.web.rosters import XLSX, roster_download, roster_file
from server.web.services import Services

bp = Blueprint("tasks", url_prefix="/tasks")


async def _render(task: Task, user: User) -> dict:
    mine = (await enrollments_of(user, [task.id])).get(task.id)
    return TaskRead.of(task, now_utc(), mine).model_dump(mode="json")


# -- ``GET /tasks`` from the in-process caches (server.web.caches): the feed everyone opens at once ----
#
# A page of the feed is the same for everyone of one audience (a role and an org, or a staff
# member's subtree): it is cached rendered, without the parts that are the caller's or the
# moment's — the caller's own enrollment (``mine``, per person), the status (worked out from the
# cached task at every read, so a task that ended since shows as ended) and the count of
# enrollments (``counts``, per task: an enrollment moves it, and must not empty every audience's
# pages). The pages by distance (``near``), of one's own tasks (``mine=1``) and of ended tasks (a
# set that grows as time passes) are read as before.


def _cacheable(query: TaskQuery) -> bool:
    return not query.near and query.mine not in ("1", "true") and query.status != "ended"


async def _feed_page(user: User, query: TaskQuery, scope_path: str | None, caches: Caches) -> dict[str, Any]:
    """The body of ``GET /tasks`` (``TaskList``)."""
    now = now_utc()
    if not _cacheable(query):
        page = await task_feed(user, query, scope_path)
        items = [TaskRead.of(t, now, page.mine.get(t.id), page.distances.get(t.id)) for t in page.tasks]
        return {"items": [i.model_dump(mode="json") for i in items], "next_cursor": page.next_cursor}
    audience = ("staff", scope_path) if user.is_staff else (user.role, user.org.path if user.org else None)
    key = (audience, query.campaign_id, query.status, query.cursor, query.limit)
    cached = caches.feed.get(key)
    if cached is None:
        ticket, counted = caches.feed.ticket(), caches.counts.ticket()
        page = await task_feed(user, query, scope_path, mine=False)
        cached = ([_FeedItem.of(t, now) for t in page.tasks], page.next_cursor)
        caches.feed.put(key, cached, ticket, ttl=_lasts(page.tasks, query, now))
        for t in page.tasks:
            caches.counts.put(t.id, t.enrolled_count, counted)
    rows, next_cursor = cached
    counts = await _enrolled_counts([row.task_id for row in rows], caches)
    mine = await _enrollments(user, caches)
    moment = now.timestamp()
    items = [row.answer(moment, counts[row.task_id], mine.get(row.task_id, b"null")) for row in rows]
    return {"items": items, "next_cursor": next_cursor}


class _FeedItem:
    """One task of a cached page: its JSON but for the caller's and the moment's fields, spliced in at each read.

    ``head`` is the rendered ``TaskRead`` without ``status``, ``enrolled_count`` and ``my_enrollment``,
    serialised once, up to the comma before them (JSON does not order an object's members).
    """

    __slots__ = ("campaign_closed", "cancelled", "ends_at", "head", "task_id")
    _OWN = ("status", "enrolled_count", "my_enrollment")

    def __init__(self, task_id: int, ends_at: float, cancelled: bool, campaign_closed: bool, head: bytes) -> None:
        self.task_id, self.ends_at, self.cancelled, self.campaign_closed = task_id, ends_at, cancelled, campaign_closed
        self.head = head

    @classmethod
    def of(cls, task: Task, now: datetime) -> _FeedItem:
        shown = TaskRead.of(task, now).model_dump(mode="json")
        head = orjson.dumps({k: v for k, v in shown.items() if k not in cls._OWN})[:-1] + b","
        closed = task.campaign.status == "closed"
        return cls(task.id, task.ends_at.timestamp(), task.cancelled_at is not None, closed, head)

    def answer(self, now: float, enrolled: int, mine: bytes) -> orjson.Fragment:
        status = task_status(self.cancelled, self.ends_at, self.campaign_closed, now)
        tail = b'"status":"%b","enrolled_count":%d,"my_enrollment":%b}' % (status.encode(), enrolled, mine)
        return orjson.Fragment(self.head + tail)


def _lasts(tasks: list[Task], query: TaskQuery, now: datetime) -> float | None:
    """How long the page holds: an ``open`` page until its first task ends; the others until a write."""
    if query.status != "open" or not tasks:
        return None
    return max(0.0, (min(t.ends_at for t in tasks) - now).total_seconds())


async def _enrolled_counts(task_ids: list[int], caches: Caches) -> dict[int, int]:
    """Each task's count of enrollments: from the cache, the missing ones in one query."""
    found = {tid: n for tid in task_ids if (n := caches.counts.get(tid)) is not None}
    missing = [tid for tid in task_ids if tid not in found]
    if missing:
        ticket = caches.counts.ticket()
        for tid, n in (await enrolled_counts(missing)).items():
            found[tid] = n
            caches.counts.put(tid, n, ticket)
    return {tid: found.get(tid, 0) for tid in task_ids}


async def _enrollments(user: User, caches: Caches) -> dict[int, bytes]:
    """The caller's enrollments by task id, rendered (``EnrollmentRead``) and serialised."""
    mine = caches.mine.get(user.id)
    if mine is None:
        ticket = caches.mine.ticket()
        rows = await all_enrollments(user.id)
        mine = {e.task_id: orjson.dumps(EnrollmentRead.of(e).model_dump(mode="json")) for e in rows}
        caches.mine.put(user.id, mine, ticket)
    return mine


@bp.get("")
@endpoint(summary="任务列表", query=TaskQuery, response=TaskList, tag="tasks")
async def list_tasks(request: Request, user: User, query: TaskQuery, services: Services) -> HTTPResponse:
    """The task feed: filters, `near=lat,lng` sorted by distance, with the caller's own enrollment."""
    scope = staff_scope(user) if user.is_staff else None
    return json_response(await _feed_page(user, query, scope.path if scope else None, services.caches))


@bp.get("/<task_id:id>")
@endpoint(summary="任务详情", response=TaskRead, errors=(NotFound,), tag="tasks")
async def get_one(request: Request, task_id: int, user: User) -> HTTPResponse:
    """One task the caller may see, with their enrollment."""
    return json_response(await _render(await visible_task(task_id, user), user))


@bp.patch("/<task_id:id>")
@endpoint(
    summary="修改任务",
    roles=STAFF_ROLES,
    body=TaskUpdate,
    response=TaskRead,
    errors=(NotFound, Conflict),
    tag="tasks",
)
async def patch_task(request: Request, task_id: int, user: User, body: TaskUpdate) -> HTTPResponse:
    """Edit a task of a campaign the caller manages; quota cannot drop below enrollments."""
    task = await managed_task(task_id, user)
    task = await update_task(task, await task_changes(body))
    return json_response(await _render(task, user))


@bp.post("/<task_id:id>/cancel")
@endpoint(summary="取消任务", roles=STAFF_ROLES, response=TaskRead, errors=(NotFound,), tag="tasks")
async def cancel(request: Request, task_id: int, user: User) -> HTTPResponse:
    """Cancel a task: it accepts nothing new; existing records stay."""
    task = await cancel_task(await managed_task(task_id, user), user)
    return json_response(await _render(task, user))


@bp.post("/<task_id:id>/enroll")
@endpoint(
    summary="报名任务",
    roles=MEMBER_ROLES,
    response=EnrollmentRead,
    status=201,
    idempotent=True,
    rate_limit="enroll",
    errors=(NotFound, TaskFull, TaskClosed, AlreadyEnrolled, NotInAudience),
    tag="tasks",
)
async def post_enroll(request: Request, task_id: int, user: User) -> HTTPResponse:
    """Take a place; the quota holds under any concurrency. Honours Idempotency-Key."""
    enrollment = await enroll(await visible_task(task_id, user), user)
    return json_response(EnrollmentRead.of(enrollment), status=201)


@bp.delete("/<task_id:id>/enroll")
@endpoint(summary="取消报名", roles=MEMBER_ROLES, status=204, errors=(NotFound, NotEnrolled, Conflict), tag="tasks")
async def delete_enroll(request: Request, task_id: int, user: User) -> HTTPResponse:
    """Withdraw and give the place back (not after evidence was submitted)."""
    await withdraw(await visible_task(task_id, user), user)
    return no_content()


@bp.post("/<task_id:id>/checkin")
@endpoint(
    summary="现场签到",
    body=CheckinIn,
    response=EnrollmentRead,
    idempotent=True,
    errors=(NotFound, OutsideArea, BadScene, NotEnrolled, CheckinWindowClosed),
    tag="tasks",
)
async def post_checkin(request: Request, task_id: int, user: User, body: CheckinIn, services: Services) -> HTTPResponse:
    """Check in by GPS (`lat`, `lng`, optional `accuracy` in metres) or by the printed code's `scene`."""
    task = await visible_task(task_id, user)
    enrollment = await check_in(
        task,
        user,
        lat=body.lat,
        lng=body.lng,
        accuracy_m=body.accuracy,
        scene=body.scene,
        scene_secret=services.scene_key,
    )
    return json_response(EnrollmentRead.of(enrollment))


@bp.post("/<task_id:id>/checkout")
@endpoint(
    summary="现场签退",
    body=CheckoutIn,
    response=EnrollmentRead,
    idempotent=True,
    errors=(NotFound, OutsideArea, BadScene, NotEnrolled, NotCheckedIn, CheckoutNotRequired, CheckoutWindowClosed),
    tag="tasks",
)
async def post_checkout(
    request: Request, task_id: int, user: User, body: CheckoutIn, services: Services
) -> HTTPResponse:
    """Check out as check-in does (GPS or the code's `scene`); twice answers the first check-out."""
    task = await visible_task(task_id, user)
    enrollment = await check_out(
        task,
        user,
        lat=body.lat,
        lng=body.lng,
        accuracy_m=body.accuracy_metres,
        scene=body.scene,
        scene_secret=services.scene_key,
    )
    return json_response(EnrollmentRead.of(enrollment))


@bp.get("/<task_id:id>/qrcode")
@endpoint(
    summary="任务签到小程序码",
    roles=STAFF_ROLES,
    errors=(NotFound,),
    produces=("image/jpeg", "image/png"),
    tag="tasks",
)
async def qrcode(request: Request, task_id: int, user: User, services: Services) -> HTTPResponse:
    """The WeChat mini-program code whose scene opens this task's check-in (cached)."""
    task = await managed_task(task_id, user)
    scene = scene_for(task.id, services.scene_key)
    image, content_type = await services.qrcodes.get(scene, CHECKIN_PAGE)
    return HTTPResponse(image, content_type=content_type, headers={"Cache-Control": "private, max-age=86400"})


@bp.get("/<task_id:id>/enrollments")
@endpoint(
    summary="任务报名名单", roles=STAFF_ROLES, query=PageQuery, response=EnrollmentList, errors=(NotFound,), tag="tasks"
)
async def enrollments(request: Request, task_id: int, user: User, query: PageQuery, services: Services) -> HTTPResponse:
    """Everyone enrolled in a task with their check-in state, in enrollment order."""
    task = await managed_task(task_id, user)
    rows = await enrollments_page(task.id, decode_id_cursor(query.cursor), query.limit)
    page, next_cursor = split_page(rows, query.limit)
    items = [
        EnrollmentRow(
            enrollment=EnrollmentRead.of(e),
            user=UserRead.of(e.user, services.storage),
            checkin_method=e.checkin_method,
            checkin_distance_m=e.checkin_distance_m,
        )
        for e in page
    ]
    return json_response(EnrollmentList(items=items, next_cursor=next_cursor))


@bp.get("/<task_id:id>/enrollments.xlsx")
@endpoint(
    summary="任务报名名单（Excel）",
    roles=STAFF_ROLES,
    errors=(NotFound, Forbidden),
    produces=(XLSX,),
    tag="tasks",
)
async def enrollments_xlsx(request: Request, task_id: int, user: User, services: Services) -> HTTPResponse:
    """Everyone enrolled: name, org, phone (whole for admins, else masked), enrolled, checked in and out, hours."""
    task = await managed_task(task_id, user)
    body = await roster_file(user, task, services.vault)
    return HTTPResponse(body, content_type=XLSX, headers=roster_download(task))
