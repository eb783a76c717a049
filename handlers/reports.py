"""Staff reports: participation per person and per org, as xlsx or csv; netizen messages per org, as xlsx."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.report_schemas import MessageReportQuery, ReportQuery
from models.users import STAFF_ROLES, User
from server.kernel.errors import Forbidden
from server.web.endpoint import endpoint
from server.web.reports import CSV, XLSX, messages_file, participation_file, report_scope

bp = Blueprint("reports", url_prefix="/reports")


@bp.get("/participation.xlsx")
@endpoint(
    summary="参与情况报表（Excel）",
    roles=STAFF_ROLES,
    query=ReportQuery,
    errors=(Forbidden,),
    produces=(XLSX,),
    tag="reports",
)
async def participation_xlsx_report(request: Request, user: User, query: ReportQuery) -> HTTPResponse:
    """Per person and per org: enrolled, checked in, submitted, approved, points, service hours."""
    return await _report(user, query, "xlsx")


@bp.get("/participation.csv")
@endpoint(
    summary="参与情况报表（CSV）",
    roles=STAFF_ROLES,
    query=ReportQuery,
    errors=(Forbidden,),
    produces=(CSV,),
    tag="reports",
)
async def participation_csv_report(request: Request, user: User, query: ReportQuery) -> HTTPResponse:
    """The per-person rows of the report as CSV (UTF-8 with BOM, opens in Excel)."""
    return await _report(user, query, "csv")


async def _report(user: User, query: ReportQuery, kind: str) -> HTTPResponse:
    org_id = int(query.org_id) if query.org_id else None
    campaign_id = int(query.campaign_id) if query.campaign_id else None
    scope = await report_scope(user, query.from_, query.to, org_id, campaign_id)
    report = await participation_file(user, scope, kind)
    return HTTPResponse(report.body, content_type=report.content_type, headers=report.headers)


@bp.get("/messages.xlsx")
@endpoint(
    summary="留言办理报表（Excel）",
    roles=STAFF_ROLES,
    query=MessageReportQuery,
    errors=(Forbidden,),
    produces=(XLSX,),
    tag="reports",
)
async def messages_xlsx_report(request: Request, user: User, query: MessageReportQuery) -> HTTPResponse:
    """Per child org of `org_id` (default: yours), the messages written in the period: 受理, 办结, rates, 超期, 督办."""
    org_id = int(query.org_id) if query.org_id else None
    scope = await report_scope(user, query.from_, query.to, org_id, None)
    report = await messages_file(user, scope)
    return HTTPResponse(report.body, content_type=report.content_type, headers=report.headers)
