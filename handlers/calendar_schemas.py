"""Request and response schemas of the working-day calendar (工作日历：节假日与调休上班日)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from handlers.schemas import Day, Strict
from models.calendar import CalendarYear

# More entries than a year has days cannot all be distinct days of it.
MAX_DAYS = 366


def _text_day(value: Any) -> Any:
    # Lax date parsing would take a number as a Unix time: the contract says "YYYY-MM-DD".
    if not isinstance(value, str):
        raise ValueError("须为日期，格式 YYYY-MM-DD")
    return value


TextDay = Annotated[Day, BeforeValidator(_text_day)]


class CalendarIn(Strict):
    # Dates arrive as JSON strings: parsed, not strictly typed.
    model_config = ConfigDict(extra="forbid", strict=False)

    holidays: list[TextDay] = Field(max_length=MAX_DAYS)
    workdays: list[TextDay] = Field(max_length=MAX_DAYS)


class CalendarRead(BaseModel):
    year: int
    holidays: list[date]
    workdays: list[date]

    @classmethod
    def of(cls, y: CalendarYear) -> CalendarRead:
        return cls(year=y.year, holidays=y.holidays, workdays=y.workdays)
