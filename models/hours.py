"""Service hours from real times: rounded down to the half hour, capped by the task's hours."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tortoise.expressions import Q, Subquery
from tortoise.functions import Sum

from models.hour_requests import HourRequest, once_key
from models.ledger import LedgerEntry
from models.submissions import Submission

HALF_HOUR_S = 1800


def hours_between(started_at: datetime, ended_at: datetime, cap: Decimal) -> Decimal:
    """The time from ``started_at`` to ``ended_at`` in hours, rounded down to the half hour, at most ``cap``.

    0 when the end is not after the start. ``cap`` is the task's ``service_hours``.
    """
    seconds = (ended_at - started_at).total_seconds()
    if seconds <= 0:
        return Decimal("0")
    halves = int(seconds // HALF_HOUR_S)
    return min(Decimal(halves) / 2, cap).quantize(Decimal("0.01"))


async def credited_hours(task_id: int, user_id: int) -> Decimal:
    """The credit hours the ledger holds for one person and task, net of reversals.

    From their evidence of the task (approval and any reversal) and their approved make-up
    requests of it: what a new award for the task may add up to the task's ``service_hours``.
    Two queries whatever the number of entries.
    """
    approved = await HourRequest.filter(task_id=task_id, user_id=user_id, status="approved").values_list(
        "id", flat=True
    )
    own_work = Q(submission_id__in=Subquery(Submission.filter(task_id=task_id, user_id=user_id).values("id")))
    if approved:
        own_work |= Q(once_key__in=[once_key(i) for i in approved])
    rows = LedgerEntry.filter(own_work, user_id=user_id, hours_kind="credit")
    total = await rows.annotate(total=Sum("service_hours")).values_list("total", flat=True)
    return Decimal(str(total[0] or 0)).quantize(Decimal("0.01")) if total else Decimal("0.00")
