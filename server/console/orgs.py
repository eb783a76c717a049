"""组织: the org tree of the staff member's subtree; add an org under one of it, rename one of it.

Adding is the API's POST /orgs (``may_create_org_under``, ``models.orgs.create_org``); renaming
is ``models.orgs.rename_org`` (audited) behind the same scope rule (``org_in_scope``).
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from handlers.schemas import OrgCertificateIn, OrgCreate
from models.console import ConsoleSession
from models.orgs import ORG_KINDS, OrgNode, create_org, find_org, org_forest, rename_org, set_certificate_signer
from models.users import User, members_by_org
from server.console.forms import field_errors, form_values, indented, validate
from server.console.guard import console_page
from server.console.render import page
from server.kernel.errors import Forbidden, InvalidRequest, NotFound
from server.web.permissions import certificate_signer_org, may_create_org_under, org_in_scope, staff_scope

bp = Blueprint("console_orgs", url_prefix="/console/orgs")
# As the county names them (server.web.glossary's org kinds).
KIND_LABELS = {"county": "县", "township": "乡镇/街道", "village": "村/社区", "unit": "单位"}
FIELD_LABELS = {"parent_id": "上级组织", "name": "名称", "kind": "类型"}
SIGNER_LABELS = {"leader": "负责人", "handler": "经办人", "contact": "联系电话"}


async def _tree(user: User) -> tuple[list[OrgNode], dict[int, int]]:
    """The caller's subtree and the members (volunteers, influencers) of each org's own subtree."""
    scope = staff_scope(user)
    forest = await org_forest(scope.path if scope else None)
    members: dict[int, int] = {}
    for root in forest:
        members.update(await members_by_org(root.org, [org for _, org in root.walk()]))
    return forest, members


async def _page(request: Request, user: User, status: int = 200, **context: Any) -> HTTPResponse:
    forest, members = await _tree(user)
    context.setdefault("values", {})
    context.setdefault("errors", {})
    context.setdefault("rename_id", None)
    context.setdefault("rename_errors", {})
    context.setdefault("signer_id", None)
    context.setdefault("signer_values", {})
    context.setdefault("signer_errors", {})
    created = _int(request.args.get("created", ""))
    renamed = _int(request.args.get("renamed", ""))
    signed = _int(request.args.get("signed", ""))
    return await page(
        request,
        "orgs.html",
        status=status,
        title="组织",
        forest=forest,
        members=members,
        parents=indented(forest),
        kinds=KIND_LABELS,
        kind_options=[(k, KIND_LABELS[k]) for k in ORG_KINDS],
        labels=FIELD_LABELS,
        created=await find_org(created) if created else None,
        renamed=await find_org(renamed) if renamed else None,
        signed=await find_org(signed) if signed else None,
        # Whose signer the caller may set: admins any org's, staff their own org's only.
        signs_for=None if user.role == "admin" else user.org_id,
        signer_labels=SIGNER_LABELS,
        **context,
    )


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 11 else None


@bp.get("")
@console_page
async def orgs(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    return await _page(request, user)


@bp.post("")
@console_page
async def add_org(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """新建组织: under an org of the caller's subtree (admins: anywhere, a county at the root)."""
    values = form_values(request)
    try:
        body = validate(OrgCreate, {k: values.get(k) or None for k in ("name", "kind", "parent_id")})
        parent_id = int(body.parent_id) if body.parent_id else None
        try:
            await may_create_org_under(user, parent_id)
        except Forbidden as exc:
            raise InvalidRequest.fields({"parent_id": exc.message}) from None
        org = await create_org(body.name, body.kind, parent_id)
    except InvalidRequest as exc:
        return await _page(request, user, status=400, values=values, errors=_named(field_errors(exc)))
    return redirect(f"/console/orgs?created={org.id}", status=303)


@bp.post("/<org_id:int>/rename")
@console_page
async def rename(request: Request, org_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """重命名 an org of the caller's subtree; the name stays unique among its siblings."""
    try:
        org = await org_in_scope(user, org_id, "只能修改本组织及下级组织的名称")
    except InvalidRequest:
        raise NotFound("组织不存在") from None
    name = form_values(request).get("name", "")
    try:
        await rename_org(user, org, name)
    except InvalidRequest as exc:
        errors = field_errors(exc) or {"name": exc.message}
        return await _page(request, user, status=400, rename_id=org.id, rename_value=name, rename_errors=errors)
    return redirect(f"/console/orgs?renamed={org.id}", status=303)


@bp.post("/<org_id:int>/certificate")
@console_page
async def certificate_signer(request: Request, org_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """证明签发信息: who the org's certificates name (负责人, 经办人, 联系电话), as PUT /orgs/{id}/certificate."""
    org = await certificate_signer_org(user, org_id)
    values = form_values(request)
    try:
        body = validate(OrgCertificateIn, {k: values.get(k, "") for k in SIGNER_LABELS})
    except InvalidRequest as exc:
        errors = {k: v for k, v in field_errors(exc).items() if k in SIGNER_LABELS} or {"leader": exc.message}
        return await _page(request, user, status=400, signer_id=org.id, signer_values=values, signer_errors=errors)
    await set_certificate_signer(user, org, body.leader, body.handler, body.contact)
    return redirect(f"/console/orgs?signed={org.id}#org-{org.id}", status=303)


def _named(errors: dict[str, str]) -> dict[str, str]:
    """The model's complaints about the form's fields; one about the whole body goes beside 名称."""
    known = {k: v for k, v in errors.items() if k in FIELD_LABELS}
    rest = [v for k, v in errors.items() if k not in FIELD_LABELS]
    if rest:
        known.setdefault("name", "；".join(rest))
    return known
