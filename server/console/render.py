"""Pages from templates, and every console error as a Chinese page or fragment (never JSON)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sanic import Request
from sanic.response import HTTPResponse
from sanic_ext import render

from server.console.guard import CSRF_FIELD, is_htmx
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import ApiError

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
NAV = (
    ("首页", "/console/"),
    ("活动", "/console/campaigns"),
    ("审核", "/console/review"),
    ("留言", "/console/messages"),
    ("通知", "/console/notices"),
    ("题库", "/console/questions"),
    ("人员", "/console/people"),
    ("账号", "/console/accounts"),
    ("组织", "/console/orgs"),
    ("报表", "/console/reports"),
    ("审计", "/console/audit"),
)
# Pages that belong to a section without sharing its path (a task is part of 活动, a submission of 审核).
SECTIONS = {
    "/console/tasks": "/console/campaigns",
    "/console/submissions": "/console/review",
    "/console/hour-requests": "/console/review",
}


def current_section(path: str) -> str:
    """The navigation link to mark as current for ``path``."""
    for prefix, section in SECTIONS.items():
        if path.startswith(prefix):
            return section
    for _, href in NAV[1:]:
        if path.startswith(href):
            return href
    return "/console/" if path in ("/console", "/console/") else ""


ROLE_NAMES = {"volunteer": "志愿者", "influencer": "网络达人", "staff": "工作人员", "admin": "管理员"}
DATETIME_FORMAT = "%Y-%m-%d %H:%M"


@cache
def static_url(name: str) -> str:
    """A static file's URL with its content hash: cached for long, never stale."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/console/static/{name}?v={digest}"


def local_time(value: datetime | None, fmt: str = DATETIME_FORMAT) -> str:
    """A stored (UTC) time as staff read it, in Asia/Shanghai."""
    return value.astimezone(LOCAL_TZ).strftime(fmt) if value else ""


# One environment for the process, ours (not the app's: its templates folder is a setting read before
# this package is installed). Autoescaped; a name a template uses but the page did not give is an error.
ENVIRONMENT = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    enable_async=True,
    undefined=StrictUndefined,
)
ENVIRONMENT.filters["local_time"] = local_time


async def page(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
    """Render a console template with what every page needs (the person, the CSRF token, navigation)."""
    session = getattr(request.ctx, "console_session", None)
    context.setdefault("user", session.user if session else None)
    context.update(
        csrf=session.csrf if session else "",
        csrf_field=CSRF_FIELD,
        nav=NAV,
        here=request.path,
        section=current_section(request.path),
        static=static_url,
        roles=ROLE_NAMES,
    )
    return await render(template, status=status, context=context, app=request.app, environment=ENVIRONMENT)


async def error_page(request: Request, error: ApiError) -> HTTPResponse:
    """An error as staff read it: a page, or for an htmx request a fragment the page shows in its notice area."""
    fields = (error.details or {}).get("fields") if error.details else None
    template = "_error.html" if is_htmx(request) else "error.html"
    response = await page(request, template, status=error.status, error=error, fields=fields or {})
    response.headers.update(error.headers)
    return response
