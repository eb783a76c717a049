"""The mini-program's part in signing in to the staff console: confirming a scanned code."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from models.console import confirm_scan
from models.users import User
from server.kernel.errors import Conflict, Forbidden, NotFound
from server.web.endpoint import endpoint, no_content

bp = Blueprint("console", url_prefix="/console")


@bp.post("/tickets/<ticket:str>/confirm")
@endpoint(summary="确认登录管理后台", errors=(Forbidden, NotFound, Conflict), status=204, tag="console")
async def confirm(request: Request, ticket: str, user: User) -> HTTPResponse:
    """The signed-in staff member vouches for the browser showing the code with this ticket."""
    if len(ticket) > 64:
        raise NotFound("登录二维码已失效，请在电脑上刷新登录页后重新扫码")
    await confirm_scan(ticket, user)
    return no_content()
