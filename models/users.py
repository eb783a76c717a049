"""People and their sign-in tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise import connections, fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.indexes import Index
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import AuditEntry, record
from models.orgs import Org
from server.kernel.clock import now_utc
from server.kernel.errors import InvalidRequest
from server.kernel.ids import is_id

ROLES = ("volunteer", "influencer", "staff", "admin")
STAFF_ROLES = frozenset({"staff", "admin"})
# Who takes part (enrolls, hands in evidence, earns points); staff run things.
MEMBER_ROLES = ("volunteer", "influencer")
# The national volunteer star scale (星级志愿者): recorded service hours for 1..5 stars.
STAR_HOURS = (100, 300, 600, 1000, 1500)


# Marks a nickname standing where a real name belongs (reports, certificates).
NICKNAME_MARK = "（昵称）"


class User(Model):
    id = fields.IntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True, null=True)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    # Encrypted by the caller (server.kernel.crypto); the session key never leaves the server.
    session_key_enc = fields.CharField(max_length=255, null=True)
    role = fields.CharField(max_length=16, default="volunteer")
    nickname = fields.CharField(max_length=64, default="")
    # 实名: set by the person or a roster; shown to themselves and to staff, on reports and
    # certificates; exported and erased like the phone.
    real_name = fields.CharField(max_length=32, null=True)
    avatar_media_id = fields.CharField(max_length=64, null=True)
    # The avatar's storage stem, kept beside its id so rendering a person signs a URL without a query.
    avatar_key = fields.CharField(max_length=40, null=True)
    org: fields.ForeignKeyNullableRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="members", null=True, on_delete=fields.SET_NULL
    )
    phone_enc = fields.CharField(max_length=255, null=True)
    # Keyed hash of the phone number: lets a roster row find its person without decrypting.
    phone_hash = fields.CharField(max_length=64, null=True, unique=True)
    phone_masked = fields.CharField(max_length=32, null=True)
    points = fields.IntField(default=0)
    service_hours = fields.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    # The part of ``service_hours`` an admin granted afterwards (荣誉时长): earns no points.
    honour_hours = fields.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    leaderboard_visible = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)

    org_id: int | None

    class Meta:
        table = "users"
        # The all-time board without Redis walks people by points (models.rankings._sql_all_time).
        indexes = (Index(fields=("points",)),)

    @property
    def star_level(self) -> int:
        hours = self.service_hours or Decimal("0")
        return sum(1 for threshold in STAR_HOURS if hours >= threshold)

    @property
    def credit_hours(self) -> Decimal:
        """Hours from the person's own check-in and check-out or approved make-up requests (信用时长)."""
        return (self.service_hours or Decimal("0")) - (self.honour_hours or Decimal("0"))

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def name_on_record(self) -> str:
        """The name reports and certificates carry: the real name, else the nickname marked as one."""
        if self.real_name:
            return self.real_name
        return f"{self.nickname}{NICKNAME_MARK}" if self.nickname else ""


class AuthToken(Model):
    # Only the SHA-256 of a token is stored: a database leak yields no usable tokens.

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    user_id: int

    class Meta:
        table = "auth_tokens"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def sign_in_wechat(openid: str, unionid: str | None, session_key_enc: str) -> tuple[User, bool]:
    """Find or create the person behind ``openid``; returns (user, created).

    Two first sign-ins racing for one openid both end with the same row: the
    loser of the unique constraint reads the winner's.
    """
    now = now_utc()
    updates = {"session_key_enc": session_key_enc, "last_login_at": now}
    if unionid:
        updates["unionid"] = unionid
    user = await User.get_or_none(openid=openid)
    if user is None:
        try:
            async with in_transaction():
                user = await User.create(openid=openid, nickname=_default_nickname(), **updates)
            return user, True
        except IntegrityError:
            user = await User.get(openid=openid)
    await User.filter(id=user.id).update(**updates)
    user.update_from_dict(updates)
    return user, False


def _default_nickname() -> str:
    return f"志愿者{secrets.randbelow(900000) + 100000}"


async def issue_token(user: User, ttl_seconds: int) -> str:
    raw = secrets.token_urlsafe(32)
    expires = now_utc() + timedelta(seconds=ttl_seconds)
    await AuthToken.create(token_hash=hash_token(raw), user=user, expires_at=expires)
    return raw


async def user_for_token(raw: str) -> User | None:
    """The signed-in user for a raw token, or None when unknown, revoked or expired."""
    held = await token_holder(raw)
    return held[0] if held is not None and held[1] > now_utc() else None


