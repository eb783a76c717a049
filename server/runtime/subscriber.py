"""Hears the other processes' commits on Redis and tells this process's caches (``server.runtime.changes``).

A plain asyncio protocol on its own connection, not redis-py's PubSub: a message is handled in
``data_received``, which the event loop calls as soon as the bytes arrive and before it resumes
any request task. A request that arrives after a write's answer therefore always finds the caches
that write changed already emptied; a reader task would race with it.

While the connection is down nothing may be cached (``live`` is False and
``Changes.coherent`` with it), since a change could pass unheard; on every (re)subscription the
caches are emptied. A PING every ``PING_EVERY_S`` finds a connection that died silently (within two of
them). Only ``redis://`` and ``rediss://`` URLs are listened on; with another (a unix socket) the caches
stay off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from urllib.parse import unquote, urlparse

from server.runtime.changes import EVERYTHING, Changes

log = logging.getLogger("wenming.changes")

PING_EVERY_S = 1.0
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)
_ALL = frozenset({EVERYTHING})


def _command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Resp:
    """Incremental RESP2 reader of what a subscribed connection receives (arrays of bulk strings and integers)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[list[bytes | int | None]]:
        self._buf += data
        out = []
        while True:
            parsed = self._array(0)
            if parsed is None:
                return out
            value, end = parsed
            del self._buf[:end]
            out.append(value)

    def _line(self, at: int) -> tuple[bytes, int] | None:
        end = self._buf.find(b"\r\n", at)
        return None if end < 0 else (bytes(self._buf[at:end]), end + 2)

    def _item(self, at: int) -> tuple[bytes | int | None, int] | None:
        head = self._line(at)
        if head is None:
            return None
        line, at = head
        kind, rest = line[:1], line[1:]
        if kind == b":":
            return int(rest), at
        if kind in (b"+", b"-"):
            return rest, at
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None, at
            if len(self._buf) < at + size + 2:
                return None
            return bytes(self._buf[at : at + size]), at + size + 2
        raise ValueError(f"unexpected RESP type {kind!r}")

    def _array(self, at: int) -> tuple[list[bytes | int | None], int] | None:
        head = self._line(at)
        if head is None:
            return None
        line, at = head
        if not line.startswith(b"*"):  # a simple reply (+OK to AUTH/SELECT, or an error)
            return [line], at
        items = []
        for _ in range(int(line[1:])):
            parsed = self._item(at)
            if parsed is None:
                return None
            item, at = parsed
            items.append(item)
        return items, at


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: Subscriber) -> None:
        self.owner = owner
        self.reader = _Resp()
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            replies = self.reader.feed(data)
        except ValueError:
            log.warning("unreadable reply on the changes channel; reconnecting")
            if self.transport is not None:
                self.transport.close()
            return
        for reply in replies:
            self.owner.received(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.lost()
        if not self.closed.done():
            self.closed.set_result(None)


class Subscriber:
    """The serving process's ear on the changes channel; ``live`` once subscribed."""

    def __init__(self, redis_url: str, changes: Changes) -> None:
        self._url = urlparse(redis_url)
        self._changes = changes
        self.live = False
        self._task: asyncio.Task[None] | None = None
        self._protocol: _Protocol | None = None
        self._pong = True

    async def start(self) -> None:
        """Subscribe (waiting up to a second for it, so the first requests may use the caches) and keep at it."""
        self._changes.subscribed = self
        if self._url.scheme not in ("redis", "rediss"):
            log.warning("caches off: the changes channel is heard on redis:// or rediss:// only")
            return
        self._task = asyncio.ensure_future(self._run())
        for _ in range(50):
            if self.live:
                return
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self.live = False
        if self._changes.subscribed is self:
            self._changes.subscribed = None

    def received(self, reply: list[bytes | int | None]) -> None:
        kind = reply[0]
        if kind == b"message" and len(reply) == 3 and isinstance(reply[2], bytes):
            origin, _, tables = reply[2].decode().partition(" ")
            if origin != self._changes.origin:
                self._changes.heard(frozenset(tables.split(",")))
        elif kind == b"subscribe":
            self.live = True
            self._changes.heard(_ALL)  # what changed while not listening is unknown
        elif kind == b"pong" or kind == b"PONG":
            self._pong = True
        elif isinstance(kind, bytes) and kind.startswith(b"-"):
            log.warning("changes channel: %s", kind[1:].decode(errors="replace"))

    def lost(self) -> None:
        if self.live:
            log.warning("changes channel lost: caches off until it is back")
        self.live = False
        self._changes.heard(_ALL)

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._session()
                failures = 0
            except (TimeoutError, OSError) as exc:
                if failures == 0:
                    log.warning("cannot listen for changes on Redis: %s", exc)
                failures += 1
            await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        url = self._url
        context = ssl.create_default_context() if url.scheme == "rediss" else None
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(self), url.hostname or "127.0.0.1", url.port or 6379, ssl=context),
            timeout=5,
        )
        self._protocol = protocol
        assert protocol.transport is not None
        if url.password:
            user = unquote(url.username) if url.username else "default"
            protocol.transport.write(_command("AUTH", user, unquote(url.password)))
        protocol.transport.write(_command("SUBSCRIBE", self._changes.channel))
        try:
            while not protocol.closed.done():
                self._pong = False
                protocol.transport.write(_command("PING"))
                await asyncio.wait([protocol.closed], timeout=PING_EVERY_S)
                if not self._pong and not protocol.closed.done():
                    log.warning("changes channel silent for %ss; reconnecting", PING_EVERY_S)
                    protocol.transport.close()
                    await protocol.closed
        finally:
            protocol.transport.close()
