"""Who took part, and how much, in a period: the numbers behind the participation report."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import astuple, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from models.campaigns import Campaign, Enrollment, Task
from models.ledger import LedgerEntry
from models.orgs import Org
from models.submissions import Submission
from models.users import User

COUNTERS = ("enrolled", "checked_in", "submitted", "approved")


@dataclass(frozen=True)
class OnlineWork:
    """Approved submissions of online tasks in the period and the sums of their latest reach counts."""

    submissions: int = 0
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0

    def counts(self) -> tuple[int, ...]:
        """线上作品, 浏览量, 点赞, 评论, 转发."""
        return astuple(self)

    def __add__(self, other: OnlineWork) -> OnlineWork:
        return OnlineWork(*(a + b for a, b in zip(self.counts(), other.counts(), strict=True)))


@dataclass(frozen=True)
class ParticipationRow:
    """One person's participation in the report period."""

    name: str
    user_id: int
    org: str  # the org's full name path, e.g. "祁东县 / 洪桥街道 / 育贤社区", or just its name
    enrolled: int
    checked_in: int
    submitted: int
    approved: int
    points: int
    service_hours: Decimal
    # Online work (网络传播) and the points its bonuses (reach tiers, reposts) earned in the period.
    online: OnlineWork = field(default_factory=OnlineWork)
    reach_points: int = 0
    # The period's ``service_hours`` split: earned by the person (信用时长) and granted by an admin (荣誉时长).
    honour_hours: Decimal = Decimal(0)
    org_path: str = ""  # not a column: where the person is, for the per-org reach

    @property
    def credit_hours(self) -> Decimal:
        return self.service_hours - self.honour_hours


async def participation(
    *, since: datetime, until: datetime, org_path: str, campaign_id: int | None
) -> list[ParticipationRow]:
    """One row per person of the org subtree with any activity in [since, until), in six grouped queries."""
    people = {"user__org__path__startswith": org_path}
    tasks = {"task__campaign_id": campaign_id} if campaign_id else {}
    counts: dict[str, dict[int, int]] = {
        "enrolled": await _count(enrolled_in(since, until).filter(**people, **tasks)),
        "checked_in": await _count(
            Enrollment.filter(checked_in_at__gte=since, checked_in_at__lt=until, **people, **tasks)
        ),
        "submitted": await _count(submitted_in(since, until).filter(**people, **tasks)),
        "approved": await _count(approved_in(since, until).filter(**people, **tasks)),
    }
    ledger = LedgerEntry.filter(created_at__gte=since, created_at__lt=until, **people)
    if campaign_id:
        ledger = ledger.filter(campaign_id=campaign_id)
    bonus = Q(bonus_of__not_isnull=True)
    honour = Q(hours_kind="honour")
    earned = {
        uid: (int(points or 0), Decimal(hours or 0), int(bonuses or 0), Decimal(granted or 0))
        for uid, points, hours, bonuses, granted in await ledger.annotate(
            p=Sum("points"),
            h=Sum("service_hours"),
            b=Sum("points", _filter=bonus),
            g=Sum("service_hours", _filter=honour),
        )
        .group_by("user_id")
        .values_list("user_id", "p", "h", "b", "g")
    }
    online = await _online_work(approved_in(since, until).filter(**people, **tasks))
    active = set(earned).union(online, *(c.keys() for c in counts.values()))
    users = await User.filter(id__in=active).select_related("org").order_by("org_id", "id")
    names = await _org_names(org_path)
    nothing = (0, Decimal(0), 0, Decimal(0))
    return [
        ParticipationRow(
            name=u.name_on_record,
            user_id=u.id,
            org=names.get(u.org_id, "") if u.org_id else "",
            **{name: counts[name].get(u.id, 0) for name in COUNTERS},
            points=earned.get(u.id, nothing)[0],
            service_hours=earned.get(u.id, nothing)[1],
            online=online.get(u.id, OnlineWork()),
            reach_points=earned.get(u.id, nothing)[2],
            honour_hours=earned.get(u.id, nothing)[3],
            org_path=u.org.path if u.org else "",
        )
        for u in users
    ]


