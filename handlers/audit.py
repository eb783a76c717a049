"""The audit log of staff actions, for admins."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import Day, Id, PageQuery, UserBrief
from models.audit import AuditEntry, audit_page
from server.kernel.clock import LOCAL_TZ
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.services import Services

bp = Blueprint("audit", url_prefix="/audit")


class AuditQuery(PageQuery):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    actor: Id | None = Field(None, description="操作人用户 id")
    from_: Day | None = Field(None, alias="from", description="YYYY-MM-DD")
    to: Day | None = Field(None, description="YYYY-MM-DD（含）")


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
@endpoint(summary="操作审计日志", roles=("admin",), query=AuditQuery, response=AuditList, tag="audit")
async def audit_log(request: Request, user: object, query: AuditQuery, services: Services) -> HTTPResponse:
    """Staff actions newest first: publish, close, cancel, review, role change, export, roster import."""
    rows = await audit_page(
        actor_id=int(query.actor) if query.actor else None,
        since=datetime.combine(query.from_, time(), LOCAL_TZ) if query.from_ else None,
        until=datetime.combine(query.to + timedelta(days=1), time(), LOCAL_TZ) if query.to else None,
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
