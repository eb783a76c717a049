"""The participation report files, read back with openpyxl and the csv module."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from media.reports import (
    HEADERS,
    ORG_HEADERS,
    ORG_REACH_HEADERS,
    ORG_REACH_SHEET,
    ORG_SHEET,
    PEOPLE_SHEET,
    TOTAL_LABEL,
    ParticipationTotals,
    participation_csv,
    participation_xlsx,
    totals_by_org,
)
from models.participation import OnlineWork, ParticipationRow

COMMUNITY = "祁东县 / 洪桥街道 / 育贤社区"
TOWN = "祁东县 / 洪桥街道"
INJECTION = '=HYPERLINK("http://x")'


def person(name: str, user_id: int, org: str, *counts: int, hours: str = "0") -> ParticipationRow:
    enrolled, checked_in, submitted, approved, points = counts
    return ParticipationRow(name, user_id, org, enrolled, checked_in, submitted, approved, points, Decimal(hours))


ROWS = [
    person("张三", 1, COMMUNITY, 3, 2, 2, 1, 10, hours="1.50"),
    person("李四", 2, TOWN, 5, 5, 4, 4, 40, hours="12.25"),
    person("王五", 3, COMMUNITY, 1, 0, 0, 0, 0, hours="0.00"),
    person(INJECTION, 4, COMMUNITY, 2, 2, 2, 2, 20, hours="3"),
]


def workbook(
    rows: Iterable[ParticipationRow],
    org_totals: list[tuple[str, ParticipationTotals]] | None = None,
    org_reach: list[tuple[str, OnlineWork]] | None = None,
) -> openpyxl.Workbook:
    data = participation_xlsx(
        rows, title="参与情况报表", period="2024-05-01 至 2024-05-31", org_totals=org_totals, org_reach=org_reach
    )
    return openpyxl.load_workbook(io.BytesIO(data))


def values(ws: Worksheet) -> list[tuple[object, ...]]:
    return list(ws.iter_rows(values_only=True))


def csv_rows(rows: list[ParticipationRow]) -> list[list[str]]:
    return list(csv.reader(io.StringIO(participation_csv(rows).decode("utf-8-sig"), newline="")))


def test_xlsx_sheets_are_people_then_orgs() -> None:
    assert workbook(ROWS).sheetnames == [PEOPLE_SHEET, ORG_SHEET]


def test_xlsx_header_row_is_the_contract_header() -> None:
    rows = values(workbook(ROWS)[PEOPLE_SHEET])
    assert rows[0] == HEADERS
    assert HEADERS[:9] == ("姓名", "用户ID", "组织", "报名", "签到", "提交", "通过", "积分", "服务时长(小时)")
    assert HEADERS[9:15] == ("线上作品", "浏览量", "点赞", "评论", "转发", "传播积分")
    assert HEADERS[15:] == ("信用时长", "荣誉时长")


def test_xlsx_has_one_row_per_person_and_no_totals_row() -> None:
    rows = values(workbook(ROWS)[PEOPLE_SHEET])
    assert [row[1] for row in rows[1:]] == [1, 2, 3, 4]


def test_xlsx_title_and_period_are_workbook_properties() -> None:
    props = workbook(ROWS).properties
    assert props.title == "参与情况报表"
    assert props.subject == "2024-05-01 至 2024-05-31"
    assert "2024-05-01 至 2024-05-31" in (props.description or "")


def test_xlsx_header_rows_are_frozen_and_styled() -> None:
    wb = workbook(ROWS)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        header = ws[1]
        assert all(cell.font.bold for cell in header)
        assert all(cell.fill.fill_type == "solid" for cell in header)


def test_xlsx_column_widths_fit_chinese_text() -> None:
    wb = workbook(ROWS)
    people, orgs = wb[PEOPLE_SHEET], wb[ORG_SHEET]
    for ws, count in ((people, len(HEADERS)), (orgs, len(ORG_HEADERS))):
        for letter in "ABCDEFGHI"[:count]:
            assert ws.column_dimensions[letter].width, letter
    # The org path is 11 CJK characters (two units each) plus 6 spaces and slashes.
    assert people.column_dimensions["C"].width >= 28
    assert orgs.column_dimensions["A"].width >= 28
    # "服务时长(小时)" is six CJK characters and two parentheses.
    assert people.column_dimensions["I"].width >= 14


def test_xlsx_numbers_are_numbers() -> None:
    ws = workbook(ROWS)[PEOPLE_SHEET]
    for row in ws.iter_rows(min_row=2):
        for cell in (row[1], *row[3:]):
            assert cell.data_type == "n", cell.coordinate
            assert isinstance(cell.value, int | float), cell.coordinate
    assert [row[1] for row in values(ws)[1:]] == [1, 2, 3, 4]


def test_xlsx_service_hours_equal_the_decimals() -> None:
    ws = workbook(ROWS)[PEOPLE_SHEET]
    assert [row[8] for row in values(ws)[1:]] == [float(row.service_hours) for row in ROWS]
    assert all(cell.number_format == "0.00" for cell in ws["I"][1:])


def test_xlsx_formula_like_name_stays_text() -> None:
    ws = workbook(ROWS)[PEOPLE_SHEET]
    cell = ws["A5"]
    assert cell.value == INJECTION
    assert cell.data_type == "s"
    assert cell.data_type != "f"
    # Excel keeps the cell text even when someone edits it.
    assert cell.quotePrefix


@pytest.mark.parametrize("text", ["+1+1", "-2+3", "@SUM(A1)", "\t=1", "=1"])
def test_xlsx_formula_triggers_in_org_names_stay_text(text: str) -> None:
    wb = workbook([person("张三", 1, text, 1, 1, 1, 1, 1)])
    for cell in (wb[PEOPLE_SHEET]["C2"], wb[ORG_SHEET]["A2"]):
        assert (cell.value, cell.data_type) == (text, "s")


def test_xlsx_ordinary_text_has_no_quote_prefix() -> None:
    assert not workbook(ROWS)[PEOPLE_SHEET]["A2"].quotePrefix


def test_xlsx_drops_control_characters_xml_cannot_hold() -> None:
    ws = workbook([person("张\x01三\x1f", 1, COMMUNITY, 1, 1, 1, 1, 1)])[PEOPLE_SHEET]
    assert ws["A2"].value == "张三"


def test_xlsx_empty_org_is_a_blank_cell() -> None:
    ws = workbook([person("张三", 1, "", 1, 1, 1, 1, 1)])[PEOPLE_SHEET]
    assert ws["C2"].value is None


def test_xlsx_org_sheet_sums_rows_per_org_with_a_total_row() -> None:
    rows = values(workbook(ROWS)[ORG_SHEET])
    assert rows[0] == ORG_HEADERS
    by_org = {row[0]: row[1:] for row in rows[1:]}
    assert by_org[COMMUNITY] == (3, 6, 4, 4, 3, 30, 4.5)
    assert by_org[TOWN] == (1, 5, 5, 4, 4, 40, 12.25)
    assert rows[-1][0] == TOTAL_LABEL
    assert rows[-1][1:] == (
        len(ROWS),
        sum(r.enrolled for r in ROWS),
        sum(r.checked_in for r in ROWS),
        sum(r.submitted for r in ROWS),
        sum(r.approved for r in ROWS),
        sum(r.points for r in ROWS),
        float(sum((r.service_hours for r in ROWS), Decimal("0"))),
    )


def test_xlsx_org_sheet_rows_are_sorted_by_org_and_total_is_last_and_bold() -> None:
    ws = workbook(ROWS)[ORG_SHEET]
    assert [row[0] for row in values(ws)[1:]] == [TOWN, COMMUNITY, TOTAL_LABEL]
    assert all(cell.font.bold for cell in ws[4])
    assert not any(cell.font.bold for cell in ws[2])


def test_xlsx_org_sheet_numbers_are_numbers() -> None:
    ws = workbook(ROWS)[ORG_SHEET]
    for row in ws.iter_rows(min_row=2):
        assert all(cell.data_type == "n" and isinstance(cell.value, int | float) for cell in row[1:])


def test_xlsx_uses_given_org_totals() -> None:
    given = [("洪桥街道", ParticipationTotals(7, 8, 9, 10, 11, 12, Decimal("13.50")))]
    rows = values(workbook(ROWS, org_totals=given)[ORG_SHEET])
    assert rows[1:] == [("洪桥街道", 7, 8, 9, 10, 11, 12, 13.5), (TOTAL_LABEL, 7, 8, 9, 10, 11, 12, 13.5)]


def test_xlsx_without_rows_has_headers_and_zero_totals() -> None:
    wb = workbook([])
    assert values(wb[PEOPLE_SHEET]) == [HEADERS]
    assert values(wb[ORG_SHEET]) == [ORG_HEADERS, (TOTAL_LABEL, 0, 0, 0, 0, 0, 0, 0)]
    assert wb[PEOPLE_SHEET].freeze_panes == "A2"


def test_xlsx_reads_a_large_generator_once() -> None:
    consumed = 0

    def generate() -> Iterator[ParticipationRow]:
        nonlocal consumed
        for n in range(1, 10_001):
            consumed += 1
            yield person(f"志愿者{n}", n, f"社区{n % 7}", 1, 1, 1, 1, 5, hours="0.50")

    wb = workbook(generate())
    assert consumed == 10_000
    assert wb[PEOPLE_SHEET].max_row == 10_001
    total = values(wb[ORG_SHEET])[-1]
    assert total == (TOTAL_LABEL, 10_000, 10_000, 10_000, 10_000, 10_000, 50_000, 5000.0)


def test_totals_by_org_sorted_by_name() -> None:
    assert totals_by_org(ROWS) == [
        (TOWN, ParticipationTotals(1, 5, 5, 4, 4, 40, Decimal("12.25"))),
        (COMMUNITY, ParticipationTotals(3, 6, 4, 4, 3, 30, Decimal("4.50"))),
    ]


def test_totals_by_org_of_nothing_is_empty() -> None:
    assert totals_by_org([]) == []


def test_csv_starts_with_bom_and_uses_crlf() -> None:
    data = participation_csv(ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.split(b"\r\n")
    assert len(lines) == len(ROWS) + 2 and lines[-1] == b""
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_csv_header_row_is_the_contract_header() -> None:
    assert tuple(csv_rows(ROWS)[0]) == HEADERS


def test_csv_has_one_row_per_person_with_numbers() -> None:
    rows = csv_rows(ROWS)[1:]
    assert len(rows) == len(ROWS)
    for row, source in zip(rows, ROWS, strict=True):
        assert [int(v) for v in row[1:2] + row[3:8]] == [
            source.user_id,
            source.enrolled,
            source.checked_in,
            source.submitted,
            source.approved,
            source.points,
        ]
        assert Decimal(row[8]) == source.service_hours


def test_csv_numbers_are_unquoted() -> None:
    line = participation_csv([person("张三", 12, COMMUNITY, 3, 2, 2, 1, 10, hours="1.50")]).split(b"\r\n")[1]
    assert line.decode() == f"张三,12,{COMMUNITY},3,2,2,1,10,1.50,0,0,0,0,0,0,1.50,0.00"


@pytest.mark.parametrize("text", [INJECTION, "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_formula_like_text_gets_an_apostrophe(text: str) -> None:
    row = csv_rows([person(text, 1, text, 1, 1, 1, 1, 1)])[1]
    assert row[0] == row[2] == "'" + text


def test_csv_ordinary_text_is_unchanged() -> None:
    assert csv_rows(ROWS)[1][0] == "张三"


def test_csv_without_rows_is_only_the_header() -> None:
    assert participation_csv([]) == ("\ufeff" + ",".join(HEADERS) + "\r\n").encode()


# -- online work (网络传播) ---------------------------------------------------------------------

ONLINE = dataclasses.replace(ROWS[1], online=OnlineWork(2, 15_000, 300, 40, 12), reach_points=25)


def test_online_work_follows_the_nine_columns_as_numbers() -> None:
    ws = workbook([ROWS[0], ONLINE])[PEOPLE_SHEET]
    rows = values(ws)
    assert rows[1][:9] == ("张三", 1, COMMUNITY, 3, 2, 2, 1, 10, 1.5)
    assert rows[1][9:15] == (0, 0, 0, 0, 0, 0)
    assert rows[2][9:15] == (2, 15_000, 300, 40, 12, 25)
    assert all(cell.data_type == "n" for cell in ws[3][9:15])


def test_csv_carries_online_work_too() -> None:
    assert csv_rows([ONLINE])[1][9:15] == ["2", "15000", "300", "40", "12", "25"]


def test_the_org_reach_sheet_comes_third_when_given() -> None:
    reach = [("洪桥街道", OnlineWork(2, 15_000, 300, 40, 12)), ("=东村", OnlineWork())]
    wb = workbook(ROWS, org_reach=reach)

    assert wb.sheetnames == [PEOPLE_SHEET, ORG_SHEET, ORG_REACH_SHEET]
    ws = wb[ORG_REACH_SHEET]
    assert values(ws) == [ORG_REACH_HEADERS, ("洪桥街道", 2, 15_000, 300, 40, 12), ("=东村", 0, 0, 0, 0, 0)]
    assert ORG_REACH_HEADERS == ("组织", "线上作品", "浏览量", "点赞", "评论", "转发")
    assert ws["A3"].data_type == "s" and ws.freeze_panes == "A2"


# -- credit and honour hours (信用时长, 荣誉时长) ------------------------------------------------

SPLIT = dataclasses.replace(ONLINE, service_hours=Decimal("12.25"), honour_hours=Decimal("2.00"))


def test_hours_split_follows_online_work_as_numbers() -> None:
    ws = workbook([ROWS[0], SPLIT])[PEOPLE_SHEET]
    rows = values(ws)
    assert rows[1][15:] == (1.5, 0)
    assert rows[2][15:] == (10.25, 2)
    assert all(cell.data_type == "n" and cell.number_format == "0.00" for cell in ws[3][15:])


def test_csv_carries_the_hours_split() -> None:
    assert csv_rows([SPLIT])[1][15:] == ["10.25", "2.00"]
