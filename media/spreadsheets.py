"""Reading the first sheet of an uploaded .xlsx file (rosters), row by row."""

from __future__ import annotations

import zipfile
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

MAX_ROWS = 50_000


class NotASpreadsheet(Exception):
    """The file is not an .xlsx workbook we can read."""


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


def _rows(sheet: Any) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows, None) or [])
    data: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(rows, start=2):
        if any(cell not in (None, "") for cell in row):
            data.append((number, list(row)))
            if len(data) > MAX_ROWS:
                raise NotASpreadsheet(f"一次最多导入 {MAX_ROWS} 行")
    return header, data