async def token_holder(raw: str) -> tuple[User, datetime] | None:
    """The person a raw token belongs to (with their org) and when the token expires; None when unknown.

    Every authenticated request that misses ``server.web.caches`` starts here, so it is one prepared
    statement built once from the models' own columns, not a query the ORM builds again each time
    (about half of this call's time went there; ``bench/token_lookup.py``). The rows still become
    models by the ORM's rules.
    """
    conn = connections.get("default")
    rows = await conn.execute_query_dict(_token_sql(conn.capabilities.dialect), [hash_token(raw)])
    if not rows:
        return None
    row = rows[0]
    expires_at = _EXPIRES_AT.to_python_value(row.pop("t__expires_at"))
    user = User._init_from_db(**{column: row[f"u__{column}"] for column in _columns(User)})
    org_id = row[f"o__{Org._meta.db_pk_column}"]
    user.org = Org._init_from_db(**{c: row[f"o__{c}"] for c in _columns(Org)}) if org_id is not None else None
    return user, expires_at


_EXPIRES_AT = AuthToken._meta.fields_map["expires_at"]


@functools.cache
def _columns(model: type[Model]) -> tuple[str, ...]:
    """The model's columns (fixed once the class exists): computed once, read on every request."""
    return tuple(model._meta.fields_db_projection.values())


@functools.cache
def _token_sql(dialect: str) -> str:
    """SELECT the token's expiry, its person and the person's org, by the token's hash."""
    aliased = ['t."expires_at" AS "t__expires_at"']
    aliased += [f'u."{c}" AS "u__{c}"' for c in _columns(User)]
    aliased += [f'o."{c}" AS "o__{c}"' for c in _columns(Org)]
    placeholder = "$1" if dialect == "postgres" else "?"
    return (
        f'SELECT {", ".join(aliased)} FROM "{AuthToken._meta.db_table}" t'
        f' JOIN "{User._meta.db_table}" u ON u."id" = t."user_id"'
        f' LEFT JOIN "{Org._meta.db_table}" o ON o."id" = u."org_id"'
        f' WHERE t."token_hash" = {placeholder}'
    )


async def revoke_token(raw: str) -> None:
    await AuthToken.filter(token_hash=hash_token(raw)).delete()


async def bind_phone(user: User, *, phone_enc: str, phone_hash: str, phone_masked: str) -> None:
    """Attach a verified phone number; a number bound to someone else moves to this user.

    WeChat has just proven this user holds the number, so an older binding gives way.
    A roster entry imported before this person's first sign-in (no openid) is this
    person: the account takes its name, org and role, and the entry goes.
    """
    async with in_transaction():
        holder = await User.filter(phone_hash=phone_hash).exclude(id=user.id).first()
        merged: dict[str, Any] = {}
        if holder is not None and holder.openid is None and holder.deleted_at is None:
            merged = {"nickname": holder.nickname, "org_id": holder.org_id}
            if user.role == "volunteer":  # the roster may make someone an influencer, never less than they are
                merged["role"] = holder.role
            await User.filter(id=holder.id).delete()
        elif holder is not None:
            await User.filter(id=holder.id).update(phone_enc=None, phone_hash=None, phone_masked=None)
        phone = {"phone_enc": phone_enc, "phone_hash": phone_hash, "phone_masked": phone_masked}
        await User.filter(id=user.id).update(**phone, **merged)
    user.update_from_dict({**phone, **merged})
    if "org_id" in merged:
        await user.fetch_related("org")


async def find_user(user_id: int) -> User | None:
    """The person with their org, or None when there is no such person."""
    return await User.get_or_none(id=user_id).select_related("org") if is_id(user_id) else None


async def update_profile(user: User, changes: dict[str, object]) -> User:
    """Apply already-authorised profile changes (nickname, org, visibility, avatar)."""
    if "org_id" in changes and changes["org_id"] is not None:
        org = await Org.get_or_none(id=int(str(changes["org_id"])))
        if org is None:
            raise InvalidRequest.fields({"org_id": "组织不存在"})
        changes = {**changes, "org_id": org.id}
    if changes:
        await User.filter(id=user.id).update(**changes)
        user.update_from_dict(changes)
    await user.fetch_related("org")
    return user


async def change_person(actor: User, target: User, changes: dict[str, object]) -> User:
    """A staff member's change of someone's role or org, committed with its audit entry."""
    before = (target.role, target.org_id)
    async with in_transaction():
        target = await update_profile(target, changes)
        if (target.role, target.org_id) != before:
            details = {
                "from": {"role": before[0], "org_id": before[1]},
                "to": {"role": target.role, "org_id": target.org_id},
            }
            await record(actor, "role_change", f"user:{target.id}", details)
        if before[0] in STAFF_ROLES and target.role not in STAFF_ROLES:
            # Demoted: their console sessions end now (models.console; the relation, not an import circle).
            await target.console_sessions.all().delete()
    return target


