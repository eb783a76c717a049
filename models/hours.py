"""Service hours from real times: rounded down to the half hour, capped by the task's hours."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

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
