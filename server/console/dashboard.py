"""首页: the staff member's subtree at a glance."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from models.console import ConsoleSession
from models.users import User
from server.console.guard import console_page
from server.console.render import page

bp = Blueprint("console_dashboard", url_prefix="/console")


@bp.get("/")
@console_page
async def dashboard(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    return await page(request, "dashboard.html")
