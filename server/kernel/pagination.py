"""Opaque keyset cursors: stable while rows are inserted, unlike offsets."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from server.kernel.errors import InvalidRequest
from server.kernel.ids import is_id

T = TypeVar("T", bound=Any)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(*key: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int = 1) -> list | None:
    """The key a cursor carries, or None for the first page; junk is a 400."""
    if not cursor:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidRequest.fields({"cursor": "分页游标无效"})
    return key


def decode_id_cursor(cursor: str | None) -> int | None:
    """A cursor holding one row id (1..2^31-1), or None for the first page."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not is_id(key[0]):
        raise InvalidRequest.fields({"cursor": "分页游标无效"})
    return key[0]


def split_page(
    rows: Sequence[T], limit: int, key: Callable[[T], tuple] = lambda row: (row.id,)
) -> tuple[list[T], str | None]:
    """Split rows fetched with ``limit + 1`` into the page and the next page's cursor (None at the end)."""
    page = list(rows[:limit])
    return page, (encode_cursor(*key(page[-1])) if len(rows) > limit else None)
