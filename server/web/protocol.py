"""The HTTP/1 protocol the service runs: Sanic's, taking request targets as clients really send them.

Some clients (older Android WebViews, hand-written scripts, a few proxies) send a query
such as ``?q=张`` as raw UTF-8 instead of percent-encoding it. Sanic answers any byte
outside US-ASCII in the request target with a bare 400; browsers and servers commonly
accept it. Here such bytes are percent-encoded as they are read, so ``request.args``
decodes them like any encoded query, and a path with them simply matches no route.
"""

from __future__ import annotations

from typing import Any

from sanic.http import Http
from sanic.server.protocols.http_protocol import HttpProtocol

_TARGET = Http.url  # the slot Sanic's HTTP/1 reader stores the request target in


def percent_encode_non_ascii(target: str) -> str:
    """``target`` (read from the wire with surrogateescape) with every non-ASCII byte as %XX."""
    if target.isascii():
        return target
    raw = target.encode("utf-8", "surrogateescape")
    return "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in raw)


class _Http(Http):
    __slots__ = ()

    @property  # type: ignore[override]
    def url(self) -> Any:
        return _TARGET.__get__(self)

    @url.setter
    def url(self, value: str | None) -> None:
        _TARGET.__set__(self, value if value is None else percent_encode_non_ascii(value))


class ServiceProtocol(HttpProtocol):
    """Pass as ``protocol=`` wherever the app is served."""

    HTTP_CLASS = _Http
