"""任务: the task form, a task's page with its enrollments, its check-in code and its roster download."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from handlers.schemas import PageQuery
from handlers.task_schemas import new_task_columns, task_changes
from models.campaigns import Campaign
from models.console import ConsoleSession
from models.enrollment import CHECKIN_PAGE, enrollments_page, scene_for
from models.online_links import PLATFORM_NAMES
from models.quiz_attempts import quiz_stats
from models.reach import REPOST_LEVELS, REPOST_NAMES
from models.sharing import ShareLink, ShareOpen
from models.submissions import Submission
from models.tasks import cancel_task, create_task, update_task
from models.users import User
from server.console.campaign_forms import (
    NEW_ONLINE,
    NEW_QUIZ,
    QUIZ_TYPE_NAMES,
    TASK_LABELS,
    TIERS_HINT,
    form_fields,
    task_body,
    task_values,
)
from server.console.campaigns import FORM_MESSAGE, done_message
from server.console.forms import field_errors, form_values
from server.console.guard import console_page
from server.console.render import page
from server.console.review import STATUS_NAMES
from server.kernel.clock import now_utc
from server.kernel.errors import InvalidRequest
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.glossary import label
from server.web.permissions import managed_campaign, managed_task
from server.web.rosters import CHECKIN_METHODS, XLSX, roster_file
from server.web.services import services_of

bp = Blueprint("console_tasks", url_prefix="/console")
ENROLLMENTS_PAGE_SIZE = 50
ONLINE_WORKS = 50
NEW_TASK = {"points": "0", "service_hours": "0", "radius_m": "", **NEW_QUIZ, **NEW_ONLINE}
# What the online section shows and offers, in the words of the form.
ONLINE_NAMES = {"platforms": PLATFORM_NAMES, "repost_levels": {level: REPOST_NAMES[level] for level in REPOST_LEVELS}}
# Characters a file name may not carry on Windows (and control characters).
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


def attachment(name: str) -> str:
    """A Content-Disposition that downloads under a Chinese file name (RFC 6266, with an ASCII fallback)."""
    clean = _UNSAFE_NAME.sub("_", name).strip() or "download"
    fallback = clean.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean)}"


async def _form(request: Request, campaign: Campaign, values: dict[str, str], **extra: Any) -> HTTPResponse:
    return await page(
        request,
        "task_form.html",
        status=extra.pop("status", 200),
        campaign=campaign,
        task=extra.pop("task", None),
        values=values,
        errors=extra.pop("errors", {}),
        labels=TASK_LABELS,
        quiz_types=QUIZ_TYPE_NAMES,
        online_names=ONLINE_NAMES,
        tiers_hint=TIERS_HINT,
        **extra,
    )


@bp.get("/campaigns/<campaign_id:int>/tasks/new")
@console_page
async def new_task(request: Request, campaign_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    campaign = await managed_campaign(campaign_id, user)
    return await _form(request, campaign, dict(NEW_TASK))


@bp.post("/campaigns/<campaign_id:int>/tasks/new")
@console_page
async def post_task(request: Request, campaign_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    campaign = await managed_campaign(campaign_id, user)
    values = form_values(request)
    try:
        columns = await new_task_columns(task_body(values, new=True))
        task = await create_task(campaign, columns, services_of(request).effects)
    except InvalidRequest as exc:
        errors = field_errors(form_fields(exc))
        return await _form(request, campaign, values, status=400, errors=errors, message=FORM_MESSAGE)
    return redirect(f"/console/tasks/{task.id}?done=task_created", status=303)


@bp.get("/tasks/<task_id:int>/edit")
@console_page
async def edit_task(request: Request, task_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    task = await managed_task(task_id, user)
    return await _form(request, task.campaign, task_values(task), task=task)


@bp.post("/tasks/<task_id:int>/edit")
@console_page
async def post_edit(request: Request, task_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    task = await managed_task(task_id, user)
    values = form_values(request)
    try:
        await update_task(task, await task_changes(task_body(values, new=False)))
    except InvalidRequest as exc:
        errors = field_errors(form_fields(exc))
        return await _form(request, task.campaign, values, task=task, status=400, errors=errors, message=FORM_MESSAGE)
    return redirect(f"/console/tasks/{task.id}?done=saved", status=303)


@bp.get("/tasks/<task_id:int>")
@console_page
async def task_page(request: Request, task_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    task = await managed_task(task_id, user)
    query = PageQuery(limit=ENROLLMENTS_PAGE_SIZE, cursor=request.args.get("cursor") or None)
    rows = await enrollments_page(task.id, decode_id_cursor(query.cursor), query.limit)
    enrollments, next_cursor = split_page(rows, query.limit)
    here = f"/console/tasks/{task.id}"
    return await page(
        request,
        "task.html",
        task=task,
        campaign=task.campaign,
        task_status=task.status_at(now_utc()),
        enrollments=enrollments,
        enrollment_statuses={s: label(s) for s in ("enrolled", "checked_in", "submitted", "withdrawn")},
        task_statuses={s: label(s) for s in ("open", "ended", "cancelled")},
        methods=CHECKIN_METHODS,
        quiz_stats=await quiz_stats(task) if task.quiz else None,
        quiz_types=QUIZ_TYPE_NAMES,
        online_names=ONLINE_NAMES,
        share_stats=await share_stats(task.id) if task.online else None,
        works=await online_works(task.id) if task.online else [],
        submission_statuses=STATUS_NAMES,
        done=done_message(request),
        next_url=f"{here}?cursor={next_cursor}" if next_cursor else None,
        first_url=here if query.cursor else None,
    )


async def online_works(task_id: int) -> list[Submission]:
    """The task's latest submissions with their reach, each a way to its reach page (one query)."""
    rows = Submission.filter(task_id=task_id).select_related("user__org").order_by("-id").limit(ONLINE_WORKS)
    return await rows


async def share_stats(task_id: int) -> dict[str, int]:
    """分享人数 (one link a person) and 打开人次 of a task (an open counts once per opener and link)."""
    links = await ShareLink.filter(task_id=task_id).count()
    opens = await ShareOpen.filter(task_id=task_id).count()
    return {"links": links, "opens": opens}


@bp.post("/tasks/<task_id:int>/cancel")
@console_page
async def cancel(request: Request, task_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    task = await cancel_task(await managed_task(task_id, user), user)
    return redirect(f"/console/tasks/{task.id}?done=cancelled", status=303)


@bp.get("/tasks/<task_id:int>/qrcode")
@console_page
async def qrcode(request: Request, task_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """The task's check-in mini-program code, as the API's ``GET /tasks/{id}/qrcode``, as a download."""
    task = await managed_task(task_id, user)
    services = services_of(request)
    image, content_type = await services.qrcodes.get(scene_for(task.id, services.scene_key), CHECKIN_PAGE)
    name = f"签到码-{task.title}.{_EXTENSIONS.get(content_type, 'jpg')}"
    headers = {"Content-Disposition": attachment(name), "Cache-Control": "private, max-age=86400"}
    return HTTPResponse(image, content_type=content_type, headers=headers)


@bp.get("/tasks/<task_id:int>/enrollments.xlsx")
@console_page
async def export(request: Request, task_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """导出名单: everyone enrolled in the task, as the API's ``GET /tasks/{id}/enrollments.xlsx``."""
    task = await managed_task(task_id, user)
    data = await roster_file(user, task, services_of(request).vault)
    headers = {"Content-Disposition": attachment(f"报名名单-{task.title}.xlsx")}
    return HTTPResponse(data, content_type=XLSX, headers=headers)