async def _online_work(approved: QuerySet[Submission]) -> dict[int, OnlineWork]:
    """Per person: approved submissions of online tasks and the sums of their latest reach counts."""
    rows = (
        await approved.filter(task__online__not_isnull=True)
        .group_by("user_id")
        .annotate(n=Count("id"), v=Sum("views"), l=Sum("likes"), c=Sum("comments"), s=Sum("shares"))
        .values_list("user_id", "n", "v", "l", "c", "s")
    )
    return {uid: OnlineWork(*(int(value or 0) for value in counts)) for uid, *counts in rows}


async def reach_by_org(parent: Org | None, rows: list[ParticipationRow]) -> list[tuple[str, OnlineWork]]:
    """The online work of ``rows`` per child org of ``parent`` (None: per county), people counted
    where their org lies in that child's subtree; the children in id order, with nothing as zeros."""
    children = await Org.filter(parent_id=parent.id if parent else None).order_by("id").only("id", "name", "path")
    return [
        (child.name, sum((r.online for r in rows if r.org_path.startswith(child.path)), OnlineWork()))
        for child in children
    ]


def enrolled_in(since: datetime, until: datetime) -> QuerySet[Enrollment]:
    """Enrollments made in [since, until) and not withdrawn: the report's 报名."""
    return Enrollment.filter(enrolled_at__gte=since, enrolled_at__lt=until).exclude(status="withdrawn")


def submitted_in(since: datetime, until: datetime) -> QuerySet[Submission]:
    """Submissions handed in during [since, until): the report's 提交."""
    return Submission.filter(created_at__gte=since, created_at__lt=until)


def approved_in(since: datetime, until: datetime) -> QuerySet[Submission]:
    """Submissions approved (and still so) during [since, until): the report's 通过."""
    return Submission.filter(status="approved", reviewed_at__gte=since, reviewed_at__lt=until)


async def _count(rows: Any) -> dict[int, int]:
    return dict(await rows.annotate(n=Count("id")).group_by("user_id").values_list("user_id", "n"))


async def _org_names(path: str) -> dict[int, str]:
    """Full names ("县 / 镇 / 村") of the orgs under ``path``, by id."""
    orgs = {o.id: o for o in await Org.all().only("id", "name", "parent_id", "path")}
    full: dict[int, str] = defaultdict(str)
    for org in orgs.values():
        if not org.path.startswith(path):
            continue
        chain = [int(p) for p in org.path.strip("/").split("/") if p]
        full[org.id] = " / ".join(orgs[i].name for i in chain if i in orgs)
    return dict(full)


async def campaign_summary(campaign: Campaign) -> dict[str, int]:
    """Counts across the campaign's tasks, in three queries whatever its size.

    Enrollment counts are people per task; ``approved`` and ``rejected`` count submissions
    (evidence), so a person rejected and then approved on resubmission appears in both.
    """
    enrollments = (
        await Enrollment.filter(task__campaign_id=campaign.id)
        .group_by("status")
        .annotate(n=Count("id"), checked_in=Count("id", _filter=Q(checked_in_at__isnull=False)))
        .values("status", "n", "checked_in")
    )
    by_status = {r["status"]: r for r in enrollments}
    live = [r for status, r in by_status.items() if status != "withdrawn"]
    reviews = (
        await Submission.filter(task__campaign_id=campaign.id, status__in=("approved", "rejected"))
        .group_by("status")
        .annotate(n=Count("id"))
        .values("status", "n")
    )
    by_decision = {r["status"]: r["n"] for r in reviews}
    return {
        "tasks": await Task.filter(campaign_id=campaign.id).count(),
        "enrolled": sum(r["n"] for r in live),
        "checked_in": sum(r["checked_in"] for r in live),
        "submitted": by_status.get("submitted", {}).get("n", 0),
        "withdrawn": by_status.get("withdrawn", {}).get("n", 0),
        "approved": by_decision.get("approved", 0),
        "rejected": by_decision.get("rejected", 0),
    }
