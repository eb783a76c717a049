"""Service certificates: the signed-in person's PNG, and the public check of a serial."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from media.certificate import Activity, CertificateData, FontMissing
from models.certificates import DEFAULT_ISSUER, Certificate, NoServiceHours, issue_for, verify
from models.users import User
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import NotFound, RateLimited, ServiceUnavailable
from server.web.endpoint import endpoint, json_response
from server.web.services import Services

bp = Blueprint("certificates")
SERIAL_PATTERN = r"[A-Z0-9-]{1,32}"


class CertificateCheck(BaseModel):
    serial: str
    name: str
    service_hours: float
    credit_hours: float
    honour_hours: float
    issued_on: date
    issuer: str
    valid: bool


@bp.get("/me/certificate.png")
@endpoint(
    summary="我的志愿服务证明",
    errors=(NoServiceHours, RateLimited, ServiceUnavailable),
    produces=("image/png",),
    tag="me",
)
async def my_certificate(request: Request, user: User, services: Services) -> HTTPResponse:
    """A printable 志愿服务证明 (PNG) of the caller's approved service hours, with a serial that verifies it."""
    cert = await issue_for(user, datetime.now(LOCAL_TZ).date())
    data = certificate_data(cert, verify_url(services.config.public_base_url, cert.serial))
    try:
        png = await services.certificates.png(str(user.id), data)  # kept until the figures change; limited
    except FontMissing as exc:
        raise ServiceUnavailable("服务器缺少中文字体，暂时无法生成证明，请联系管理员") from exc
    headers = {"Cache-Control": "private, no-store", "X-Certificate-Serial": cert.serial}
    return HTTPResponse(png, content_type="image/png", headers=headers)


@bp.get(f"/certificates/<serial:{SERIAL_PATTERN}>")
@endpoint(
    summary="验证志愿服务证明",
    auth=False,
    response=CertificateCheck,
    errors=(NotFound,),
    path={"serial": {"type": "string", "pattern": f"^{SERIAL_PATTERN}$"}},
    tag="certificates",
)
async def check(request: Request, serial: str) -> HTTPResponse:
    """Anyone holding a certificate can check it: name, hours and whether it still holds, nothing else."""
    found = await verify(serial)
    if found is None:
        raise NotFound("证书编号不存在")
    cert, valid = found
    return json_response(
        CertificateCheck(
            serial=cert.serial,
            name=cert.name if valid else "—",
            service_hours=float(cert.service_hours),
            credit_hours=float(cert.credit_hours),
            honour_hours=float(cert.honour_hours),
            issued_on=cert.issued_on,
            issuer=cert.issuer or DEFAULT_ISSUER,
            valid=valid,
        )
    )


def verify_url(public_base_url: str, serial: str) -> str:
    """The page the certificate's QR code opens: HTML for the phone that scans it (server.console.verify)."""
    return f"{public_base_url}/verify/{serial}"


def certificate_data(cert: Certificate, url: str) -> CertificateData:
    """What the page shows: the certificate as issued."""
    activities = tuple(
        Activity(title=a["title"], day=date.fromisoformat(a["date"]), hours=Decimal(a["hours"]))
        for a in cert.activities
    )
    return CertificateData(
        name=cert.name,
        org=cert.org or "—",
        service_hours=cert.service_hours,
        honour_hours=cert.honour_hours,
        approved_tasks=cert.approved_tasks,
        activities=activities,
        issued_on=cert.issued_on,
        serial=cert.serial,
        verify_url=url,
        issuer=cert.issuer or DEFAULT_ISSUER,
        leader=cert.leader,
        handler=cert.handler,
        contact=cert.contact,
    )
