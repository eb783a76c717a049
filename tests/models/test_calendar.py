"""The working-day calendar: the arithmetic day by day against the published 2026 schedule, and its storage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.audit import AuditEntry
from models.calendar import (
    Calendar,
    CalendarDay,
    add_working_days,
    calendar_for,
    calendar_from,
    check_year,
    due_at,
    get_year,
    is_workday,
    put_year,
    working_days_between,
)
from models.calendar_data import SCHEDULES, schedule_days, seed_calendar
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import InvalidRequest
from tests.support import counting_queries

D = date
HOLIDAYS_2026, WORKDAYS_2026, _ = schedule_days(2026)
CAL = Calendar(holidays=frozenset(HOLIDAYS_2026), workdays=frozenset(WORKDAYS_2026))
PLAIN = Calendar()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# -- the 2026 schedule as published -------------------------------------------------------------


def test_2026_schedule_is_the_notice():
    # 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04), item by item.
    assert set(HOLIDAYS_2026) == {
        *days(D(2026, 1, 1), D(2026, 1, 3)),
        *days(D(2026, 2, 15), D(2026, 2, 23)),
        *days(D(2026, 4, 4), D(2026, 4, 6)),
        *days(D(2026, 5, 1), D(2026, 5, 5)),
        *days(D(2026, 6, 19), D(2026, 6, 21)),
        *days(D(2026, 9, 25), D(2026, 9, 27)),
        *days(D(2026, 10, 1), D(2026, 10, 7)),
    }
    assert sorted(WORKDAYS_2026) == [
        D(2026, 1, 4),
        D(2026, 2, 14),
        D(2026, 2, 28),
        D(2026, 5, 9),
        D(2026, 9, 20),
        D(2026, 10, 10),
    ]
    # The notice's lengths: 3, 9, 3, 5, 3, 3, 7 days.
    assert [len(h.days()) for h in SCHEDULES[2026].holidays] == [3, 9, 3, 5, 3, 3, 7]
    check_year(2026, HOLIDAYS_2026, WORKDAYS_2026)  # passes its own validation


def test_2026_has_248_working_days():
    # 261 weekdays, 19 of them holidays, 6 weekend days worked.
    assert working_days_between(D(2025, 12, 31), D(2026, 12, 31), CAL) == 248
    assert working_days_between(D(2025, 12, 31), D(2026, 12, 31), PLAIN) == 261


# -- is_workday ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 2, 13), True),  # Friday before the Spring Festival
        (D(2026, 2, 14), True),  # Saturday, make-up workday
        (D(2026, 2, 16), False),  # Monday, holiday
        (D(2026, 2, 23), False),  # Monday, 正月初七, last holiday
        (D(2026, 2, 24), True),
        (D(2026, 2, 28), True),  # Saturday, make-up workday
        (D(2026, 3, 1), False),  # plain Sunday
        (D(2026, 1, 4), True),  # Sunday, make-up workday of New Year
        (D(2026, 4, 4), False),  # Saturday, holiday anyway
    ],
)
def test_is_workday(day, expected):
    assert is_workday(day, CAL) is expected


def test_without_a_calendar_only_weekends_rest():
    assert [is_workday(d, PLAIN) for d in days(D(2026, 2, 14), D(2026, 2, 20))] == [
        False,
        False,
        True,
        True,
        True,
        True,
        True,
    ]


# -- add_working_days: the Spring Festival ---------------------------------------------------


@pytest.mark.parametrize(
    ("assigned", "n", "due"),
    [
        # Thursday 2-12: 2-13 Fri, 2-14 Sat (make-up), [2-15 … 2-23 holiday], 2-24, 2-25, 2-26.
        (D(2026, 2, 12), 5, D(2026, 2, 26)),
        # … then 2-27 Fri, 2-28 Sat (make-up).
        (D(2026, 2, 12), 7, D(2026, 2, 28)),
        # Friday 2-13: 2-14 Sat (make-up), 2-24, 2-25, 2-26, 2-27.
        (D(2026, 2, 13), 5, D(2026, 2, 27)),
        # … then 2-28 Sat (make-up), [3-1 Sunday], 3-2 Mon.
        (D(2026, 2, 13), 7, D(2026, 3, 2)),
        # Assigned on the make-up Saturday: the holiday follows at once.
        (D(2026, 2, 14), 1, D(2026, 2, 24)),
        # Assigned during the holiday: counting starts after it.
        (D(2026, 2, 18), 5, D(2026, 2, 28)),
    ],
)
def test_spring_festival(assigned, n, due):
    assert add_working_days(assigned, n, CAL) == due


def test_spring_festival_without_the_calendar_would_land_inside_the_holiday():
    assert add_working_days(D(2026, 2, 13), 5, PLAIN) == D(2026, 2, 20)


@pytest.mark.parametrize(
    ("assigned", "n", "due"),
    [
        # Across New Year: 12-31 Wed, [1-1 … 1-3 holiday], 1-4 Sun (make-up), 1-5, 1-6, 1-7.
        (D(2025, 12, 30), 5, D(2026, 1, 7)),
        (D(2025, 12, 31), 5, D(2026, 1, 8)),
        # National Day: 9-20 Sun (make-up), 9-21 … 9-24; then [9-25 … 9-27 Mid-Autumn], 9-28, 9-29.
        (D(2026, 9, 18), 5, D(2026, 9, 24)),
        (D(2026, 9, 18), 7, D(2026, 9, 29)),
        # [10-1 … 10-7], 10-8 Thu, 10-9 Fri, 10-10 Sat (make-up), [10-11 Sunday], 10-12, 10-13.
        (D(2026, 9, 30), 5, D(2026, 10, 13)),
        # Labour Day: [5-1 … 5-5], 5-6, 5-7, 5-8, 5-9 Sat (make-up), [5-10 Sunday], 5-11.
        (D(2026, 4, 30), 5, D(2026, 5, 11)),
        # Plain weeks: Friday and Saturday assignments both end the next Friday.
        (D(2026, 3, 6), 5, D(2026, 3, 13)),
        (D(2026, 3, 7), 5, D(2026, 3, 13)),
        (D(2026, 3, 8), 5, D(2026, 3, 13)),
        (D(2026, 3, 9), 5, D(2026, 3, 16)),
        # No working days: the day itself.
        (D(2026, 2, 16), 0, D(2026, 2, 16)),
    ],
)
def test_other_holidays_and_weekends(assigned, n, due):
    assert add_working_days(assigned, n, CAL) == due


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(D(2026, 3, 9), -1, CAL)


def test_every_due_day_is_a_working_day_and_every_count_inverts():
    """Day by day over 2026 and into 2027, for every count a message can have (up to 7 + 15 extended)."""
    for start in days(D(2025, 12, 20), D(2026, 12, 31)):
        previous = start
        for n in range(0, 23):
            due = add_working_days(start, n, CAL)
            assert working_days_between(start, due, CAL) == n, (start, n)
            if n:
                assert is_workday(due, CAL), (start, n)
                assert due > previous
                # Nothing between the previous due day and this one works.
                assert not any(is_workday(d, CAL) for d in days(previous + timedelta(days=1), due - timedelta(days=1)))
            previous = due


def test_working_days_between_counts_after_a_up_to_b():
    # Due 2-13 (Friday); on 2-14 (make-up Saturday) one working day overdue, none more until 2-24.
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 13), CAL) == 0
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 14), CAL) == 1
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 23), CAL) == 1
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 24), CAL) == 2
    assert working_days_between(D(2026, 2, 24), D(2026, 2, 13), CAL) == 0


# -- due_at -------------------------------------------------------------------------------------


def test_due_at_is_the_last_second_of_the_last_working_day_local():
    assigned = datetime(2026, 2, 12, 10, 0, tzinfo=LOCAL_TZ)

    due = due_at(assigned, 5, CAL)

    assert due == datetime(2026, 2, 26, 23, 59, 59, tzinfo=LOCAL_TZ)
    assert due.astimezone(UTC) == datetime(2026, 2, 26, 15, 59, 59, tzinfo=UTC)


def test_due_at_counts_from_the_local_day():
    # 17:30 UTC on 2-12 is 01:30 on 2-13 in the county: the Friday, not the Thursday.
    assigned = datetime(2026, 2, 12, 17, 30, tzinfo=UTC)

    assert due_at(assigned, 5, CAL) == datetime(2026, 2, 27, 23, 59, 59, tzinfo=LOCAL_TZ)


# -- storage ------------------------------------------------------------------------------------


async def test_put_year_replaces_the_year_and_is_audited(api):
    await put_year(2026, [D(2026, 1, 1), D(2026, 1, 2)], [D(2026, 1, 4)], None)

    stored = await put_year(2026, [D(2026, 1, 2), D(2026, 1, 1), D(2026, 1, 3)], [], None)

    assert stored.holidays == [D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 3)]
    assert await get_year(2026) == stored
    assert await CalendarDay.filter(kind="workday").count() == 0
    last = await AuditEntry.filter(action="calendar_update").order_by("-id").first()
    assert last is not None and last.target == "calendar:2026"
    assert last.details == {"holiday": ["2026-01-03"], "none": ["2026-01-04"]}


async def test_put_year_leaves_other_years_alone(api):
    await put_year(2025, [D(2025, 10, 1)], [], None)
    await put_year(2026, [D(2026, 10, 1)], [], None)

    await put_year(2026, [], [], None)

    assert (await get_year(2025)).holidays == [D(2025, 10, 1)]
    assert (await get_year(2026)).holidays == []


async def test_days_that_stay_keep_their_note(api):
    await seed_calendar([2026])

    await put_year(2026, [*HOLIDAYS_2026, D(2026, 12, 31)], WORKDAYS_2026, None)

    notes = dict(await CalendarDay.filter(day__in=[D(2026, 2, 15), D(2026, 12, 31)]).values_list("day", "note"))
    assert notes == {D(2026, 2, 15): "春节", D(2026, 12, 31): None}


@pytest.mark.parametrize(
    ("holidays", "workdays", "fields"),
    [
        ([D(2025, 12, 31)], [], {"holidays.0"}),
        ([D(2026, 1, 1), D(2026, 1, 1)], [], {"holidays.1"}),
        ([D(2026, 2, 14)], [D(2026, 2, 14)], {"workdays.0"}),
        ([], [D(2026, 2, 28), D(2026, 3, 2)], {"workdays.1"}),  # a Monday
        ([], [D(2027, 1, 2)], {"workdays.0"}),
    ],
)
async def test_bad_years_are_refused_naming_the_entry(api, holidays, workdays, fields):
    with pytest.raises(InvalidRequest) as caught:
        await put_year(2026, holidays, workdays, None)

    assert set(caught.value.details["fields"]) == fields
    assert await CalendarDay.all().count() == 0


async def test_calendar_for_reads_several_years_in_one_query(api):
    await put_year(2026, [D(2026, 12, 31)], [], None)
    await put_year(2027, [D(2027, 1, 1)], [D(2027, 1, 2)], None)
    await put_year(2028, [D(2028, 1, 3)], [], None)

    with counting_queries() as log:
        cal = await calendar_for([2026, 2027])

    assert log.selects == 1
    assert cal.holidays == {D(2026, 12, 31), D(2027, 1, 1)}
    assert cal.workdays == {D(2027, 1, 2)}


async def test_seed_is_idempotent_and_keeps_a_corrected_year(api):
    assert await seed_calendar() == {2026: "seeded"}
    assert await seed_calendar() == {2026: "unchanged"}
    assert await AuditEntry.filter(action="calendar_update").count() == 1

    await put_year(2026, HOLIDAYS_2026[:-1], WORKDAYS_2026, None)

    assert await seed_calendar([2026]) == {2026: "kept"}
    assert len((await get_year(2026)).holidays) == len(HOLIDAYS_2026) - 1
    stored = await calendar_for([2026])
    assert add_working_days(D(2026, 2, 13), 5, stored) == D(2026, 2, 27)


async def test_calendar_from_a_december_day_holds_the_next_new_year(api):
    await seed_calendar([2026])

    cal = await calendar_from(D(2025, 12, 31))

    assert due_at(datetime(2025, 12, 31, 9, tzinfo=LOCAL_TZ), 5, cal) == datetime(
        2026, 1, 8, 23, 59, 59, tzinfo=LOCAL_TZ
    )
