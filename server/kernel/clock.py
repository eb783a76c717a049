"""The one clock: every "now" and every local day is read here.

Times are stored and compared in UTC; the county's days, weeks and months are
those of Asia/Shanghai (UTC+8, no daylight saving).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    return datetime.now(UTC)


def now_local() -> datetime:
    return datetime.now(LOCAL_TZ)


def local_text(moment: datetime) -> str:
    """A moment as people in the county read it, to the minute, for messages: 2026-12-10 09:00."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def local_day(moment: datetime) -> date:
    """The county's calendar day of a moment (Asia/Shanghai)."""
    return moment.astimezone(LOCAL_TZ).date()


def local_day_start(day: date) -> datetime:
    """The first moment of a county day (Asia/Shanghai midnight), aware."""
    return datetime.combine(day, time(), LOCAL_TZ)


def local_days(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """[since, until) of the county days ``first`` to ``last`` inclusive; None leaves that side open."""
    since = local_day_start(first) if first else None
    until = local_day_start(last + timedelta(days=1)) if last else None
    return since, until
