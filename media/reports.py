"""The participation report as files: xlsx (two sheets, three with the per-org reach) and csv; and
one-sheet tables (a task's roster).

Pure writers: rows in, bytes out; no HTTP, no database. The header row is fixed
by the API contract (docs: "Operator tools"), so it is always row 1 of the first
sheet and of the csv; the report's title and period go into the workbook
properties instead of a title row.

Names and org names are user-controlled text that spreadsheet programs may run
as formulas (CSV/formula injection); every writer here neutralises them.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

if TYPE_CHECKING:  # rows come from models.participation; media never imports models at run time
    from models.participation import OnlineWork, ParticipationRow

T = TypeVar("T")
# The contract's nine columns, then online work (网络传播), then the period's hours split into
# credit (信用时长) and honour (荣誉时长), each appended so the columns before stay where they were.
REACH_HEADERS = ("线上作品", "浏览量", "点赞", "评论", "转发")
CONTRACT_HEADERS = ("姓名", "用户ID", "组织", "报名", "签到", "提交", "通过", "积分", "服务时长(小时)")
HOURS_KIND_HEADERS = ("信用时长", "荣誉时长")
HEADERS = (*CONTRACT_HEADERS, *REACH_HEADERS, "传播积分", *HOURS_KIND_HEADERS)
ORG_HEADERS = ("组织", "人数", "报名", "签到", "提交", "通过", "积分", "服务时长(小时)")
ORG_REACH_HEADERS = ("组织", *REACH_HEADERS)
# The messages report (API.md "Netizen messages"): rates are percentages with one decimal.
MESSAGE_HEADERS = ("组织", "受理", "办结", "按期办结率", "满意率", "超期", "督办")
MESSAGE_SHEET = "留言办理"
PEOPLE_SHEET = "参与情况"
ORG_SHEET = "按组织汇总"
ORG_REACH_SHEET = "组织传播"
TOTAL_LABEL = "合计"
NO_ORG_LABEL = "（无组织）"

# Characters that make Excel/LibreOffice read a cell as a formula (OWASP "CSV Injection").
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Control characters XML 1.0 cannot carry; openpyxl refuses the whole workbook if one slips in.
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")
_EXCEL_MAX_TEXT = 32767
# Widths are guessed from this many leading rows so the rest can stream: write-only
# sheets must declare their columns before the first row is written.
_WIDTH_SAMPLE = 500
_MAX_WIDTH = 60
_HOURS_FORMAT = "0.00"  # hours are stored with two decimals (DecimalField decimal_places=2)

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFDDEBF7", end_color="FFDDEBF7")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center")
_TOTAL_FONT = Font(bold=True)
_TOTAL_FILL = PatternFill(fill_type="solid", start_color="FFF2F2F2", end_color="FFF2F2F2")
_TOTAL_BORDER = Border(top=Side(style="thin"))


@dataclass(frozen=True)
class ParticipationTotals:
    """Counters of several people added up; ``people`` is how many rows went in."""

    people: int = 0
    enrolled: int = 0
    checked_in: int = 0
    submitted: int = 0
    approved: int = 0
    points: int = 0
    service_hours: Decimal = Decimal("0")

    @classmethod
    def of(cls, row: ParticipationRow) -> ParticipationTotals:
        return cls(
            people=1,
            enrolled=row.enrolled,
            checked_in=row.checked_in,
            submitted=row.submitted,
            approved=row.approved,
            points=row.points,
            service_hours=row.service_hours,
        )

    def __add__(self, other: ParticipationTotals) -> ParticipationTotals:
        return ParticipationTotals(
            people=self.people + other.people,
            enrolled=self.enrolled + other.enrolled,
            checked_in=self.checked_in + other.checked_in,
            submitted=self.submitted + other.submitted,
            approved=self.approved + other.approved,
            points=self.points + other.points,
            service_hours=self.service_hours + other.service_hours,
        )


class _OrgTally:
    """Per-org totals built while the rows stream past, so a generator is read only once."""

    def __init__(self) -> None:
        self._by_org: dict[str, ParticipationTotals] = {}

    def add(self, row: ParticipationRow) -> None:
        self._by_org[row.org] = self._by_org.get(row.org, ParticipationTotals()) + ParticipationTotals.of(row)

    def result(self) -> list[tuple[str, ParticipationTotals]]:
        return sorted(self._by_org.items())


def totals_by_org(rows: Iterable[ParticipationRow]) -> list[tuple[str, ParticipationTotals]]:
    """Rows added up per ``org`` string, sorted by org name (full paths sort parents next to children)."""
    tally = _OrgTally()
    for row in rows:
        tally.add(row)
    return tally.result()


def participation_xlsx(
    rows: Iterable[ParticipationRow],
    *,
    title: str,
    period: str,
    org_totals: Iterable[tuple[str, ParticipationTotals]] | None = None,
    org_reach: Iterable[tuple[str, OnlineWork]] | None = None,
) -> bytes:
    """The report as an xlsx workbook: sheet "参与情况" (one row per person), "按组织汇总" and, given
    ``org_reach``, "组织传播" (online work per child org of the report's org).

    ``rows`` is read once, so it may be a generator over a large query. Without
    ``org_totals`` the per-org sheet is added up from ``rows``.
    """
    wb = Workbook(write_only=True)
    wb.properties.title = title
    wb.properties.subject = period
    wb.properties.description = f"{title}（统计周期：{period}）"
    wb.properties.creator = "wenming"

    tally = _OrgTally() if org_totals is None else None
    people = wb.create_sheet(PEOPLE_SHEET)
    sample, rest = _peek(iter(rows), _WIDTH_SAMPLE)
    _begin_sheet(people, HEADERS, [_person_values(row) for row in sample])
    for row in itertools.chain(sample, rest):
        if tally is not None:
            tally.add(row)
        people.append(_person_cells(people, row))

    by_org = tally.result() if tally is not None else list(org_totals or ())
    grand = sum((totals for _, totals in by_org), ParticipationTotals())
    orgs = wb.create_sheet(ORG_SHEET)
    labelled = [(org or NO_ORG_LABEL, totals) for org, totals in by_org]
    _begin_sheet(orgs, ORG_HEADERS, [_org_values(label, t) for label, t in [*labelled, (TOTAL_LABEL, grand)]])
    for label, totals in labelled:
        orgs.append(_org_cells(orgs, label, totals))
    orgs.append(_org_cells(orgs, TOTAL_LABEL, grand, total=True))

    if org_reach is not None:
        reach = list(org_reach)
        sheet = wb.create_sheet(ORG_REACH_SHEET)
        _begin_sheet(sheet, ORG_REACH_HEADERS, [(name, *work.counts()) for name, work in reach])
        for name, work in reach:
            sheet.append([_text_cell(sheet, name), *work.counts()])

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def table_xlsx(title: str, sheet: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """One sheet: the styled header row, then ``rows`` (text cells kept as text, never formulas; numbers as numbers)."""
    wb = Workbook(write_only=True)
    wb.properties.title = title
    wb.properties.creator = "wenming"
    ws = wb.create_sheet(sheet)
    sample, rest = _peek(iter(rows), _WIDTH_SAMPLE)
    _begin_sheet(ws, headers, [["" if v is None else v for v in row] for row in sample])
    for row in itertools.chain(sample, rest):
        ws.append([_optional_text_cell(ws, value) if isinstance(value, str) else value for value in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def messages_xlsx(rows: Iterable[Sequence[object]], *, title: str) -> bytes:
    """The messages report: one row per org, header exactly the contract's (``MESSAGE_HEADERS``)."""
    return table_xlsx(title, MESSAGE_SHEET, MESSAGE_HEADERS, rows)


def participation_csv(rows: Iterable[ParticipationRow]) -> bytes:
    """The per-person report as csv: UTF-8 with BOM and CRLF, which Excel on Chinese Windows opens as-is."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(
            (
                _csv_text(row.name),
                row.user_id,
                _csv_text(row.org),
                row.enrolled,
                row.checked_in,
                row.submitted,
                row.approved,
                row.points,
                # Decimal's str is plain digits here (two decimal places), never exponent form.
                format(row.service_hours, "f"),
                *row.online.counts(),
                row.reach_points,
                f"{row.credit_hours:.2f}",
                f"{row.honour_hours:.2f}",
            )
        )
    return out.getvalue().encode("utf-8-sig")


def _peek(rows: Iterator[T], count: int) -> tuple[list[T], Iterator[T]]:
    return list(itertools.islice(rows, count)), rows


def _looks_like_formula(text: str) -> bool:
    return text.startswith(_FORMULA_TRIGGERS)


def _csv_text(text: str) -> str:
    # A csv cell has no type: the leading apostrophe is the only way to make Excel keep it as text.
    return "'" + text if _looks_like_formula(text) else text


def _clean_text(text: str) -> str:
    return _ILLEGAL_XML.sub("", text)[:_EXCEL_MAX_TEXT]


def _text_cell(ws: WriteOnlyWorksheet, text: str) -> Cell:
    """A cell that is text whatever it starts with.

    openpyxl turns any string starting with "=" into a formula, so the type is
    forced after the fact; quotePrefix keeps Excel from re-reading it as a
    formula when someone edits the cell. The text itself stays as the user
    wrote it (no visible apostrophe), since an xlsx string cell is never run.
    """
    cell = WriteOnlyCell(ws, None)
    cell.value = _clean_text(text)
    cell.data_type = "s"
    if _looks_like_formula(cell.value):
        cell.quotePrefix = True
    return cell


def _optional_text_cell(ws: WriteOnlyWorksheet, text: str) -> Cell | None:
    # An empty string would be written as a text-typed cell with no content; a blank cell is what is meant.
    return _text_cell(ws, text) if _clean_text(text) else None


def _hours_cell(ws: WriteOnlyWorksheet, hours: Decimal) -> Cell:
    # float, not Decimal: openpyxl writes str(Decimal), which may use exponent form ("1E+1").
    cell = WriteOnlyCell(ws, float(hours))
    cell.number_format = _HOURS_FORMAT
    return cell


def _person_values(row: ParticipationRow) -> tuple[object, ...]:
    return (
        row.name,
        row.user_id,
        row.org,
        row.enrolled,
        row.checked_in,
        row.submitted,
        row.approved,
        row.points,
        f"{row.service_hours:.2f}",
        *row.online.counts(),
        row.reach_points,
        f"{row.credit_hours:.2f}",
        f"{row.honour_hours:.2f}",
    )


def _person_cells(ws: WriteOnlyWorksheet, row: ParticipationRow) -> list[object]:
    return [
        _optional_text_cell(ws, row.name),
        row.user_id,
        _optional_text_cell(ws, row.org),
        row.enrolled,
        row.checked_in,
        row.submitted,
        row.approved,
        row.points,
        _hours_cell(ws, row.service_hours),
        *row.online.counts(),
        row.reach_points,
        _hours_cell(ws, row.credit_hours),
        _hours_cell(ws, row.honour_hours),
    ]


def _org_values(label: str, totals: ParticipationTotals) -> tuple[object, ...]:
    return (
        label,
        totals.people,
        totals.enrolled,
        totals.checked_in,
        totals.submitted,
        totals.approved,
        totals.points,
        f"{totals.service_hours:.2f}",
    )


def _org_cells(ws: WriteOnlyWorksheet, label: str, totals: ParticipationTotals, *, total: bool = False) -> list[Cell]:
    cells: list[Cell] = [
        _text_cell(ws, label),
        *(
            WriteOnlyCell(ws, value)
            for value in (
                totals.people,
                totals.enrolled,
                totals.checked_in,
                totals.submitted,
                totals.approved,
                totals.points,
            )
        ),
        _hours_cell(ws, totals.service_hours),
    ]
    if total:
        # Styled apart so the 合计 row cannot be mistaken for one more org.
        for cell in cells:
            cell.font = _TOTAL_FONT
            cell.fill = _TOTAL_FILL
            cell.border = _TOTAL_BORDER
    return cells


def _begin_sheet(ws: WriteOnlyWorksheet, headers: Sequence[str], sample: Iterable[Sequence[object]]) -> None:
    """Column widths, frozen header and the styled header row; must run before any data row."""
    widths = [_display_width(header) for header in headers]
    for values in sample:
        for index, value in enumerate(values):
            widths[index] = max(widths[index], _display_width(str(value)))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(width + 2, _MAX_WIDTH)
    ws.freeze_panes = "A2"
    header_cells = []
    for header in headers:
        cell = _text_cell(ws, header)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _HEADER_ALIGN
        header_cells.append(cell)
    ws.append(header_cells)


def _display_width(text: str) -> int:
    """Width in Excel's character units: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)
