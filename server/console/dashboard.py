"""首页: the staff member's subtree at a glance, two charts drawn in the browser (static/dashboard.js)."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from media.reports import MESSAGE_HEADERS
from models.console import ConsoleSession
from models.dashboard import Dashboard, dashboard
from models.users import User
from server.console.guard import console_page
from server.console.messages import message_figures
from server.console.render import page
from server.kernel.clock import now_utc
from server.web.permissions import staff_scope
from server.web.reports import message_rows, report_scope

bp = Blueprint("console_dashboard", url_prefix="/console")


@bp.get("/")
@console_page
async def dashboard_page(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    scope = staff_scope(user)
    figures = await dashboard(scope, now_utc())
    month = await report_scope(user, None, None, None, None)  # this month, the staff member's org
    return await page(
        request,
        "dashboard.html",
        figures=figures,
        scope_name=f"{scope.name}及下级组织" if scope else "全部组织",
        charts=chart_data(figures),
        messages=await message_figures(user),
        message_rows=await message_rows(month),
        message_headers=MESSAGE_HEADERS,
    )


def chart_data(figures: Dashboard) -> dict[str, Any]:
    """What static/dashboard.js draws, as JSON in the page (never inline script)."""
    return {
        "orgs": {
            "names": [bar.name for bar in figures.orgs],
            "enrolled": [bar.enrolled for bar in figures.orgs],
            "empty": not any(bar.enrolled for bar in figures.orgs),
        },
        "days": {
            "dates": [point.day.isoformat() for point in figures.days],
            "labels": [point.day.strftime("%m-%d") for point in figures.days],
            "submitted": [point.submitted for point in figures.days],
            "approved": [point.approved for point in figures.days],
            "empty": not any(point.submitted or point.approved for point in figures.days),
        },
    }
