"""The published holiday schedules, as data, each with the notice it comes from.

Only what the State Council has published goes here; a year not listed is left for an admin to
enter (``PUT /calendar/{year}``). ``seed_calendar`` writes a listed year into any database
(``wenming calendar seed``, and the demo); writing it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from models.calendar import calendar_for, put_year


@dataclass(frozen=True)
class Holiday:
    name: str
    first: date
    last: date  # inclusive: the notice's "至" date
    workdays: tuple[date, ...] = ()  # the weekend days worked in exchange (调休上班)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Schedule:
    source: str
    holidays: tuple[Holiday, ...]


SCHEDULES: dict[int, Schedule] = {
    # 国务院办公厅关于2026年部分节假日安排的通知, dated 2025-11-04, released by Xinhua the same
    # day (e.g. https://politics.gmw.cn/2025-11/04/content_38391083.htm). The document number
    # (国办发明电〔2025〕…号) is not given in the published text.
    2026: Schedule(
        source="国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）",
        holidays=(
            # 一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
            Holiday("元旦", date(2026, 1, 1), date(2026, 1, 3), (date(2026, 1, 4),)),
            # 二、春节：2月15日（腊月二十八、周日）至23日（正月初七、周一）放假调休，共9天。
            #     2月14日（周六）、2月28日（周六）上班。
            Holiday("春节", date(2026, 2, 15), date(2026, 2, 23), (date(2026, 2, 14), date(2026, 2, 28))),
            # 三、清明节：4月4日（周六）至6日（周一）放假，共3天。
            Holiday("清明节", date(2026, 4, 4), date(2026, 4, 6)),
            # 四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
            Holiday("劳动节", date(2026, 5, 1), date(2026, 5, 5), (date(2026, 5, 9),)),
            # 五、端午节：6月19日（周五）至21日（周日）放假，共3天。
            Holiday("端午节", date(2026, 6, 19), date(2026, 6, 21)),
            # 六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
            Holiday("中秋节", date(2026, 9, 25), date(2026, 9, 27)),
            # 七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
            Holiday("国庆节", date(2026, 10, 1), date(2026, 10, 7), (date(2026, 9, 20), date(2026, 10, 10))),
        ),
    ),
}


def schedule_days(year: int) -> tuple[list[date], list[date], dict[date, str]]:
    """(holidays, make-up workdays, each day's note) of a published year."""
    notes: dict[date, str] = {}
    holidays: list[date] = []
    workdays: list[date] = []
    for holiday in SCHEDULES[year].holidays:
        for day in holiday.days():
            holidays.append(day)
            notes[day] = holiday.name
        for day in holiday.workdays:
            workdays.append(day)
            notes[day] = f"{holiday.name}调休上班"
    return holidays, workdays, notes


async def seed_calendar(years: list[int] | None = None) -> dict[int, str]:
    """Write the published years (all, or ``years``); year → "seeded", "unchanged" or "kept".

    Idempotent: a year already holding exactly the published days is "unchanged" (no audit
    entry), and a year someone has already entered differently is "kept": an admin's
    correction is never overwritten by a re-run.
    """
    wanted = sorted(SCHEDULES) if years is None else years
    unknown = [y for y in wanted if y not in SCHEDULES]
    if unknown:
        raise KeyError(unknown[0])
    outcome: dict[int, str] = {}
    for year in wanted:
        holidays, workdays, notes = schedule_days(year)
        stored = await calendar_for([year])
        if stored.holidays or stored.workdays:
            same = stored.holidays == set(holidays) and stored.workdays == set(workdays)
            outcome[year] = "unchanged" if same else "kept"
            continue
        await put_year(year, holidays, workdays, None, notes=notes)
        outcome[year] = "seeded"
    return outcome
