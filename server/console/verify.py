"""The public check of a certificate (证明核验), as the page its QR code opens on a phone.

No sign-in: anyone holding a 志愿服务证明 scans its code and sees whether it holds, with the
name masked (张*丰) so a serial alone gives away no one's identity. API clients keep
``GET /api/v1/certificates/{serial}`` (JSON). Served with the console's security headers
(``server.console.security_headers``): no script at all, styles from this host.
"""

from __future__ import annotations

import re

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import render

from media.certificate import format_date, format_hours
from models.certificates import DEFAULT_ISSUER, masked_name, verify
from server.console.render import ENVIRONMENT, static_url

bp = Blueprint("certificate_verify", url_prefix="/verify")
PREFIX = "/verify"
SERIAL = re.compile(r"[A-Z0-9-]{1,32}")


@bp.get("/<serial:str>")
async def verify_page(request: Request, serial: str) -> HTTPResponse:
    """有效 or 已失效 in big letters, the masked name, the hours and the issuer; 404 page for an unknown number."""
    wanted = serial.strip().upper()  # typed in by hand, perhaps in lower case
    found = await verify(wanted) if SERIAL.fullmatch(wanted) else None
    if found is None:
        context = {"found": False, "serial": serial[:40]}
        return await _render(request, context, status=404)
    cert, valid = found
    context = {
        "found": True,
        "valid": valid,
        "serial": cert.serial,
        "name": masked_name(cert.name) if valid else "—",
        "hours": format_hours(cert.service_hours),
        "credit": format_hours(cert.credit_hours),
        "honour": format_hours(cert.honour_hours),
        "issuer": cert.issuer or DEFAULT_ISSUER,
        "issued_on": format_date(cert.issued_on),
    }
    return await _render(request, context)


async def _render(request: Request, context: dict[str, object], status: int = 200) -> HTTPResponse:
    context["static"] = static_url
    return await render("verify.html", status=status, context=context, app=request.app, environment=ENVIRONMENT)
