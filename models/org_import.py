"""Org import: the county's tree of orgs from a table of 名称, 类型, 上级, for the first run.

A row's parent (上级) is empty for the county, or names an org already in the
database or in an earlier row (a name, or a path of names "县/镇", resolved as
the roster import resolves its 组织 column). A parent that only comes in a
later row is a bad row, not a guess. An org already there under the same
parent with the same name and type is unchanged, so importing again is safe.
Every bad row is reported with its row number; the good rows are still created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from models.audit import record
from models.orgs import KIND_NAMES, ORG_KINDS, Org, check_org_name, create_org
from models.roster import OrgIndex, RowError, normal_path
from models.users import User
from server.kernel.errors import InvalidRequest

HEADER = ("名称", "类型", "上级")
# The kinds as the county writes them (server/web/glossary.py "org kind"), and their own names.
KIND_WORDS = {
    "县": "county",
    "区": "county",
    "县（区）": "county",
    "县(区)": "county",
    "县级组织": "county",
    "乡镇": "township",
    "乡": "township",
    "镇": "township",
    "街道": "township",
    "乡镇/街道": "township",
    "乡镇（街道）": "township",
    "乡镇(街道)": "township",
    "村": "village",
    "社区": "village",
    "村/社区": "village",
    "村（社区）": "village",
    "村(社区)": "village",
    "单位": "unit",
    **{kind: kind for kind in ORG_KINDS},
}


class OrgImportError(Exception):
    """The file as a whole cannot be imported (the header is not 名称, 类型, 上级)."""


@dataclass
class OrgImportResult:
    created: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def check_header(header: Iterable[Any]) -> None:
    names = [str(h).strip() if h is not None else "" for h in header]
    while names and not names[-1]:
        names.pop()
    if tuple(names) != HEADER:
        raise OrgImportError(f"第一行须为表头：{'、'.join(HEADER)}（现为：{'、'.join(names) or '空'}）")


async def import_orgs(rows: list[tuple[int, list[Any]]], *, actor: User | None, source: str) -> OrgImportResult:
    """Create one org per good row, in file order; each commits on its own, the audit log records the import."""
    result = OrgImportResult()
    orgs = await OrgIndex.load()
    later = {_text(cells, 0): number for number, cells in rows}
    for number, cells in rows:
        try:
            outcome = await _import_row(number, cells, orgs, later)
            setattr(result, outcome, getattr(result, outcome) + 1)
        except ValueError as exc:
            result.errors.append(RowError(number, str(exc)))
    counts = {"created": result.created, "unchanged": result.unchanged, "errors": len(result.errors)}
    await record(actor, "org_import", source, counts)
    return result


def _text(cells: list[Any], index: int) -> str:
    value = cells[index] if index < len(cells) else None
    return "" if value is None else str(value).strip()


async def _import_row(number: int, cells: list[Any], orgs: OrgIndex, later: dict[str, int]) -> str:
    name, kind_text, parent_text = (_text(cells, i) for i in range(3))
    try:
        check_org_name(name)
    except InvalidRequest as exc:
        raise ValueError(_reason(exc)) from None
    kind = KIND_WORDS.get(kind_text.lower().replace(" ", ""))
    if kind is None:
        raise ValueError(f"类型无效：{kind_text or '（空）'}（可填：县、乡镇、街道、村、社区、单位）")
    parent = None
    if parent_text:
        try:
            parent = orgs.find(parent_text, what="上级组织")
        except ValueError:
            last = normal_path(parent_text).rsplit("/", 1)[-1]
            if later.get(last, 0) > number:
                raise ValueError(
                    f"上级组织不存在：{parent_text}（它在第 {later[last]} 行，上级须写在下级之前）"
                ) from None
            raise
    parent_id = parent.id if parent else None
    existing = await Org.get_or_none(parent_id=parent_id, name=name)
    if existing is not None:
        if existing.kind != kind:
            raise ValueError(f"已有同名组织“{name}”，类型为{KIND_NAMES[existing.kind]}")
        return "unchanged"
    try:
        org = await create_org(name, kind, parent_id)
    except InvalidRequest as exc:
        raise ValueError(_reason(exc)) from None
    orgs.add(org)
    return "created"


def _reason(exc: InvalidRequest) -> str:
    fields = (exc.details or {}).get("fields") or {}
    return "；".join(fields.values()) or exc.message
