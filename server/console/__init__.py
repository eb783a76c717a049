"""The staff console (管理后台): pages under /console/ over the same domain operations as the API.

Server-rendered (Jinja2 through sanic-ext), with htmx and ECharts served from ``static/vendor``
(``python -m server.console.vendor`` fetches them, pinned). Every response under /console/
carries the security headers of the console contract.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic_ext.extensions.openapi import openapi

from server.console import login, pages, verify

HERE = Path(__file__).resolve().parent
PREFIX = "/console"


def install(app: Sanic) -> None:
    for blueprint in (login.bp, *pages.BLUEPRINTS, verify.bp):
        app.blueprint(blueprint)
        # Pages for people, not part of the API's document (the routes exist once registered).
        openapi.exclude(bp=blueprint)
    app.static(f"{PREFIX}/static", HERE / "static", name="console_static")


def _origin(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(public_base_url: str, media_origin: str = "") -> str:
    """Scripts and styles from this host only; photos also from where media URLs point (an S3 bucket)."""
    images = " ".join(dict.fromkeys(o for o in ("'self'", "data:", _origin(public_base_url), media_origin) if o))
    return (
        "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        f"base-uri 'none'; form-action 'self'; img-src {images}"
    )


def security_headers(request: Request, response: HTTPResponse) -> None:
    """The headers of a page for people (the console's, and the public certificate check's), on every answer."""
    if not request.path.startswith((PREFIX, verify.PREFIX + "/")):
        return
    config = request.app.ctx.config
    media = _origin(config.s3.endpoint) if config.storage == "s3" and config.s3 is not None else ""
    response.headers["Content-Security-Policy"] = content_security_policy(config.public_base_url, media)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith(f"{PREFIX}/static/"):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers.setdefault("Cache-Control", "no-store")
