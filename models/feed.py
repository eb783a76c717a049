"""The task feed the mini-program opens on: a fixed number of queries per page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tortoise.expressions import Q, Subquery

from models.campaigns import Enrollment, Task
from models.enrollment import distance_m
from models.tasks import audience_filter, enrollments_of
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.errors import InvalidRequest
from server.kernel.pagination import decode_cursor, decode_id_cursor, split_page

# "near" sorts in Python by distance over the tasks that have a location: a
# county has hundreds of open tasks, not millions, and SQLite has no trig.
NEAR_CANDIDATES = 2000


class FeedQuery(Protocol):
    campaign_id: str | None
    status: str | None
    mine: str | None
    near: str | None
    limit: int
    cursor: str | None


@dataclass
class FeedPage:
    tasks: list[Task]
    mine: dict[int, Enrollment]
    next_cursor: str | None
    distances: dict[int, float] = field(default_factory=dict)


def _base(user: User, query: FeedQuery, scope_path: str | None) -> Any:
    now = now_utc()
    rows = Task.all().select_related("campaign")  # for the status (campaign.status); the org only filters
    if user.is_staff:
        if scope_path is not None:
            rows = rows.filter(campaign__org__path__startswith=scope_path)
    else:
        rows = rows.exclude(campaign__status="draft").filter(audience_filter(user))
    if query.campaign_id:
        rows = rows.filter(campaign_id=int(query.campaign_id))
    if query.mine in ("1", "true"):
        # A subquery, not a join: a join can repeat a task, and the DISTINCT it would need makes
        # PostgreSQL de-duplicate every visible task before it can take a page (bench/RESULTS.md).
        held = Enrollment.filter(user_id=user.id).exclude(status="withdrawn").values("task_id")
        rows = rows.filter(id__in=Subquery(held))
    if query.status == "cancelled":
        rows = rows.filter(cancelled_at__isnull=False)
    elif query.status == "ended":
        rows = rows.filter(cancelled_at__isnull=True).filter(Q(ends_at__lte=now) | Q(campaign__status="closed"))
    elif query.status == "open":
        rows = rows.filter(cancelled_at__isnull=True, ends_at__gt=now).exclude(campaign__status="closed")
    return rows


async def task_feed(user: User, query: FeedQuery, scope_path: str | None, *, mine: bool = True) -> FeedPage:
    """One page of tasks the caller may see; staff see their subtree (``scope_path``).

    With the caller's enrollments on those tasks unless ``mine`` is False (the caller has them already).
    """
    rows = _base(user, query, scope_path)
    if query.near:
        lat, lng = (float(x) for x in query.near.split(","))
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise InvalidRequest.fields({"near": "坐标超出范围"})
        candidates = await rows.filter(lat__isnull=False, lng__isnull=False).limit(NEAR_CANDIDATES)
        ranked = sorted(((distance_m(lat, lng, t.lat, t.lng), t.id, t) for t in candidates), key=lambda r: r[:2])
        key = decode_cursor(query.cursor, 2)
        if key:
            if not all(isinstance(k, int | float) for k in key):
                raise InvalidRequest.fields({"cursor": "分页游标无效"})
            ranked = [r for r in ranked if (round(r[0], 3), r[1]) > (key[0], key[1])]
        chosen, next_cursor = split_page(ranked[: query.limit + 1], query.limit, lambda r: (round(r[0], 3), r[1]))
        tasks = [t for _, _, t in chosen]
        distances = {t.id: d for d, _, t in chosen}
    else:
        before = decode_id_cursor(query.cursor)
        if before:
            rows = rows.filter(id__lt=before)
        tasks, next_cursor = split_page(await rows.order_by("-id").limit(query.limit + 1), query.limit)
        distances = {}
    held = await enrollments_of(user, [t.id for t in tasks]) if mine else {}
    return FeedPage(tasks, held, next_cursor, distances)


async def all_enrollments(user_id: int) -> list[Enrollment]:
    """Every enrollment of a person (the feed caches them per person)."""
    return await Enrollment.filter(user_id=user_id)


async def enrolled_counts(task_ids: list[int]) -> dict[int, int]:
    """Each task's count of enrollments, in one query."""
    return dict(await Task.filter(id__in=task_ids).values_list("id", "enrolled_count"))
