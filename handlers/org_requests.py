"""Org change requests: members ask to move, staff of the requested org decide."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import OrgDecisionIn, OrgRequestList, OrgRequestQuery, OrgRequestRead
from models.org_requests import OrgRequestDecided, decide, org_requests_page
from models.users import STAFF_ROLES, User
from server.kernel.errors import Conflict, NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.permissions import staff_scope
from server.web.services import Services

bp = Blueprint("org_requests", url_prefix="/org-requests")


@bp.get("")
@endpoint(summary="组织变更申请", roles=STAFF_ROLES, query=OrgRequestQuery, response=OrgRequestList, tag="orgs")
async def list_requests(request: Request, user: User, query: OrgRequestQuery, services: Services) -> HTTPResponse:
    """Requests to move into the caller's org subtree, newest first; `status=pending` for those to decide."""
    scope = staff_scope(user)
    rows = await org_requests_page(
        scope_path=scope.path if scope else None,
        status=query.status,
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    page, next_cursor = split_page(rows, query.limit)
    items = [OrgRequestRead.of(r, services.storage) for r in page]
    return json_response(OrgRequestList(items=items, next_cursor=next_cursor))


@bp.post("/<request_id:id>/approve")
@endpoint(
    summary="批准组织变更",
    roles=STAFF_ROLES,
    body=OrgDecisionIn,
    response=OrgRequestRead,
    errors=(NotFound, OrgRequestDecided, Conflict),
    tag="orgs",
)
async def approve(
    request: Request, request_id: int, user: User, body: OrgDecisionIn, services: Services
) -> HTTPResponse:
    """The person moves to the requested org at once; audited."""
    return await _decide(services, request_id, user, body, approve=True)


@bp.post("/<request_id:id>/refuse")
@endpoint(
    summary="拒绝组织变更",
    roles=STAFF_ROLES,
    body=OrgDecisionIn,
    response=OrgRequestRead,
    errors=(NotFound, OrgRequestDecided),
    tag="orgs",
)
async def refuse(
    request: Request, request_id: int, user: User, body: OrgDecisionIn, services: Services
) -> HTTPResponse:
    """The person stays where they are; `reason` is required and shown to them; audited."""
    return await _decide(services, request_id, user, body, approve=False)


async def _decide(
    services: Services, request_id: int, user: User, body: OrgDecisionIn, *, approve: bool
) -> HTTPResponse:
    scope = staff_scope(user)
    decided = await decide(request_id, user, scope.path if scope else None, approve=approve, reason=body.reason)
    return json_response(OrgRequestRead.of(decided, services.storage))
