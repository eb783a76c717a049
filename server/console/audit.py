"""审计: the audit log (admins only, as in the API), newest first, by person, action and date."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.audit_schemas import AuditQuery
from models.audit import ACTIONS, AUDIT_ROLES, audit_page
from models.console import ConsoleSession
from models.users import User, audit_actors
from server.console.audit_text import ACTION_NAMES, lines
from server.console.forms import date_errors, field_errors
from server.console.guard import console_page
from server.console.render import page
from server.kernel.clock import local_days
from server.kernel.errors import Forbidden, InvalidRequest
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import parse_model

bp = Blueprint("console_audit", url_prefix="/console/audit")
PAGE_SIZE = 30
FILTERS = ("actor", "action", "start", "end")
FROM_API = {"from": "start", "to": "end"}


class AuditRefused(Forbidden):
    message = "审计日志仅管理员可以查看"


@bp.get("")
@console_page
async def audit_log(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    if user.role not in AUDIT_ROLES:
        raise AuditRefused()
    values = {name: (request.args.get(name) or "").strip() for name in FILTERS}
    cursor = request.args.get("cursor") or None
    context: dict[str, Any] = {"values": values, "errors": {}, "rows": [], "next_url": None, "first_url": None}
    try:
        query, before_id = _parse(values, cursor)
    except InvalidRequest as exc:
        context["errors"] = {FROM_API.get(k, k): v for k, v in field_errors(exc).items()}
        return await _render(request, context, status=400)
    since, until = local_days(query.from_, query.to)
    rows = await audit_page(
        actor_id=int(query.actor) if query.actor else None,
        action=values["action"] or None,
        since=since,
        until=until,
        before_id=before_id,
        limit=PAGE_SIZE,
    )
    entries, next_cursor = split_page(rows, PAGE_SIZE)
    filters = {k: v for k, v in values.items() if v}
    context.update(
        rows=await lines(entries),
        next_url=f"/console/audit?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None,
        first_url=f"/console/audit?{urlencode(filters)}" if cursor else None,
    )
    return await _render(request, context)


def _parse(values: dict[str, str], cursor: str | None) -> tuple[AuditQuery, int | None]:
    errors = date_errors(values, ("start", "end"))
    if values["action"] and values["action"] not in ACTIONS:
        errors["action"] = "没有这种操作，请从列表中选择"
    data = {"actor": values["actor"], "from": values["start"], "to": values["end"]}
    data = {k: v for k, v in data.items() if v and FROM_API.get(k, k) not in errors}
    query = None
    try:
        query = parse_model(AuditQuery, data)
    except InvalidRequest as exc:
        errors = {**{FROM_API.get(k, k): v for k, v in field_errors(exc).items()}, **errors}
    if query and query.from_ and query.to and query.from_ > query.to:
        errors["end"] = "结束日期不能早于开始日期"
    before_id = None
    try:
        before_id = decode_id_cursor(cursor)
    except InvalidRequest:
        errors["cursor"] = "分页链接无效，请回到第一页"
    if errors or query is None:
        raise InvalidRequest.fields(errors, "筛选条件有误，请修改后再查")
    return query, before_id


async def _render(request: Request, context: dict[str, Any], status: int = 200) -> HTTPResponse:
    actors = await audit_actors()
    actor_options = [("", "全部人员")] + [
        (str(a.id), f"{a.name_on_record or a.nickname}" + (f"（{a.org.name}）" if a.org else "")) for a in actors
    ]
    action_options = [("", "全部操作")] + [(action, ACTION_NAMES.get(action, action)) for action in ACTIONS]
    return await page(
        request,
        "audit.html",
        status=status,
        actor_options=actor_options,
        action_options=action_options,
        **context,
    )
