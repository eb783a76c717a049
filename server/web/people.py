"""Staff work on people, one code path for the API (handlers/users.py) and the console (人员).

Listing the caller's people, changing someone's role or org, and importing a roster file:
each checks the caller's scope (``server.web.permissions``) and calls the domain operation.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sanic import Request

from media.spreadsheets import NotASpreadsheet
from models.ledger import LedgerEntry, grant_honour_hours
from models.orgs import org_path
from models.roster import ImportResult, RosterError, columns_of, import_roster, roster_secrets
from models.users import User, change_person, find_user, list_users
from server.kernel.crypto import Vault
from server.kernel.errors import Forbidden, InvalidRequest, NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.permissions import managed_person, may_change_person, path_in_scope, roster_rule, staff_scope
from server.web.services import Services
from server.web.tables import TABLE_TYPES, receive_table

PHONE = re.compile(r"^1\d{10}$")
ROSTER_MAX_BYTES = 10 * 1024 * 1024
ROSTER_TYPES = TABLE_TYPES


class RosterRejected(InvalidRequest):
    code = "invalid_roster"


async def find_people(
    user: User,
    vault: Vault,
    *,
    org_id: int | None,
    role: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[User], str | None]:
    """People of the caller's subtree (one page and the next cursor); ``q`` a name, or a full phone number."""
    scope = staff_scope(user)
    before_id = decode_id_cursor(cursor)
    path = await org_path(org_id) if org_id else None
    if org_id and path is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    if path is not None and not path_in_scope(scope, path):
        # As the reports do: asking for another township's people is refused, not answered empty.
        raise Forbidden("只能查看本组织及下级组织的人员")
    phone_hash = vault.lookup_hash(q) if q and PHONE.match(q) else None
    rows = await list_users(
        scope_path=scope.path if scope else None,
        org_path=path,
        role=role,
        q=q,
        phone_hash=phone_hash,
        before_id=before_id,
        limit=limit,
    )
    return split_page(rows, limit)


async def change_person_as(user: User, target_id: int, changes: dict[str, Any]) -> User:
    """Admins set any role and org; staff switch volunteer↔influencer and move people inside their subtree."""
    target = managed_person(user, await find_user(target_id))
    if "role" in changes and changes["role"] is None:
        raise InvalidRequest.fields({"role": "不能为 null"})
    path = await org_path(int(changes["org_id"])) if changes.get("org_id") else None
    if changes.get("org_id") and path is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    may_change_person(user, target, changes.get("role", target.role), path, "org_id" in changes)
    return await change_person(user, target, changes)


async def grant_honour_hours_as(user: User, target_id: int, hours: Decimal, reason: str) -> LedgerEntry:
    """An admin grants honour hours (荣誉时长) to a person who still has an account."""
    target = managed_person(user, await find_user(target_id))
    if target.deleted_at is not None:
        raise NotFound("人员不存在")
    return await grant_honour_hours(user, target, hours, reason)


async def import_roster_upload(request: Request, user: User, services: Services, *, field: str) -> ImportResult:
    """The roster in the upload's ``field`` (.xlsx or .csv), imported into what ``user`` may manage.

    Staff import into their own subtree (a row naming another org is that row's error); audited."""
    rule = roster_rule(user)  # a staff member without an org is refused before the body is read
    try:
        table = await receive_table(request, user, services, field=field, max_bytes=ROSTER_MAX_BYTES, noun="名册文件")
        secrets = roster_secrets(services.vault)
        source = table.filename or "roster"
        return await import_roster(table.rows, columns_of(table.header), secrets, actor=user, source=source, rule=rule)
    except (NotASpreadsheet, RosterError) as exc:
        raise RosterRejected(str(exc)) from None
