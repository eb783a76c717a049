"""Organisations: county → township/street → village/community, units anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import record
from server.kernel.errors import InvalidRequest
from server.kernel.ids import is_id

if TYPE_CHECKING:
    from models.users import User

ORG_KINDS = ("county", "township", "village", "unit")
# Which kinds may sit directly under which: a unit (school, bureau) can hang
# anywhere; villages only under townships; the county is the root.
# How the kinds read in messages.
KIND_NAMES = {"county": "县级组织", "township": "乡镇（街道）", "village": "村（社区）", "unit": "单位"}
_ALLOWED_PARENTS: dict[str, tuple[str | None, ...]] = {
    "county": (None,),
    "township": ("county",),
    "village": ("township",),
    "unit": ("county", "township", "village", "unit"),
}


class Org(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    kind = fields.CharField(max_length=16)
    parent: fields.ForeignKeyNullableRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    # Materialised path "/1/7/42/": subtree checks are one prefix comparison.
    path = fields.CharField(max_length=255, default="", db_index=True)
    # What a service certificate (志愿服务证明) this org issues names besides the org: its person
    # in charge (负责人), the handler (经办人) and a contact (联系方式).
    cert_leader = fields.CharField(max_length=32, default="")
    cert_handler = fields.CharField(max_length=32, default="")
    cert_contact = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    parent_id: int | None

    class Meta:
        table = "orgs"
        unique_together = (("parent", "name"),)

    def contains(self, other_path: str) -> bool:
        """True when the org with ``other_path`` is this org or below it."""
        return other_path.startswith(self.path)


def check_org_name(name: str) -> None:
    """An InvalidRequest when ``name`` cannot name an org."""
    if not name:
        raise InvalidRequest.fields({"name": "名称为空"})
    if len(name) > 100:
        raise InvalidRequest.fields({"name": "名称过长（最多 100 个字）"})
    # Invisible characters (zero-width, direction marks) make look-alike duplicates of a name.
    if not name.isprintable():
        raise InvalidRequest.fields({"name": "名称含有不可见字符"})


async def create_org(name: str, kind: str, parent_id: int | None) -> Org:
    """Create an org under ``parent_id`` keeping the tree's shape rules."""
    check_org_name(name)
    if kind not in ORG_KINDS:
        raise InvalidRequest.fields({"kind": f"类型无效：{kind}"})
    parent = None
    if parent_id is not None:
        parent = await find_org(parent_id)
        if parent is None:
            raise InvalidRequest.fields({"parent_id": "上级组织不存在"})
    if (parent.kind if parent else None) not in _ALLOWED_PARENTS[kind]:
        raise InvalidRequest.fields({"parent_id": f"{KIND_NAMES[kind]}不能设在该上级组织之下"})
    if await Org.filter(parent_id=parent_id, name=name).exists():
        raise InvalidRequest.fields({"name": "同一上级下已有同名组织"})
    try:
        async with in_transaction():
            org = await Org.create(name=name, kind=kind, parent=parent)
            org.path = f"{parent.path if parent else '/'}{org.id}/"
            await org.save(update_fields=["path"])
    except IntegrityError:
        # A concurrent request took the name between the check above and the insert.
        raise InvalidRequest.fields({"name": "同一上级下已有同名组织"}) from None
    return org


async def find_org(org_id: int | None) -> Org | None:
    """The org, or None when there is no such org (or no such id)."""
    return await Org.get_or_none(id=org_id) if is_id(org_id) else None


async def org_path(org_id: int | None) -> str | None:
    """The materialised path of an org, or None when there is no such org."""
    if not is_id(org_id):
        return None
    return await Org.filter(id=org_id).first().values_list("path", flat=True)


@dataclass
class OrgNode:
    """An org with its children, as the tree shows it."""

    org: Org
    children: list[OrgNode] = field(default_factory=list)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Org]]:
        """(depth, org) of this node and every node below it, parents first."""
        yield depth, self.org
        for child in self.children:
            yield from child.walk(depth + 1)


async def org_forest(scope_path: str | None = None) -> list[OrgNode]:
    """The orgs of the subtree at ``scope_path`` (None: all) nested under their roots, in one query.

    Children in the order they were created."""
    orgs = Org.all() if scope_path is None else Org.filter(path__startswith=scope_path)
    nodes = {o.id: OrgNode(o) for o in await orgs.order_by("id")}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.org.parent_id) if node.org.parent_id else None
        (parent.children if parent else roots).append(node)
    return roots


async def org_tree() -> list[dict]:
    """All orgs as nested dicts, in one query."""

    def as_dict(node: OrgNode) -> dict:
        org = node.org
        children = [as_dict(c) for c in node.children]
        return {
            "id": str(org.id),
            "name": org.name,
            "kind": org.kind,
            "parent_id": _sid(org.parent_id),
            "children": children,
        }

    return [as_dict(root) for root in await org_forest()]


async def rename_org(actor: User, org: Org, name: str) -> Org:
    """Give ``org`` a new name (unique among its siblings), committed with its audit entry."""
    check_org_name(name)
    if name == org.name:
        return org
    if await Org.filter(parent_id=org.parent_id, name=name).exclude(id=org.id).exists():
        raise InvalidRequest.fields({"name": "同一上级下已有同名组织"})
    before = org.name
    try:
        async with in_transaction():
            await Org.filter(id=org.id).update(name=name)
            await record(actor, "org_rename", f"org:{org.id}", {"from": before, "to": name})
    except IntegrityError:
        raise InvalidRequest.fields({"name": "同一上级下已有同名组织"}) from None
    org.name = name
    return org


async def set_certificate_signer(actor: User, org: Org, leader: str, handler: str, contact: str) -> Org:
    """Who a certificate issued by ``org`` names: person in charge, handler, contact; audited with the change."""
    before = {"leader": org.cert_leader, "handler": org.cert_handler, "contact": org.cert_contact}
    after = {"leader": leader, "handler": handler, "contact": contact}
    if after == before:
        return org
    async with in_transaction():
        await Org.filter(id=org.id).update(cert_leader=leader, cert_handler=handler, cert_contact=contact)
        await record(actor, "org_certificate", f"org:{org.id}", {"from": before, "to": after})
    org.cert_leader, org.cert_handler, org.cert_contact = leader, handler, contact
    return org


def _sid(value: int | None) -> str | None:
    return None if value is None else str(value)


async def orgs_within(path: str | None) -> list[Org]:
    """The orgs of a subtree (None: all), parents before their children, in one query."""
    rows = Org.filter(path__startswith=path) if path is not None else Org.all()
    return sorted(await rows, key=lambda org: [int(part) for part in org.path.strip("/").split("/") if part])


async def org_names(ids: set[int]) -> dict[int, str]:
    """The names of the orgs with these ids (unknown ones left out), in one query."""
    wanted = [i for i in ids if is_id(i)]
    return dict(await Org.filter(id__in=wanted).values_list("id", "name")) if wanted else {}