async def list_users(
    *,
    scope_path: str | None,
    org_path: str | None,
    role: str | None,
    q: str | None,
    phone_hash: str | None,
    before_id: int | None,
    limit: int,
) -> list[User]:
    """Newest first, ``limit + 1`` rows; ``before_id`` is the keyset cursor. One query, orgs joined.

    ``q`` matches the nickname or the real name; ``phone_hash`` (a full number's) takes its place."""
    query = User.all()
    if scope_path is not None:
        query = query.filter(org__path__startswith=scope_path)
    if org_path is not None:
        query = query.filter(org__path__startswith=org_path)
    if role:
        query = query.filter(role=role)
    if phone_hash:
        query = query.filter(phone_hash=phone_hash)
    elif q:
        query = query.filter(Q(nickname__icontains=q) | Q(real_name__icontains=q))
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.select_related("org").order_by("-id").limit(limit + 1)


async def grant_role(openid: str, role: str, org_id: int | None) -> tuple[User, bool]:
    """Operator path: create the person for ``openid`` if needed and set role and org."""
    if org_id is not None and not await Org.filter(id=org_id).exists():
        raise InvalidRequest(f"org {org_id} does not exist")
    if role == "staff" and org_id is None:
        raise InvalidRequest("staff need an org (--org): it is the subtree they act in")
    user, created = await User.get_or_create(openid=openid, defaults={"nickname": _default_nickname()})
    user.role = role
    if org_id is not None:
        user.org_id = org_id
    await user.save(update_fields=["role", "org_id"])
    return user, created


ERASED_NICKNAME = "已注销用户"


async def members_by_org(parent: Org, children: list[Org]) -> dict[int, int]:
    """Registered volunteers and influencers in each child org's subtree (one grouped query)."""
    counts = (
        await User.filter(role__in=MEMBER_ROLES, deleted_at__isnull=True, org__path__startswith=parent.path)
        .annotate(n=Count("id"))
        .group_by("org__path")
        .values_list("org__path", "n")
    )
    members = {child.id: 0 for child in children}
    for path, n in counts:
        for child in children:
            if path.startswith(child.path):
                members[child.id] += n
    return members


@dataclass(frozen=True)
class Profile:
    """What a ranking shows of a person: read as plain values, no models built (a hot path)."""

    id: int
    nickname: str
    avatar_key: str | None
    public: bool  # leaderboard_visible and not erased
    org: tuple[int, str, str, int | None] | None  # id, name, kind, parent id


async def profiles(ids: list[int]) -> dict[int, Profile]:
    """The people of a ranking page in one query, as plain values.

    Hand-written SQL: on this hot path Tortoise spent more time building the query and
    the models than the database spent answering (bench/people.py). Only ints go in.
    """
    if not ids:
        return {}
    conn = connections.get("default")
    wanted = [int(i) for i in ids]
    if conn.capabilities.dialect == "postgres":
        where, values = "u.id = ANY($1::int[])", [wanted]
    else:
        where, values = f"u.id IN ({', '.join('?' * len(wanted))})", wanted
    sql = (
        "SELECT u.id, u.nickname, u.avatar_key, u.leaderboard_visible, u.deleted_at, "
        "o.id AS org_id, o.name AS org_name, o.kind AS org_kind, o.parent_id AS org_parent "
        f"FROM users u LEFT JOIN orgs o ON o.id = u.org_id WHERE {where}"
    )
    _, rows = await conn.execute_query(sql, values)
    return {
        row["id"]: Profile(
            id=row["id"],
            nickname=row["nickname"],
            avatar_key=row["avatar_key"],
            public=bool(row["leaderboard_visible"]) and row["deleted_at"] is None,
            org=(row["org_id"], row["org_name"], row["org_kind"], row["org_parent"]) if row["org_id"] else None,
        )
        for row in rows
    }


async def names_on_record(ids: set[int]) -> dict[int, str]:
    """The names on record of these people (unknown ones left out), in one query."""
    wanted = [i for i in ids if is_id(i)]
    return {u.id: u.name_on_record for u in await User.filter(id__in=wanted)} if wanted else {}


async def audit_actors() -> list[User]:
    """Everyone who has an entry in the audit log (for its filter), by id, in two queries."""
    ids = await AuditEntry.filter(actor_id__isnull=False).distinct().values_list("actor_id", flat=True)
    return await User.filter(id__in=list(ids)).select_related("org").order_by("id") if ids else []
