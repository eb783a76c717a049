"""The reports (participation; messages), one way for every door: the API's download and the console's buttons.

What a report covers (period, org, campaign) is decided here from the parsed query, the caller's
scope is checked, the export is audited, and the file is written by ``media.reports``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote

from media.reports import TOTAL_LABEL, messages_xlsx, participation_csv, participation_xlsx
from models.audit import record
from models.message_report import MessageOrgRow, message_report, total
from models.orgs import Org
from models.participation import ParticipationRow, participation, reach_by_org
from models.users import User
from server.kernel.clock import local_day_start, now_local, now_utc
from server.kernel.errors import InvalidRequest
from server.web.permissions import org_for_report

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
KINDS = {"xlsx": XLSX, "csv": CSV}
REFUSAL = "只能导出本组织及下级组织的报表"
TITLE = "志愿服务参与情况"
MESSAGES_TITLE = "网民留言办理情况"


@dataclass(frozen=True)
class ReportScope:
    """What one report covers: county days ``first``..``last`` (inclusive), an org subtree, maybe a campaign."""

    first: date
    last: date
    org: Org | None  # None: everywhere (an admin without an org filter)
    campaign_id: int | None

    @property
    def period(self) -> str:
        return f"{self.first.isoformat()}_{self.last.isoformat()}"


@dataclass(frozen=True)
class ReportFile:
    body: bytes
    content_type: str
    headers: dict[str, str]


async def report_scope(
    user: User, first: date | None, last: date | None, org_id: int | None, campaign_id: int | None
) -> ReportScope:
    """The period (by default this month up to today) and the org, which must lie in the caller's subtree."""
    today = now_local().date()
    first, last = first or (last or today).replace(day=1), last or today
    if first > last:
        raise InvalidRequest.fields({"from": "开始日期不能晚于结束日期"})
    org = await org_for_report(user, org_id, REFUSAL)
    return ReportScope(first, last, org, campaign_id)


async def report_rows(scope: ReportScope) -> list[ParticipationRow]:
    since, until = local_day_start(scope.first), local_day_start(scope.last + timedelta(days=1))
    org_path = scope.org.path if scope.org else "/"
    return await participation(since=since, until=until, org_path=org_path, campaign_id=scope.campaign_id)


async def participation_file(user: User, scope: ReportScope, kind: str) -> ReportFile:
    """The report as ``kind`` (xlsx or csv), its export audited, with its download headers."""
    rows = await report_rows(scope)
    org = scope.org
    await record(user, "export", f"participation.{kind}", {"period": scope.period, "org_id": org and org.id})
    if kind == "csv":
        body = await asyncio.to_thread(participation_csv, rows)
    else:
        reach = await reach_by_org(org, rows)
        body = await asyncio.to_thread(participation_xlsx, rows, title=TITLE, period=scope.period, org_reach=reach)
    return ReportFile(body, KINDS[kind], _download("participation", "参与情况", scope, kind))


async def message_rows(scope: ReportScope) -> list[MessageOrgRow]:
    """The messages report's rows: one per child org of the scope's org, then 合计 (none without children).

    The xlsx, the console's 报表 page and its 首页 card all show these, so their numbers agree.
    """
    since, until = local_day_start(scope.first), local_day_start(scope.last + timedelta(days=1))
    rows = await message_report(since, until, scope.org, now_utc())
    return [*rows, total(rows, TOTAL_LABEL)] if rows else []


async def messages_file(user: User, scope: ReportScope) -> ReportFile:
    """The messages report (xlsx), one row per child org of the scope's org and the total, its export audited."""
    rows = await message_rows(scope)
    org = scope.org
    await record(user, "export", "messages.xlsx", {"period": scope.period, "org_id": org and org.id})
    body = await asyncio.to_thread(messages_xlsx, [row.values() for row in rows], title=MESSAGES_TITLE)
    return ReportFile(body, XLSX, _download("messages", "留言办理", scope, "xlsx"))


def _download(name: str, chinese: str, scope: ReportScope, kind: str) -> dict[str, str]:
    """An ASCII file name for old clients, the Chinese one (RFC 5987) for the rest."""
    ascii_name = f"{name}_{scope.period}.{kind}"
    disposition = f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(f'{chinese}_{scope.period}.{kind}')}"
    return {"Content-Disposition": disposition}
