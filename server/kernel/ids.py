"""Row ids: 32-bit integer keys, shown as opaque strings in JSON.

A larger number names no row, and PostgreSQL refuses it as a query
parameter, so every boundary (route, body, cursor) checks with ``is_id``.
"""

from __future__ import annotations

MAX_ID = 2**31 - 1
ID_PATTERN = r"^[1-9][0-9]{0,9}$"


def is_id(value: object) -> bool:
    return type(value) is int and 0 < value <= MAX_ID


def route_id(text: str) -> int:
    """Cast for the ``<name:id>`` route type: out of range is no match, so 404."""
    value = int(text)
    if not is_id(value):
        raise ValueError(f"{text} is not a row id")
    return value
