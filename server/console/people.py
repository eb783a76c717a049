"""人员: the staff member's people (search, filters, role changes), org-change requests and the roster import.

Every action goes through the API's own code path: ``server.web.people`` (list, role change,
roster import) and ``models.org_requests.decide`` with the caller's scope.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import HonourHoursIn, OrgDecisionIn, UserQuery, UserUpdate
from models.console import ConsoleSession
from models.org_requests import OrgChangeRequest, decide, org_requests_page
from models.users import ROLES, User, find_user
from server.console.forms import field_errors, org_choices, upload_outcome, validate
from server.console.guard import console_page
from server.console.render import page
from server.kernel.errors import Forbidden, InvalidRequest
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.people import (
    ROSTER_MAX_BYTES,
    change_person_as,
    find_people,
    grant_honour_hours_as,
    import_roster_upload,
)
from server.web.permissions import may_change_person, staff_scope
from server.web.services import services_of

bp = Blueprint("console_people", url_prefix="/console/people")
PAGE_SIZE = 20
REQUESTS_SHOWN = 10
FILTERS = ("q", "org_id", "role")
NO_FILE = "请先选择名册文件（.xlsx 或 .csv）"


def _args(request: Request) -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in (*FILTERS, "cursor", "rcursor")}


def _url(args: dict[str, str], **changes: str | None) -> str:
    wanted = {**args, **changes}
    query = urlencode({k: v for k, v in wanted.items() if v})
    return f"/console/people?{query}" if query else "/console/people"


def role_choices(user: User, target: User) -> list[str]:
    """The roles the caller may give ``target`` (the API's rule, asked role by role); empty: none."""
    allowed = []
    for role in ROLES:
        try:
            may_change_person(user, target, role, None, False)
        except Forbidden:
            continue
        allowed.append(role)
    return allowed if len(allowed) > 1 else []


async def _pending_requests(user: User, rcursor: str) -> tuple[list[OrgChangeRequest], str | None]:
    scope = staff_scope(user)
    rows = await org_requests_page(
        scope_path=scope.path if scope else None,
        status="pending",
        before_id=decode_id_cursor(rcursor),
        limit=REQUESTS_SHOWN,
    )
    return split_page(rows, REQUESTS_SHOWN)


@bp.get("")
@console_page
async def people(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    args = _args(request)
    errors: dict[str, str] = {}
    rows: list[User] = []
    next_cursor = None
    status = 200
    try:
        query = validate(UserQuery, {k: v for k, v in args.items() if v and k in (*FILTERS, "cursor")})
        rows, next_cursor = await find_people(
            user,
            services_of(request).vault,
            org_id=int(query.org_id) if query.org_id else None,
            role=query.role,
            q=query.q,
            cursor=query.cursor,
            limit=PAGE_SIZE,
        )
    except InvalidRequest as exc:
        errors, status = _filter_errors(field_errors(exc) or {"q": exc.message}), 400
    requests, requests_next = await _pending_requests(user, args["rcursor"] if not errors else "")
    return await page(
        request,
        "people.html",
        status=status,
        title="人员",
        args=args,
        errors=errors,
        people=rows,
        choices_by_id={p.id: role_choices(user, p) for p in rows},
        orgs=await org_choices(user),
        list_url=_url(args),
        next_url=_url(args, cursor=next_cursor, rcursor=None) if next_cursor else None,
        first_url=_url(args, cursor=None) if args["cursor"] else None,
        requests=requests,
        requests_next=_url(args, rcursor=requests_next) if requests_next else None,
        max_mb=ROSTER_MAX_BYTES // (1024 * 1024),
    )


def _filter_errors(errors: dict[str, str]) -> dict[str, str]:
    """The model's words for a select's value (codes, patterns) as staff read them."""
    if "role" in errors:
        errors["role"] = "请从列表中选择角色"
    if "org_id" in errors and errors["org_id"] != "组织不存在":
        errors["org_id"] = "请从列表中选择组织"
    return errors


def _plain(exc: InvalidRequest) -> InvalidRequest:
    """A form's field errors as one sentence, for the notice an htmx action shows."""
    reasons = list(field_errors(exc).values())
    return InvalidRequest("；".join(reasons)) if reasons else exc


@bp.post("/<user_id:int>/role")
@console_page
async def change_role(request: Request, user_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    role = (request.form.get("role") or "").strip()
    try:
        body = validate(UserUpdate, {"role": role or None})
    except InvalidRequest as exc:
        raise _plain(exc) from None
    target = await change_person_as(user, user_id, body.model_dump(exclude_unset=True))
    context: dict[str, Any] = {"p": target, "choices": role_choices(user, target), "changed": True}
    return await page(request, "_person_row.html", **context)


HONOUR_LABELS = {"hours": "时长", "reason": "理由"}


@bp.post("/<user_id:int>/honour-hours")
@console_page
async def grant_honour(request: Request, user_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """授予荣誉时长 (admins): the API's rule and operation; a refusal names the field in Chinese."""
    if user.role != "admin":
        raise Forbidden("只有管理员可以授予荣誉时长")
    hours = (request.form.get("hours") or "").strip()
    reason = (request.form.get("reason") or "").strip()
    try:
        body = validate(HonourHoursIn, {"hours": _number(hours), "reason": reason})
    except InvalidRequest as exc:
        reasons = [f"{HONOUR_LABELS.get(k, k)}{v}" for k, v in field_errors(exc).items()]
        raise InvalidRequest("未授予：" + "；".join(reasons)) from None
    await grant_honour_hours_as(user, user_id, body.hours, body.reason)
    target = await find_user(user_id)
    context: dict[str, Any] = {"p": target, "choices": role_choices(user, target), "granted": body.hours}
    return await page(request, "_person_row.html", **context)


def _number(text: str) -> int | float | str:
    """A typed number as JSON would carry it; anything else as typed, for the model to refuse."""
    if not text:
        return ""
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value


async def _decide(request: Request, request_id: int, user: User, *, approve: bool) -> HTTPResponse:
    reason = (request.form.get("reason") or "").strip()
    try:
        body = validate(OrgDecisionIn, {"reason": reason or None})
    except InvalidRequest as exc:
        raise _plain(exc) from None
    scope = staff_scope(user)
    try:
        decided = await decide(request_id, user, scope.path if scope else None, approve=approve, reason=body.reason)
    except InvalidRequest as exc:
        raise _plain(exc) from None
    return await page(request, "_org_request_row.html", r=decided)


@bp.post("/requests/<request_id:int>/approve")
@console_page
async def approve_request(request: Request, request_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    return await _decide(request, request_id, user, approve=True)


@bp.post("/requests/<request_id:int>/refuse")
@console_page
async def refuse_request(request: Request, request_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    return await _decide(request, request_id, user, approve=False)


@bp.post("/import", stream=True)
@console_page
async def import_roster(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """导入名册: the API's import (same checks, same audit entry); the answer lists each bad row.

    Streamed like the API's upload, so the CSRF token comes in the htmx header, not the body."""
    upload = import_roster_upload(request, user, services_of(request), field="file")
    result, failure = await upload_outcome(upload, NO_FILE)
    response = await page(request, "_roster_result.html", result=result, failure=failure)
    if result is not None:
        response.headers["HX-Trigger"] = "people-changed"
    return response
