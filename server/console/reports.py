"""报表: the participation report's files, the same as the API's (server.web.reports), from a form.

The form is a GET form: ``/console/reports`` shows the filters with a summary per org, its
buttons ask ``/console/reports/participation.xlsx`` or ``.csv``, or the messages report
``/console/reports/messages.xlsx``, with the same fields. A bad field
shows the form again (400) with the reason beside it; a download is audited as the API's is.
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.report_schemas import ReportQuery
from media.reports import MESSAGE_HEADERS, ORG_HEADERS, TOTAL_LABEL, ParticipationTotals, totals_by_org
from models.campaigns import campaigns_page
from models.console import ConsoleSession
from models.users import User
from server.console.forms import date_errors, field_errors, org_choices
from server.console.guard import console_page
from server.console.render import page
from server.kernel.errors import InvalidRequest
from server.web.endpoint import parse_model
from server.web.permissions import staff_scope
from server.web.reports import (
    ReportScope,
    message_rows,
    messages_file,
    participation_file,
    report_rows,
    report_scope,
)

bp = Blueprint("console_reports", url_prefix="/console/reports")
# The form's field names and the API query's.
FIELDS = {"start": "from", "end": "to", "org": "org_id", "campaign": "campaign_id"}
FROM_API = {api: form for form, api in FIELDS.items()}
CAMPAIGN_CHOICES = 200


@bp.get("")
@console_page
async def reports_page(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    values = _values(request)
    try:
        scope = await _scope(user, values)
    except InvalidRequest as exc:
        return await _form(request, user, values, errors=_form_errors(exc), status=400)
    by_org = totals_by_org(await report_rows(scope))
    grand = sum((totals for _, totals in by_org), ParticipationTotals())
    messages = await message_rows(scope)
    return await _form(request, user, values, scope=scope, by_org=by_org, grand=grand, messages=messages)


@bp.get("/participation.xlsx")
@console_page
async def download_xlsx(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    return await _download(request, user, "xlsx")


@bp.get("/participation.csv")
@console_page
async def download_csv(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    return await _download(request, user, "csv")


@bp.get("/messages.xlsx")
@console_page
async def download_messages(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """留言办理报表: the API's file for the form's period and org (the campaign does not apply)."""
    return await _download(request, user, "messages")


async def _download(request: Request, user: User, kind: str) -> HTTPResponse:
    values = _values(request)
    try:
        scope = await _scope(user, values)
    except InvalidRequest as exc:
        return await _form(request, user, values, errors=_form_errors(exc), status=400)
    report = await (messages_file(user, scope) if kind == "messages" else participation_file(user, scope, kind))
    return HTTPResponse(report.body, content_type=report.content_type, headers=report.headers)


def _values(request: Request) -> dict[str, str]:
    return {name: (request.args.get(name) or "").strip() for name in FIELDS}


async def _scope(user: User, values: dict[str, str]) -> ReportScope:
    """The API's query from the form (dates checked as typed first), then the API's scope rule."""
    errors = date_errors(values, ("start", "end"))
    data = {api: values[form] for form, api in FIELDS.items() if values[form] and form not in errors}
    query: ReportQuery | None = None
    try:
        query = parse_model(ReportQuery, data)
    except InvalidRequest as exc:
        errors = {**_form_errors(exc), **errors}
    if errors or query is None:
        raise InvalidRequest.fields(errors, "请修改标红的内容后再试")
    org_id = int(query.org_id) if query.org_id else None
    campaign_id = int(query.campaign_id) if query.campaign_id else None
    return await report_scope(user, query.from_, query.to, org_id, campaign_id)


def _form_errors(exc: InvalidRequest) -> dict[str, str]:
    return {FROM_API.get(k, k): v for k, v in field_errors(exc).items()}


async def _form(
    request: Request, user: User, values: dict[str, str], status: int = 200, **context: Any
) -> HTTPResponse:
    scope = staff_scope(user)
    org_options = [("", "全部（本组织及下级）" if scope else "全部组织"), *await org_choices(user)]
    campaigns = await campaigns_page(
        scope_path=scope.path if scope else None,
        drafts=True,
        status=None,
        kind=None,
        org_path=None,
        before_id=None,
        limit=CAMPAIGN_CHOICES,
    )
    campaign_options = [("", "全部活动")] + [(str(c.id), f"{c.title}（{c.org.name}）") for c in campaigns]
    context.setdefault("errors", {})
    return await page(
        request,
        "reports.html",
        status=status,
        values=values,
        org_options=org_options,
        campaign_options=campaign_options,
        org_headers=ORG_HEADERS,
        message_headers=MESSAGE_HEADERS,
        total_label=TOTAL_LABEL,
        **context,
    )
