"""Each request's start and finish: its id, clock, counters and access line, and the caller's address.

Sanic compiles out the dispatch of every lifecycle signal nobody listens to, and a signal that is
listened to costs a router lookup per request (about a tenth of a cached answer's time when the
request id, the answer and the access line each had one). So the request class does it instead:

- :class:`TrackedRequest` starts the request when Sanic builds it (before the body is read, and for a
  malformed head answered straight from the error handler too) and finishes it in ``respond``, which
  every answer goes through, the error handler's included, just before the answer is sent;
- the ``http.lifecycle.complete`` signal (once per connection, not per request) finishes a request
  whose connection closed before it was answered, as does the next request on the same connection.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
from typing import Any

from sanic import Request
from sanic.models.server_types import ConnInfo
from sanic.response.types import BaseHTTPResponse

from server.runtime.observability import CLIENT_CLOSED, harmless, request_finished, request_started, route_of

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class TrackedRequest(Request):
    """Sanic's request, started as it is built and finished as it is answered (see the module docstring)."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The connection's previous request, if it never reached an answer (its handler was cancelled).
        _settle(Request._current.get(None))
        given = self.headers.get("x-request-id", "")
        # Echo a client's id only when it is harmless in logs and headers.
        known = given and _REQUEST_ID.fullmatch(given) and harmless(given)
        self.ctx.request_id = given if known else _new_request_id()
        # Every log line from here on (ORM, WeChat client, errors) carries the id.
        request_started(self, self.ctx.request_id)

    async def respond(
        self,
        response: BaseHTTPResponse | None = None,
        *,
        status: int = 200,
        headers: Any = None,
        content_type: str | None = None,
    ) -> Any:
        answer = await super().respond(response, status=status, headers=headers, content_type=content_type)
        if isinstance(answer, BaseHTTPResponse):
            # Lets a volunteer's screenshot of an error be matched to the server log.
            answer.headers.setdefault("X-Request-Id", self.ctx.request_id)
            if not self.app.ctx.config.access_log:
                # For nginx's access line when the worker writes none (deploy/nginx.conf hides it from clients).
                answer.headers.setdefault("X-Route", route_of(self))
            self.finish_headers(answer)
            gone = self.conn_info is not None and self.conn_info.lost
            request_finished(self, CLIENT_CLOSED if gone else answer.status, caller_ip)
        return answer

    def finish_headers(self, response: BaseHTTPResponse) -> None:
        """Headers the app adds to every answer as it leaves (a response middleware without the machinery)."""


# A request id: this process's random prefix and a count (unique across workers and hosts, without
# a system call per request); a forked child draws its own prefix.
_id_prefix = os.urandom(8).hex()
_ids = itertools.count(1)


def _new_request_id() -> str:
    return f"{_id_prefix}{next(_ids):016x}"


def _new_id_prefix() -> None:
    global _id_prefix
    _id_prefix = os.urandom(8).hex()


os.register_at_fork(after_in_child=_new_id_prefix)


async def connection_closed(conn_info: ConnInfo) -> None:
    """``http.lifecycle.complete``: runs in the connection's task, where its last request is current."""
    _settle(Request._current.get(None))


def _settle(request: Request | None) -> None:
    if request is not None and getattr(request.ctx, "started", None) is not None:
        request_finished(request, CLIENT_CLOSED, caller_ip)


def caller_ip(request: Request) -> str:
    """The caller's address; X-Forwarded-For is believed only from ``WENMING_TRUSTED_PROXIES``."""
    known = getattr(request.ctx, "client_ip", None)
    if known is None:
        known = request.ctx.client_ip = client_ip(request, request.app.ctx.config.trusted_proxies)
    return known


def client_ip(request: Request, trusted: tuple[Any, ...]) -> str:
    """The caller's address as the proxies in ``trusted`` report it, else the peer's."""
    peer = request.conn_info.client_ip if request.conn_info else ""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    # Walk from the nearest hop back; the first untrusted address is the client.
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)
