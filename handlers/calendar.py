"""The working-day calendar that message deadlines count by: read by anyone signed in, set by admins."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.calendar_schemas import CalendarIn, CalendarRead
from models.calendar import CALENDAR_ROLES, FIRST_YEAR, LAST_YEAR, CalendarBusy, check_year_number, get_year, put_year
from models.users import User
from server.web.endpoint import endpoint, json_response

bp = Blueprint("calendar", url_prefix="/calendar")
YEAR = {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR}


@bp.get("/<year:int>")
@endpoint(summary="工作日历", response=CalendarRead, path={"year": YEAR}, tag="calendar")
async def get_calendar(request: Request, year: int, user: User) -> HTTPResponse:
    """The year's holidays and make-up workdays, sorted; empty lists for a year not yet entered."""
    check_year_number(year)
    return json_response(CalendarRead.of(await get_year(year)))


@bp.put("/<year:int>")
@endpoint(
    summary="设置工作日历",
    roles=CALENDAR_ROLES,
    body=CalendarIn,
    response=CalendarRead,
    path={"year": YEAR},
    errors=(CalendarBusy,),
    tag="calendar",
)
async def put_calendar(request: Request, year: int, user: User, body: CalendarIn) -> HTTPResponse:
    """Replace the year's holidays and make-up workdays (audited); answers the stored year."""
    return json_response(CalendarRead.of(await put_year(year, body.holidays, body.workdays, user)))
