"""Who is at the console: the session cookie, the staff check and CSRF on every state change.

``@console_page`` wraps every console handler but the sign-in pages: no session → to the
sign-in page (302, or ``HX-Redirect`` for an htmx request), a person who is not staff or
admin → 403 (and their session ends), a state-changing request without the session's CSRF
token → 403 before anything runs. The handler gets ``user`` and ``session``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse, redirect

from models.console import ConsoleSession, end_session, same_secret, session_for
from server.kernel.errors import Forbidden

COOKIE = "wm_console"
LOGIN_COOKIE = "wm_login"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
LOGIN_PATH = "/console/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE_PATH = "/console"

Page = Callable[..., Awaitable[HTTPResponse]]


class CsrfRefused(Forbidden):
    code = "csrf_failed"
    message = "页面已过期或来源不明，操作未执行。请刷新页面后重试"


class NotStaff(Forbidden):
    message = "管理后台仅供工作人员和管理员使用"


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def to_login(request: Request) -> HTTPResponse:
    if is_htmx(request):
        # An htmx request follows a 302 itself and would put the sign-in page inside a fragment.
        return HTTPResponse(status=204, headers={"HX-Redirect": LOGIN_PATH})
    return redirect(LOGIN_PATH, status=303)


def secure_cookies(request: Request) -> bool:
    return request.app.ctx.config.public_base_url.startswith("https://")


def set_cookie(request: Request, response: HTTPResponse, name: str, value: str, path: str, max_age: int) -> None:
    response.add_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(request),
        max_age=max_age,
    )


def clear_cookie(request: Request, response: HTTPResponse, name: str, path: str) -> None:
    set_cookie(request, response, name, "", path, 0)


async def current_session(request: Request) -> ConsoleSession | None:
    cached = getattr(request.ctx, "console_session", None)
    if cached is not None:
        return cached
    raw = request.cookies.get(COOKIE, "")
    if not raw or len(raw) > 128:
        return None
    session = await session_for(raw)
    request.ctx.console_session = session
    return session


def csrf_given(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = request.form if request.content_type.startswith(("application/x-www-form", "multipart/")) else None
    return (form.get(CSRF_FIELD) if form else None) or ""


def console_page(handler: Page) -> Page:
    @functools.wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        session = await current_session(request)
        if session is None:
            return to_login(request)
        if not session.user.is_staff:
            # Demoted or erased since signing in, or never staff: the session ends here.
            await end_session(session.id)
            raise NotStaff()
        if request.method not in SAFE_METHODS and not same_secret(csrf_given(request), session.csrf):
            raise CsrfRefused()
        request.ctx.user = session.user
        return await handler(request, *args, user=session.user, session=session, **kwargs)

    return wrapper
