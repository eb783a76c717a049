"""Reading the first sheet of an uploaded .xlsx file (rosters), or a .csv file, row by row."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

MAX_ROWS = 50_000


class NotASpreadsheet(Exception):
    """The file is not an .xlsx workbook (or, where CSV is accepted, a CSV file) we can read."""


def read_rows(path: str) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """The header and the non-empty data rows (with their row numbers) of the first sheet.

    Blocking: call it in a thread. A missing file is the caller's FileNotFoundError.
    """
    with open(path, "rb") as handle:
        if not zipfile.is_zipfile(handle):
            raise NotASpreadsheet("不是 Excel (.xlsx) 文件")
        handle.seek(0)
        try:
            # A file object, not the path: openpyxl judges a path by its extension, and uploads have none.
            book = load_workbook(handle, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise NotASpreadsheet("无法读取该 Excel 文件，请另存为 .xlsx 后重试") from exc
        try:
            return _rows(book.worksheets[0])
        finally:
            book.close()


def read_table(path: str) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """Like ``read_rows``, but a file that is not a workbook is read as CSV.

    For the operator's commands, whose files come from a desk, not from an upload.
    """
    with open(path, "rb") as handle:
        is_workbook = zipfile.is_zipfile(handle)
        handle.seek(0)
        data = b"" if is_workbook else handle.read()
    return read_rows(path) if is_workbook else read_csv(data)


def read_csv(data: bytes) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """The header and the non-empty rows of a CSV file, numbered as a spreadsheet shows them.

    UTF-8 with or without a BOM; otherwise GB18030, as Excel on Chinese Windows saves "CSV".
    """
    if b"\0" in data:
        raise NotASpreadsheet("不是 Excel (.xlsx) 或 CSV 文件")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise NotASpreadsheet("无法识别 CSV 文件的编码，请另存为 UTF-8 或 .xlsx 后重试") from None
    try:
        return _rows_of(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise NotASpreadsheet(f"CSV 文件格式有误：{exc}") from None


def _rows(sheet: Any) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    return _rows_of(sheet.iter_rows(values_only=True))


def _rows_of(rows: Iterator[Any]) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    header = list(next(rows, None) or [])
    data: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(rows, start=2):
        if any(cell not in (None, "") for cell in row):
            data.append((number, list(row)))
            if len(data) > MAX_ROWS:
                raise NotASpreadsheet(f"一次最多导入 {MAX_ROWS} 行")
    return header, data
