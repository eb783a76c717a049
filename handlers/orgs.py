"""The org tree: county → township → village, units anywhere."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import OrgCertificateIn, OrgCertificateRead, OrgCreate, OrgRead, OrgTree
from models.orgs import create_org, org_tree, set_certificate_signer
from models.users import STAFF_ROLES, User
from server.web.endpoint import endpoint, json_response
from server.web.permissions import certificate_signer_org, may_create_org_under

bp = Blueprint("orgs", url_prefix="/orgs")


@bp.get("")
@endpoint(summary="组织树", response=OrgTree, tag="orgs")
async def list_orgs(request: Request, user: User) -> HTTPResponse:
    """The whole org tree, roots first, children nested."""
    return json_response({"items": await org_tree(), "next_cursor": None})


@bp.post("")
@endpoint(
    summary="新建组织",
    roles=STAFF_ROLES,
    body=OrgCreate,
    response=OrgRead,
    status=201,
    tag="orgs",
)
async def post_org(request: Request, user: User, body: OrgCreate) -> HTTPResponse:
    """Admins create anywhere; staff create below their own org only."""
    parent_id = int(body.parent_id) if body.parent_id else None
    await may_create_org_under(user, parent_id)
    org = await create_org(body.name, body.kind, parent_id)
    return json_response(OrgRead.of(org), status=201)


@bp.get("/<org_id:id>/certificate")
@endpoint(summary="证明签发信息", roles=STAFF_ROLES, response=OrgCertificateRead, tag="orgs")
async def get_certificate_signer(request: Request, org_id: int, user: User) -> HTTPResponse:
    """Who certificates issued by this org name: 负责人, 经办人, 联系电话 (admins, or staff of the org itself)."""
    return json_response(OrgCertificateRead.of(await certificate_signer_org(user, org_id)))


@bp.put("/<org_id:id>/certificate")
@endpoint(summary="设置证明签发信息", roles=STAFF_ROLES, body=OrgCertificateIn, response=OrgCertificateRead, tag="orgs")
async def put_certificate_signer(request: Request, org_id: int, user: User, body: OrgCertificateIn) -> HTTPResponse:
    """Set who certificates issued by this org name (admins, or staff of the org itself); audited."""
    org = await certificate_signer_org(user, org_id)
    org = await set_certificate_signer(user, org, body.leader, body.handler, body.contact)
    return json_response(OrgCertificateRead.of(org))
