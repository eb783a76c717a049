"""Volunteer service certificates (志愿服务证明): issued from the ledger's totals, verifiable by serial."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal

from tortoise import fields
from tortoise.models import Model

from models.orgs import Org
from models.submissions import Submission
from models.users import User
from server.kernel.errors import Conflict

# Unambiguous characters (no 0/O, 1/I) for a serial people may type in.
_SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class NoServiceHours(Conflict):
    code, message = "no_service_hours", "还没有经审核通过的志愿服务时长，暂时无法开具证明"


class Certificate(Model):
    """What a certificate stated when it was issued, verifiable by its serial."""

    id = fields.IntField(primary_key=True)
    serial = fields.CharField(max_length=32, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="certificates", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    org = fields.CharField(max_length=255)
    # Who issues it: the top org of the person's tree (the county), as named when issued.
    issuer = fields.CharField(max_length=100, default="")
    service_hours = fields.DecimalField(max_digits=10, decimal_places=2)
    # The two parts of ``service_hours`` (信用时长 and 荣誉时长), as issued.
    credit_hours = fields.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    honour_hours = fields.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    approved_tasks = fields.IntField()
    # What the person did, as issued: [{"title", "date", "hours"}], newest first.
    activities = fields.JSONField(default=list)
    # The issuing org's person in charge (负责人), handler (经办人) and contact, as issued.
    leader = fields.CharField(max_length=32, default="")
    handler = fields.CharField(max_length=32, default="")
    contact = fields.CharField(max_length=64, default="")
    issued_on = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int

    class Meta:
        table = "certificates"


def new_serial(issued_on: date) -> str:
    return f"WM-{issued_on:%Y%m%d}-" + "".join(secrets.choice(_SERIAL_ALPHABET) for _ in range(8))


async def issue_for(user: User, today: date) -> Certificate:
    """The person's certificate for their current totals: the last one again if nothing changed."""
    hours = user.service_hours or Decimal(0)
    if hours <= 0:
        raise NoServiceHours()
    tasks = await Submission.filter(user_id=user.id, status="approved").count()
    org, issuer = await _org_names(user)
    last = await Certificate.filter(user_id=user.id).order_by("-id").first()
    name = user.name_on_record[:64]
    stated = (hours, tasks, name, org, issuer)
    if last and (last.service_hours, last.approved_tasks, last.name, last.org, last.issuer) == stated:
        return last
    return await Certificate.create(
        serial=new_serial(today),
        user_id=user.id,
        name=name,
        org=org[:255],
        issuer=issuer[:100],
        service_hours=hours,
        approved_tasks=tasks,
        issued_on=today,
    )


DEFAULT_ISSUER = "网络文明志愿服务平台"


async def _org_names(user: User) -> tuple[str, str]:
    """(the person's org written out from the top, e.g. 祁东县洪桥街道; the issuer: the top org's name)."""
    if not user.org_id:
        return "", DEFAULT_ISSUER
    path = user.org.path if user.org else ""
    ids = [int(p) for p in path.strip("/").split("/") if p]
    names = dict(await Org.filter(id__in=ids).values_list("id", "name"))
    return "".join(names.get(i, "") for i in ids), (names.get(ids[0]) if ids else None) or DEFAULT_ISSUER


async def verify(serial: str) -> tuple[Certificate, bool] | None:
    """The certificate and whether it still holds: the person exists and has at least those hours."""
    cert = await Certificate.get_or_none(serial=serial).select_related("user")
    if cert is None:
        return None
    user = cert.user
    valid = user.deleted_at is None and (user.service_hours or Decimal(0)) >= cert.service_hours
    return cert, valid
