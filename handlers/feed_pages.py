"""``GET /tasks`` from the in-process caches (``server.web.caches``): the feed everyone opens at once.

A page of the feed is the same for everyone of one audience (a role and an org, or a staff
member's subtree): it is cached rendered, without the parts that are the caller's or the
moment's — the caller's own enrollment (``mine``, per person), the status (worked out from the
cached task at every read, so a task that ended since shows as ended) and the count of
enrollments (``counts``, per task: an enrollment moves it, and must not empty every audience's
pages). The pages by distance
(``near``), of one's own tasks (``mine=1``) and of ended tasks (a set that grows as time passes)
are read as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.task_schemas import EnrollmentRead, TaskQuery, TaskRead
from models.campaigns import Enrollment, Task
from models.feed import task_feed
from models.users import User
from server.kernel.clock import now_utc
from server.web.caches import Caches


def cacheable(query: TaskQuery) -> bool:
    return not query.near and query.mine not in ("1", "true") and query.status != "ended"


async def feed_page(user: User, query: TaskQuery, scope_path: str | None, caches: Caches) -> dict[str, Any]:
    """The body of ``GET /tasks`` (``TaskList``)."""
    now = now_utc()
    if not cacheable(query):
        page = await task_feed(user, query, scope_path)
        items = [TaskRead.of(t, now, page.mine.get(t.id), page.distances.get(t.id)) for t in page.tasks]
        return {"items": [i.model_dump(mode="json") for i in items], "next_cursor": page.next_cursor}
    audience = ("staff", scope_path) if user.is_staff else (user.role, user.org.path if user.org else None)
    key = (audience, query.campaign_id, query.status, query.cursor, query.limit)
    cached = caches.feed.get(key)
    if cached is None:
        ticket, counted = caches.feed.ticket(), caches.counts.ticket()
        page = await task_feed(user, query, scope_path, mine=False)
        cached = ([(t, TaskRead.of(t, now).model_dump(mode="json")) for t in page.tasks], page.next_cursor)
        caches.feed.put(key, cached, ticket, ttl=_lasts(page.tasks, query, now))
        for t in page.tasks:
            caches.counts.put(t.id, t.enrolled_count, counted)
    rows, next_cursor = cached
    counts = await enrolled_counts([t.id for t, _ in rows], caches)
    mine = await enrollments(user, caches)
    items = [
        {**shown, "status": t.status_at(now), "enrolled_count": counts[t.id], "my_enrollment": mine.get(t.id)}
        for t, shown in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


def _lasts(tasks: list[Task], query: TaskQuery, now: datetime) -> float | None:
    """How long the page holds: an ``open`` page until its first task ends; the others until a write."""
    if query.status != "open" or not tasks:
        return None
    return max(0.0, (min(t.ends_at for t in tasks) - now).total_seconds())


async def enrolled_counts(task_ids: list[int], caches: Caches) -> dict[int, int]:
    """Each task's count of enrollments: from the cache, the missing ones in one query."""
    found = {tid: n for tid in task_ids if (n := caches.counts.get(tid)) is not None}
    missing = [tid for tid in task_ids if tid not in found]
    if missing:
        ticket = caches.counts.ticket()
        for tid, n in await Task.filter(id__in=missing).values_list("id", "enrolled_count"):
            found[tid] = n
            caches.counts.put(tid, n, ticket)
    return {tid: found.get(tid, 0) for tid in task_ids}


async def enrollments(user: User, caches: Caches) -> dict[int, dict[str, Any]]:
    """The caller's enrollments by task id, rendered (``EnrollmentRead``)."""
    mine = caches.mine.get(user.id)
    if mine is None:
        ticket = caches.mine.ticket()
        rows = await Enrollment.filter(user_id=user.id)
        mine = {e.task_id: EnrollmentRead.of(e).model_dump(mode="json") for e in rows}
        caches.mine.put(user.id, mine, ticket)
    return mine
