"""The audit log of staff actions, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.audit_schemas import AuditQuery
from handlers.schemas import UserBrief
from models.audit import AUDIT_ROLES, AuditEntry, audit_page
from server.kernel.clock import local_days
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.services import Services

bp = Blueprint("audit", url_prefix="/audit")


class AuditRead(BaseModel):
    id: str
    actor: UserBrief | None
    action: str
    target: str
    details: dict[str, Any]
    created_at: datetime


class AuditList(BaseModel):
    items: list[AuditRead]
    next_cursor: str | None


@bp.get("")
@endpoint(summary="操作审计日志", roles=AUDIT_ROLES, query=AuditQuery, response=AuditList, tag="audit")
async def audit_log(request: Request, user: object, query: AuditQuery, services: Services) -> HTTPResponse:
    """Staff actions newest first: publish, close, cancel, review, role change, export, roster import."""
    since, until = local_days(query.from_, query.to)
    rows = await audit_page(
        actor_id=int(query.actor) if query.actor else None,
        since=since,
        until=until,
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    page, next_cursor = split_page(rows, query.limit)
    storage = services.storage
    return json_response(AuditList(items=[_read(e, storage) for e in page], next_cursor=next_cursor))


def _read(entry: AuditEntry, storage: Any) -> AuditRead:
    return AuditRead(
        id=str(entry.id),
        actor=UserBrief.of(entry.actor, storage) if entry.actor else None,
        action=entry.action,
        target=entry.target,
        details=entry.details,
        created_at=entry.created_at,
    )
