"""Signing in: the mini-program code to scan (with the page's wait for its confirmation),
the one-time link from ``wenming console link``, and signing out."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, redirect

from models.console import (
    SCAN_TTL,
    SESSION_IDLE,
    ConsoleSession,
    claim_scan,
    end_session,
    open_scan_ticket,
    redeem_link,
    start_session,
)
from models.users import User
from server.console.guard import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_PATH,
    SESSION_COOKIE_PATH,
    clear_cookie,
    console_page,
    current_session,
    set_cookie,
)
from server.console.render import page
from server.kernel.errors import ServiceUnavailable
from server.web.services import services_of

bp = Blueprint("console_login", url_prefix="/console")

LOGIN_PAGE = "pages/console-login/index"  # the mini-program page that asks "sign in to the console?"
SCENE_PREFIX = "login:"


async def _signed_in(request: Request, user: User, response: HTTPResponse | None = None) -> HTTPResponse:
    raw, _ = await start_session(user)
    response = response or redirect("/console/", status=303)
    set_cookie(request, response, COOKIE, raw, SESSION_COOKIE_PATH, int(SESSION_IDLE.total_seconds()))
    clear_cookie(request, response, LOGIN_COOKIE, LOGIN_PATH)
    return response


@bp.get("/login")
async def login(request: Request) -> HTTPResponse:
    """The sign-in page: a fresh code to scan, tied to this browser by a cookie."""
    session = await current_session(request)
    if session is not None and session.user.is_staff:
        return redirect("/console/", status=303)
    ticket, browser = await open_scan_ticket()
    response = await page(request, "login.html", minutes=int(SCAN_TTL.total_seconds() // 60))
    set_cookie(request, response, LOGIN_COOKIE, f"{ticket}.{browser}", LOGIN_PATH, int(SCAN_TTL.total_seconds()))
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_cookie(request: Request) -> tuple[str, str]:
    ticket, _, browser = request.cookies.get(LOGIN_COOKIE, "").partition(".")
    return ticket, browser


@bp.get("/login/code")
async def login_code(request: Request) -> HTTPResponse:
    """The mini-program code (scene ``login:<ticket>``) of this browser's sign-in."""
    ticket, _ = _login_cookie(request)
    if not ticket:
        return HTTPResponse(status=404)
    services = services_of(request)
    try:
        image, content_type = await services.wechat.get_wxacode_unlimit(scene=SCENE_PREFIX + ticket, page=LOGIN_PAGE)
    except Exception as exc:  # WeChat down: the page says so and offers the link way in
        raise ServiceUnavailable("暂时无法获取登录小程序码，请稍后刷新，或请管理员生成登录链接") from exc
    return HTTPResponse(image, content_type=content_type, headers={"Cache-Control": "no-store"})


@bp.get("/login/wait")
async def login_wait(request: Request) -> HTTPResponse:
    """Polled by the sign-in page: 202 while the code waits, 200 once confirmed (and signed in), 410 when gone."""
    ticket, browser = _login_cookie(request)
    outcome = await claim_scan(ticket, browser) if ticket and browser else False
    if outcome is None:
        return json({"state": "waiting"}, status=202)
    if outcome is False:
        return json({"state": "expired", "message": "二维码已过期，请刷新页面重新扫码"}, status=410)
    return await _signed_in(request, outcome, json({"state": "signed_in", "next": "/console/"}))


@bp.get("/login/link/<secret:str>")
async def login_link(request: Request, secret: str) -> HTTPResponse:
    """A one-time link from ``wenming console link``."""
    user = await redeem_link(secret) if len(secret) <= 64 else None
    if user is None or not user.is_staff:
        return await page(request, "login.html", status=410, link_failed=True, minutes=5)
    return await _signed_in(request, user)


@bp.post("/logout")
@console_page
async def logout(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """退出登录: the session ends on the server, the cookie goes."""
    await end_session(session.id)
    response = redirect(LOGIN_PATH, status=303)
    clear_cookie(request, response, COOKIE, SESSION_COOKIE_PATH)
    return response
