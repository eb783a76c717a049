"""The working-day calendar: the holidays and the official make-up workdays (调休) of each year.

Deadlines of netizen messages count working days in Asia/Shanghai: Monday to Friday, except
the holidays the State Council announces, plus the weekend days it turns into workdays. A year's
days are stored as rows (``CalendarDay``) and replaced a year at a time by an admin or by
``seed_calendar`` (``models.calendar_data``).

The arithmetic takes a loaded ``Calendar`` and touches no database, so that it can be tested
day by day; ``calendar_for`` loads the years a deadline may span in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import record
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import Conflict, InvalidRequest

if TYPE_CHECKING:
    from models.users import User

HOLIDAY, WORKDAY = "holiday", "workday"
KINDS = (HOLIDAY, WORKDAY)
# The years a calendar can hold: those of the days requests may carry (handlers.schemas.Day).
FIRST_YEAR, LAST_YEAR = 2000, 2099
# A day's last second: a deadline falls at the end of its last working day, local time.
END_OF_DAY = time(23, 59, 59)
SATURDAY = 5
# Who may replace a year: the holidays are the whole county's, not one org's.
CALENDAR_ROLES = ("admin",)


class CalendarBusy(Conflict):
    code, message = "calendar_busy", "该年度日历正被他人同时修改，请刷新后重试"


class CalendarDay(Model):
    """A day that is not what its weekday says: a holiday (放假) or a make-up workday (调休上班)."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    kind = fields.CharField(max_length=8)
    note = fields.CharField(max_length=32, null=True)
    updated_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="calendar_days", null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField(auto_now=True)

    updated_by_id: int | None

    class Meta:
        table = "calendar_days"


@dataclass(frozen=True)
class Calendar:
    """The holidays and make-up workdays of the loaded years; other days go by their weekday."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)


# -- the arithmetic (no database) -------------------------------------------------------------


def is_workday(day: date, cal: Calendar) -> bool:
    """A make-up workday works even on a weekend; a holiday rests even on a weekday."""
    if day in cal.workdays:
        return True
    if day in cal.holidays:
        return False
    return day.weekday() < SATURDAY


def add_working_days(start_day: date, n: int, cal: Calendar) -> date:
    """The n-th working day after ``start_day`` (counting starts the day after); ``start_day`` itself for 0."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start_day
    while n > 0:
        day += timedelta(days=1)
        if is_workday(day, cal):
            n -= 1
    return day


def working_days_between(a: date, b: date, cal: Calendar) -> int:
    """How many working days fall after ``a`` up to and including ``b``; 0 when ``b`` is not after ``a``.

    The inverse of ``add_working_days``: ``working_days_between(a, add_working_days(a, n)) == n``;
    with ``a`` a due day and ``b`` today, it is how many working days a message is overdue.
    """
    count, day = 0, a
    while day < b:
        day += timedelta(days=1)
        count += is_workday(day, cal)
    return count


def due_at(assigned_at: datetime, days: int, cal: Calendar) -> datetime:
    """23:59:59 local time of the ``days``-th working day after the local day of ``assigned_at``."""
    assigned_day = assigned_at.astimezone(LOCAL_TZ).date()
    return datetime.combine(add_working_days(assigned_day, days, cal), END_OF_DAY, LOCAL_TZ)


# -- loading and storing ------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarYear:
    year: int
    holidays: list[date]
    workdays: list[date]


async def calendar_for(years: Iterable[int]) -> Calendar:
    """The stored days of ``years``, in one query (a deadline may run into the next year: pass both)."""
    wanted = sorted(set(years))
    if not wanted:
        return Calendar()
    rows = await CalendarDay.filter(day__gte=date(wanted[0], 1, 1), day__lte=date(wanted[-1], 12, 31)).values_list(
        "day", "kind"
    )
    chosen = set(wanted)
    days = [(day, kind) for day, kind in rows if day.year in chosen]
    return Calendar(
        holidays=frozenset(day for day, kind in days if kind == HOLIDAY),
        workdays=frozenset(day for day, kind in days if kind == WORKDAY),
    )


async def calendar_from(day: date) -> Calendar:
    """The calendar a deadline counted from ``day`` needs: its year and the next (22 working days at most)."""
    return await calendar_for([day.year, day.year + 1])


async def get_year(year: int) -> CalendarYear:
    """The year's holidays and make-up workdays, each sorted; empty lists for a year nobody set."""
    cal = await calendar_for([year])
    return CalendarYear(year=year, holidays=sorted(cal.holidays), workdays=sorted(cal.workdays))


def check_year(year: int, holidays: list[date], workdays: list[date]) -> None:
    """400 naming each bad entry (``holidays.N``, ``workdays.N``) by its place in the list sent."""
    problems: dict[str, str] = {}
    seen: dict[date, str] = {}
    for name, days in (("holidays", holidays), ("workdays", workdays)):
        for i, day in enumerate(days):
            at = f"{name}.{i}"
            if day.year != year:
                problems[at] = f"不在 {year} 年内"
            elif day in seen:
                first = seen[day]
                same_list = first.split(".", 1)[0] == name
                problems[at] = f"与 {first} 重复" if same_list else f"已列在 {first}，同一天不能既放假又上班"
            elif name == "workdays" and day.weekday() < SATURDAY:
                # Weekdays work anyway: a make-up workday only means something on a weekend.
                problems[at] = "调休上班日须为周六或周日"
            seen.setdefault(day, at)
    if problems:
        raise InvalidRequest.fields(problems)


def check_year_number(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidRequest.fields({"year": f"须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间"})


async def put_year(
    year: int,
    holidays: list[date],
    workdays: list[date],
    actor: User | None,
    notes: dict[date, str] | None = None,
) -> CalendarYear:
    """Replace the year's days in one transaction, audited; ``notes`` name days (春节), others keep theirs."""
    check_year_number(year)
    check_year(year, holidays, workdays)
    kinds = {day: HOLIDAY for day in holidays} | {day: WORKDAY for day in workdays}
    first, last = date(year, 1, 1), date(year, 12, 31)
    try:
        async with in_transaction():
            this_year = CalendarDay.filter(day__gte=first, day__lte=last)
            before = {row.day: row for row in await this_year.select_for_update()}
            # A day that stays what it was keeps its note (a PUT carries none).
            kept = {day: row.note for day, row in before.items() if kinds.get(day) == row.kind and row.note}
            await CalendarDay.filter(day__gte=first, day__lte=last).delete()
            await CalendarDay.bulk_create(
                [
                    CalendarDay(
                        day=day,
                        kind=kind,
                        note=(notes or {}).get(day) or kept.get(day),
                        updated_by_id=actor.id if actor else None,
                    )
                    for day, kind in sorted(kinds.items())
                ]
            )
            await record(actor, "calendar_update", f"calendar:{year}", _changes(before, kinds))
    except IntegrityError:
        # Two first writes of an empty year at once: nothing to lock, the unique day decides.
        raise CalendarBusy() from None
    return CalendarYear(year=year, holidays=sorted(holidays), workdays=sorted(workdays))


def _changes(before: dict[date, CalendarDay], after: dict[date, str]) -> dict[str, list[str]]:
    """The audit's details: the days whose kind changed, as "YYYY-MM-DD" per new kind ("none" if back to normal)."""
    changed: dict[str, list[str]] = {HOLIDAY: [], WORKDAY: [], "none": []}
    for day in sorted(before.keys() | after.keys()):
        old, new = before[day].kind if day in before else None, after.get(day)
        if old != new:
            changed[new or "none"].append(day.isoformat())
    return {kind: days for kind, days in changed.items() if days}
