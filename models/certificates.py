"""Volunteer service certificates (志愿服务证明): issued from the ledger's totals, verifiable by serial."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from models.ledger import LedgerEntry
from models.orgs import Org
from models.submissions import Submission
from models.users import NICKNAME_MARK, User
from server.kernel.clock import LOCAL_TZ
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


# How many activities a certificate lists by name (newest first); the rest are counted, "等 N 项".
ACTIVITIES_LISTED = 12


async def issue_for(user: User, today: date) -> Certificate:
    """The person's certificate for their current record: the last one again if nothing it states changed.

    It states the hours (credit and honour), what the person did (credited ledger entries of a
    task or campaign, newest first), the person's org, and the issuing org (the top of the
    person's tree) with its person in charge, handler and contact."""
    hours = user.service_hours or Decimal(0)
    if hours <= 0:
        raise NoServiceHours()
    honour = user.honour_hours or Decimal(0)
    activities, total = await activities_of(user.id)
    org, top = await _org_names(user)
    issuer = top.name if top else DEFAULT_ISSUER
    signer = (top.cert_leader, top.cert_handler, top.cert_contact) if top else ("", "", "")
    last = await Certificate.filter(user_id=user.id).order_by("-id").first()
    name = user.name_on_record[:64]
    stated = (hours, honour, total, activities, name, org[:255], issuer[:100], *signer)
    if last and _stated(last) == stated:
        return last
    return await Certificate.create(
        serial=new_serial(today),
        user_id=user.id,
        name=name,
        org=org[:255],
        issuer=issuer[:100],
        service_hours=hours,
        credit_hours=hours - honour,
        honour_hours=honour,
        approved_tasks=total,
        activities=activities,
        leader=signer[0],
        handler=signer[1],
        contact=signer[2],
        issued_on=today,
    )


def _stated(cert: Certificate) -> tuple:
    return (
        cert.service_hours,
        cert.honour_hours,
        cert.approved_tasks,
        cert.activities,
        cert.name,
        cert.org,
        cert.issuer,
        cert.leader,
        cert.handler,
        cert.contact,
    )


async def activities_of(user_id: int) -> tuple[list[dict[str, str]], int]:
    """What the person did, from the ledger: each credited award with hours that belongs to a task or
    campaign and was not taken back, newest first. The first ``ACTIVITIES_LISTED`` as
    {"title", "date", "hours"} and how many there are in all. Three queries whatever the record."""
    awards = await (
        LedgerEntry.filter(user_id=user_id, kind="award", hours_kind="credit", service_hours__gt=0)
        .filter(Q(submission_id__not_isnull=True) | Q(campaign_id__not_isnull=True))
        .order_by("-created_at", "-id")
        .only("id", "submission_id", "campaign_id", "service_hours", "reason", "created_at")
    )
    taken_back = set(
        await LedgerEntry.filter(user_id=user_id, kind="reversal", submission_id__not_isnull=True).values_list(
            "submission_id", flat=True
        )
    )
    kept = [a for a in awards if a.submission_id is None or a.submission_id not in taken_back]
    listed = kept[:ACTIVITIES_LISTED]
    wanted = [a.submission_id for a in listed if a.submission_id is not None]
    tasks = (
        {
            sid: (title, starts_at)
            for sid, title, starts_at in await Submission.filter(id__in=wanted).values_list(
                "id", "task__title", "task__starts_at"
            )
        }
        if wanted
        else {}
    )
    activities = []
    for award in listed:
        title, when = tasks.get(award.submission_id, (None, None)) if award.submission_id else (None, None)
        day = (when or award.created_at).astimezone(LOCAL_TZ).date()
        activities.append(
            {
                "title": (title or _title_of(award.reason))[:100],
                "date": day.isoformat(),
                "hours": format(award.service_hours.normalize(), "f"),
            }
        )
    return activities, len(kept)


def _title_of(reason: str) -> str:
    """The task's title in a ledger reason ("任务通过：清扫村道", "补录：清扫村道"): what follows the first "："."""
    _, colon, rest = reason.partition("：")
    return rest.strip() if colon and rest.strip() else reason


DEFAULT_ISSUER = "网络文明志愿服务平台"


async def _org_names(user: User) -> tuple[str, Org | None]:
    """(the person's org written out from the top, e.g. 祁东县洪桥街道; the top org, which issues)."""
    if not user.org_id:
        return "", None
    path = user.org.path if user.org else ""
    ids = [int(p) for p in path.strip("/").split("/") if p]
    orgs = {o.id: o for o in await Org.filter(id__in=ids)}
    return "".join(orgs[i].name for i in ids if i in orgs), (orgs.get(ids[0]) if ids else None)


async def verify(serial: str) -> tuple[Certificate, bool] | None:
    """The certificate and whether it still holds: the person exists and has at least those hours."""
    cert = await Certificate.get_or_none(serial=serial).select_related("user")
    if cert is None:
        return None
    user = cert.user
    valid = user.deleted_at is None and (user.service_hours or Decimal(0)) >= cert.service_hours
    return cert, valid


def masked_name(name: str) -> str:
    """A name as the public check shows it: 张三丰 → 张*丰, 李四 → 李*, a nickname likewise (its mark dropped)."""
    bare = name.removesuffix(NICKNAME_MARK).strip()
    if len(bare) <= 1:
        return bare + "*" if bare else "*"
    if len(bare) == 2:
        return bare[0] + "*"
    return bare[0] + "*" * (len(bare) - 2) + bare[-1]
