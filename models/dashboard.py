"""首页's numbers for one staff member's subtree (or everything, for an admin).

Each figure is one grouped query, with the meaning of the report's column of the same name
(``models.participation``: by where the participants belong), except ``awaiting``, which is
what the review queue holds (by where the campaign belongs). Days and months are the county's
(Asia/Shanghai); per-day counts are bucketed in Python over the timestamps of a bounded window,
so the same code is right on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.functions import Count

from models.orgs import Org
from models.participation import approved_in, enrolled_in, submitted_in
from models.submissions import Submission, awaiting_review
from models.users import MEMBER_ROLES, User
from server.kernel.clock import local_day, local_day_start

DAYS = 30


@dataclass(frozen=True)
class OrgBar:
    org_id: int
    name: str
    enrolled: int


@dataclass(frozen=True)
class DayPoint:
    day: date
    submitted: int
    approved: int


@dataclass(frozen=True)
class Dashboard:
    awaiting: int  # pending and flagged submissions of the subtree's campaigns
    enrolled: int  # enrollments made this month (not withdrawn) by the subtree's people
    approved: int  # submissions of the subtree's people approved this month
    members: int  # volunteers and influencers of the subtree, not erased
    month_start: date
    orgs: list[OrgBar]  # the scope's direct child orgs (each counting its subtree), enrollments this month
    days: list[DayPoint]  # the last DAYS county days, oldest first, today last


async def dashboard(scope: Org | None, now: datetime) -> Dashboard:
    """The figures of ``scope``'s subtree (None: everything) as of ``now``."""
    today = local_day(now)
    month_start, tomorrow = today.replace(day=1), local_day_start(today + timedelta(days=1))
    people = {"user__org__path__startswith": scope.path} if scope else {}
    campaigns = {"task__campaign__org__path__startswith": scope.path} if scope else {}
    members = {"org__path__startswith": scope.path} if scope else {}

    awaiting = await awaiting_review(Submission.filter(**campaigns)).count()
    by_path: list[tuple[str | None, int]] = (
        await enrolled_in(local_day_start(month_start), tomorrow)
        .filter(**people)
        .annotate(n=Count("id"))
        .group_by("user__org__path")
        .values_list("user__org__path", "n")
    )
    approved = await approved_in(local_day_start(month_start), tomorrow).filter(**people).count()
    member_count = await User.filter(role__in=MEMBER_ROLES, deleted_at__isnull=True, **members).count()
    bars = await _bar_orgs(scope)
    return Dashboard(
        awaiting=awaiting,
        enrolled=sum(n for _, n in by_path),
        approved=approved,
        members=member_count,
        month_start=month_start,
        orgs=[OrgBar(o.id, o.name, sum(n for p, n in by_path if p and p.startswith(o.path))) for o in bars],
        days=await _days(people, today, tomorrow),
    )


async def _bar_orgs(scope: Org | None) -> list[Org]:
    """The orgs the participation chart compares: the scope's children, else the scope itself.

    For an admin: the county's townships (the children of the one root), or the roots if several."""
    if scope is None:
        roots = await Org.filter(parent_id=None).order_by("id")
        if len(roots) != 1:
            return roots
        scope = roots[0]
    return await Org.filter(parent_id=scope.id).order_by("id") or [scope]


async def _days(people: dict[str, str], today: date, tomorrow: datetime) -> list[DayPoint]:
    first = today - timedelta(days=DAYS - 1)
    since = local_day_start(first)
    handed_in = await submitted_in(since, tomorrow).filter(**people).values_list("created_at", flat=True)
    passed = await approved_in(since, tomorrow).filter(**people).values_list("reviewed_at", flat=True)
    submitted = Counter(local_day(moment) for moment in handed_in)
    approved = Counter(local_day(moment) for moment in passed if moment)
    days = (first + timedelta(days=n) for n in range(DAYS))
    return [DayPoint(day, submitted[day], approved[day]) for day in days]
