"""Staff reports: participation per person and per org, as xlsx or csv."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import Day, Id
from media.reports import participation_csv, participation_xlsx
from models.audit import record
from models.participation import participation
from models.users import STAFF_ROLES, User
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import Forbidden, InvalidRequest
from server.web.endpoint import FieldError, endpoint
from server.web.permissions import org_for_report

bp = Blueprint("reports", url_prefix="/reports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    from_: Day | None = Field(None, alias="from", description="YYYY-MM-DD，默认本月 1 日")
    to: Day | None = Field(None, description="YYYY-MM-DD（含），默认今天")
    org_id: Id | None = None
    campaign_id: Id | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ReportQuery:
        if self.from_ and self.to and self.from_ > self.to:
            raise FieldError("结束日期不能早于开始日期（from）", "to")
        return self


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
    return await _report(request, user, query, "xlsx")


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
    return await _report(request, user, query, "csv")


async def _report(request: Request, user: User, query: ReportQuery, kind: str) -> HTTPResponse:
    today = datetime.now(LOCAL_TZ).date()
    first, last = query.from_ or (query.to or today).replace(day=1), query.to or today
    if first > last:
        raise InvalidRequest.fields({"from": "开始日期不能晚于结束日期"})
    org = await org_for_report(user, int(query.org_id) if query.org_id else None, "只能导出本组织及下级组织的报表")
    since = datetime.combine(first, time(), LOCAL_TZ)
    until = datetime.combine(last + timedelta(days=1), time(), LOCAL_TZ)
    campaign_id = int(query.campaign_id) if query.campaign_id else None
    rows = await participation(since=since, until=until, org_path=org.path if org else "/", campaign_id=campaign_id)
    period = f"{first.isoformat()}_{last.isoformat()}"
    await record(user, "export", f"participation.{kind}", {"period": period, "org_id": org and org.id})
    if kind == "csv":
        body, content_type = await asyncio.to_thread(participation_csv, rows), CSV
    else:
        body = await asyncio.to_thread(participation_xlsx, rows, title="志愿服务参与情况", period=period)
        content_type = XLSX
    # An ASCII name for old clients, the Chinese one (RFC 5987) for the rest.
    name = f"participation_{period}.{kind}"
    headers = {
        "Content-Disposition": f"attachment; filename={name}; filename*=UTF-8''{quote(f'参与情况_{period}.{kind}')}"
    }
    return HTTPResponse(body, content_type=content_type, headers=headers)
