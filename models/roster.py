"""Roster import: the office's existing volunteer lists, matched to people by phone number.

A roster person who has never signed in is a user without an openid. When they
first sign in and bind that phone number, the sign-in account takes the
roster's name, org and role and the roster row goes (``bind_phone``).
Importing the same file twice changes nothing; a bad row is reported with its
row number and the good rows are still imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from models.audit import record
from models.orgs import Org
from models.users import User

ROLE_NAMES = {
    "志愿者": "volunteer",
    "网络文化志愿者": "volunteer",
    "volunteer": "volunteer",
    "达人": "influencer",
    "网络达人": "influencer",
    "网络大v": "influencer",
    "influencer": "influencer",
    "工作人员": "staff",
    "staff": "staff",
}
COLUMNS = {
    "name": ("姓名",),
    "phone": ("手机号", "手机", "电话"),
    "org": ("组织", "所属组织", "单位"),
    "role": ("身份", "角色"),
}
REQUIRED = ("name", "phone", "org")
_PHONE = re.compile(r"^1[3-9]\d{9}$")


class RosterError(Exception):
    """The file as a whole cannot be imported (not a spreadsheet, a column missing)."""


@dataclass
class RowError:
    row: int  # as numbered in the spreadsheet (the header is row 1)
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass
class Person:
    row: int
    name: str
    phone: str
    org: Org
    role: str


@dataclass
class Secrets:
    """How phone numbers are stored: server.kernel.crypto's Vault and mask_phone, passed in."""

    encrypt: Callable[[str], str]
    lookup_hash: Callable[[str], str]
    mask: Callable[[str], str]


# What the importer may do with one row: (the row's org, its role, the person its phone already
# belongs to, or None) → None, or a ValueError saying why not (server.web.permissions.roster_rule).
RowRule = Callable[[Org, str, User | None], None]


def roster_secrets(vault: Any) -> Secrets:
    """Phone storage as the service does it (server.kernel.crypto)."""
    from server.kernel.crypto import mask_phone

    return Secrets(encrypt=vault.encrypt, lookup_hash=vault.lookup_hash, mask=mask_phone)


def columns_of(header: Iterable[Any]) -> dict[str, int]:
    """Which column holds what; a missing required column is a RosterError naming it."""
    names = [str(h).strip() if h is not None else "" for h in header]
    found = {key: names.index(label) for key, labels in COLUMNS.items() for label in labels if label in names}
    missing = [COLUMNS[key][0] for key in REQUIRED if key not in found]
    if missing:
        raise RosterError(f"缺少列：{'、'.join(missing)}（第一行须为表头：姓名、手机号、组织、身份）")
    return found


async def import_roster(
    rows: list[tuple[int, list[Any]]],
    columns: dict[str, int],
    secrets: Secrets,
    *,
    actor: User | None,
    source: str,
    rule: RowRule | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Create or update one person per good row; every bad row is reported, none stops the rest.

    ``rule`` refuses rows the importer may not make (None: anything goes, an admin or the operator).
    Each row commits on its own; the audit log records the import (``actor`` None: an operator's command)."""
    result = ImportResult()
    orgs = await OrgIndex.load()
    seen: dict[str, int] = {}
    for done, (number, cells) in enumerate(rows, 1):
        try:
            person = _parse(number, cells, columns, orgs)
            if person.phone in seen:
                raise ValueError(f"手机号与第 {seen[person.phone]} 行重复")
            seen[person.phone] = number
            outcome = await _upsert(person, secrets, rule)
            setattr(result, outcome, getattr(result, outcome) + 1)
        except ValueError as exc:
            result.errors.append(RowError(number, str(exc)))
        if progress:
            progress(done, len(rows))
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    await record(actor, "roster_import", source, {**counts, "errors": len(result.errors)})
    return result


def _cell(cells: list[Any], columns: dict[str, int], key: str) -> str:
    index = columns.get(key)
    if index is None or index >= len(cells) or cells[index] is None:
        return ""
    value = cells[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed into a number cell
    return str(value).strip()


def _parse(number: int, cells: list[Any], columns: dict[str, int], orgs: OrgIndex) -> Person:
    name = _cell(cells, columns, "name")
    phone = re.sub(r"[\s-]", "", _cell(cells, columns, "phone")).removeprefix("+86")
    if not name:
        raise ValueError("姓名为空")
    if len(name) > 32:
        raise ValueError("姓名过长（最多 32 个字）")
    if not _PHONE.match(phone):
        raise ValueError(f"手机号无效：{phone or '（空）'}")
    role_text = _cell(cells, columns, "role") or "志愿者"
    role = ROLE_NAMES.get(role_text.lower())
    if role is None:
        raise ValueError(f"身份无效：{role_text}（可填：志愿者、网络达人、工作人员）")
    return Person(number, name, phone, orgs.find(_cell(cells, columns, "org")), role)


async def _upsert(person: Person, secrets: Secrets, rule: RowRule | None) -> str:
    phone_hash = secrets.lookup_hash(person.phone)
    # 姓名 is the real name; it is the nickname too until the person signs in and picks their own.
    wanted = {"real_name": person.name, "org_id": person.org.id, "role": person.role}
    async with in_transaction():
        user = await User.get_or_none(phone_hash=phone_hash, deleted_at__isnull=True).select_related("org")
        if rule is not None:
            rule(person.org, person.role, user)
        if user is None:
            await User.create(
                **wanted,
                nickname=person.name,
                phone_enc=secrets.encrypt(person.phone),
                phone_hash=phone_hash,
                phone_masked=secrets.mask(person.phone),
            )
            return "created"
        if user.role == "admin" or (user.role == "staff" and person.role != "staff"):
            wanted.pop("role")  # a roster never demotes the people who run the service
        if all(getattr(user, key) == value for key, value in wanted.items()):
            return "unchanged"
        await User.filter(id=user.id).update(**wanted)
        return "updated"


class OrgIndex:
    """Orgs by id, and by name or any trailing part of their path of names ("洪桥街道/育贤社区")."""

    def __init__(self, orgs: list[Org]) -> None:
        self.by_id = {o.id: o for o in orgs}
        self.by_names: dict[str, list[Org]] = {}
        for org in orgs:
            self._name(org)

    @classmethod
    async def load(cls) -> OrgIndex:
        return cls(await Org.all())

    def add(self, org: Org) -> None:
        """Make a newly created org findable (its parent must be known already)."""
        self.by_id[org.id] = org
        self._name(org)

    def _name(self, org: Org) -> None:
        chain = [self.by_id[int(p)].name for p in org.path.strip("/").split("/") if p and int(p) in self.by_id]
        for start in range(len(chain)):
            self.by_names.setdefault("/".join(chain[start:]), []).append(org)

    def find(self, text: str, what: str = "组织") -> Org:
        """The one org ``text`` names (an id, a name, or a path of names); a ValueError says why not."""
        key = normal_path(text)
        if not key:
            raise ValueError(f"{what}为空")
        if key.isdigit() and int(key) in self.by_id:
            return self.by_id[int(key)]
        matches = self.by_names.get(key, [])
        if len(matches) > 1:
            raise ValueError(f"{what}“{key}”不唯一，请写完整路径，如 县/镇/村")
        if not matches:
            raise ValueError(f"{what}不存在：{key}")
        return matches[0]


def normal_path(text: str) -> str:
    """A path of org names with its separators as people type them (／, >, spaces) made one."""
    return re.sub(r"\s*[/／>]\s*", "/", text.strip())
