"""An uploaded table (.xlsx or .csv): streamed to a temporary file, read in a thread, then removed.

One path for every import of a table by staff (the roster, the question bank)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sanic import Request

from media.spreadsheets import read_table
from models.users import User
from server.web.multipart import discard
from server.web.services import Services

# An .xlsx workbook or a CSV file (as browsers and Excel name them).
TABLE_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv",
)


@dataclass
class Table:
    header: list[Any]
    rows: list[tuple[int, list[Any]]]  # (row number as the spreadsheet shows it, cells)
    filename: str | None


async def receive_table(
    request: Request, user: User, services: Services, *, field: str, max_bytes: int, noun: str
) -> Table:
    """The table in the upload's ``field``; media.spreadsheets.NotASpreadsheet when it is none."""
    received = await services.uploads.receive(request, str(user.id), field=field, max_bytes=max_bytes, noun=noun)
    try:
        header, rows = await asyncio.to_thread(read_table, received.path)
        return Table(header, rows, received.filename)
    finally:
        discard(received.path)
