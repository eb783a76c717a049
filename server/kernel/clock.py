"""The one clock: every "now" and every local day is read here.

Times are stored and compared in UTC; the county's days, weeks and months are
those of Asia/Shanghai (UTC+8, no daylight saving).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    return datetime.now(UTC)


def now_local() -> datetime:
    return datetime.now(LOCAL_TZ)


def local_text(moment: datetime) -> str:
    """A moment as people in the county read it, to the minute, for messages: 2026-12-10 09:00."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
