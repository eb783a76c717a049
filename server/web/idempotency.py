"""Idempotency-Key: a retried write returns the first answer and changes nothing.

The key is claimed with a unique row before the work runs, so two copies of
one request racing on two workers run the work once; the losers wait for
the winner's answer. They wait without hammering the database: a copy in the
same process is woken the moment the answer is recorded, and between its
reads (for a first request running in another worker) the pause doubles, up
to a second. Answers of 5xx, 408 and 429 are not kept: the client should retry. Refusals
(4xx) changed nothing, and what they refused may have changed since (a place
freed up): they are replayed for minutes only, to copies racing the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import orjson
from sanic import Request
from sanic.response import HTTPResponse
from tortoise.exceptions import IntegrityError

from models.idempotency import COMMITTED, KEEP_REFUSALS, IdempotencyRecord, acting_for
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.errors import JSON_TYPE, ApiError, Conflict, InvalidRequest
from server.runtime.db import describe
from server.web.multipart import close_after_answer, streams_a_body
from server.web.services import services_of

KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
WAIT_FOR_FIRST_S = 10.0
# A claim with no answer this old belongs to a request that died with its worker or its database
# connection (a request runs well under a minute): the retry takes the key over.
ABANDONED_AFTER = timedelta(minutes=2)
# ... and an upload may take its whole body deadline before its work even starts.
# A first request records its answer right after its work commits; a key marked committed this long
# without one lost it (the database went away in between).
ANSWER_LOST_AFTER = timedelta(seconds=5)
FREE_RETRY_S = (0.5, 1, 2, 5, 10, 30, 60)
# Reads of a claim still running elsewhere: 50 ms, 100 ms, ... at most a second apart.
FIRST_PAUSE_S = 0.05
LONGEST_PAUSE_S = 1.0
DISCARD_SLACK = 64 * 1024
# "Not now" (too slow, too many at once): a retry with the same key should run, not get these again.
PASSING_REFUSALS = frozenset({408, 429})  # multipart boundaries and headers around the file

log = logging.getLogger("wenming.idempotency")


class _WaitingRoom:
    """The requests of this process waiting for the first answer to a key, woken when it is recorded."""

    def __init__(self) -> None:
        self._events: dict[tuple[int, str], asyncio.Event] = {}
        self._waiting: dict[tuple[int, str], int] = {}

    async def wait(self, ident: tuple[int, str], at_most_s: float) -> None:
        """Until :meth:`answered` for ``ident`` or ``at_most_s`` seconds, whichever comes first."""
        event = self._events.setdefault(ident, asyncio.Event())
        self._waiting[ident] = self._waiting.get(ident, 0) + 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(at_most_s):
                    await event.wait()
        finally:
            self._waiting[ident] -= 1
            if not self._waiting[ident]:
                del self._waiting[ident]
                if self._events.get(ident) is event:
                    del self._events[ident]

    def answered(self, ident: tuple[int, str]) -> None:
        event = self._events.pop(ident, None)
        if event is not None:
            event.set()


_room = _WaitingRoom()


async def replay_or_run(request: Request, user: User, run: Callable[[], Awaitable[HTTPResponse]]) -> HTTPResponse:
    key = request.headers.get("idempotency-key")
    if key is None:
        return await run()
    if not KEY.match(key):
        raise InvalidRequest.fields({"Idempotency-Key": "应为 8–64 位字母、数字、- 或 _（建议用 UUID）"})
    route = f"{request.method} {request.path}"
    for _ in range(3):
        try:
            record = await IdempotencyRecord.create(user_id=user.id, key=key, route=route)
        except IntegrityError:
            replayed = await _replay(user, key, route, _abandoned_after(request))
            if isinstance(replayed, _Resume):
                return await _run_claimed(request, replayed.record_id, (user.id, key), run, resuming=True)
            if replayed is not None:
                await _discard_body(request)
                return replayed
            continue  # the claim was freed, abandoned or is a refusal past its time: claim it again
        return await _run_claimed(request, record.id, (user.id, key), run)
    raise Conflict("同一请求正在重试，请稍后再试")


async def _discard_body(request: Request) -> None:
    """Read away the body of a streamed request (an upload) that is answered from the first one.

    The handler never runs, so nobody reads it: Sanic would log an error for every retried
    upload and keep only the connection's body limit's worth before closing it. Up to the
    upload limit: past that the connection closes, as it would for the first request."""
    if not streams_a_body(request):
        return
    stream = request.stream
    assert stream is not None
    config = services_of(request).config
    budget = config.max_upload_bytes + DISCARD_SLACK
    try:
        # The body deadline of the first request holds for its copies: a trickling replay would
        # otherwise hold its connection for as long as it likes.
        async with asyncio.timeout(config.upload_deadline):
            while budget > 0 and (chunk := await stream.read()) is not None:
                budget -= len(chunk)
    except TimeoutError:
        close_after_answer(request)


async def _run_claimed(
    request: Request,
    record_id: int,
    ident: tuple[int, str],
    run: Callable[[], Awaitable[HTTPResponse]],
    *,
    resuming: bool = False,
) -> HTTPResponse:
    kept = False
    try:
        try:
            with acting_for(record_id, resuming=resuming):
                response = await run()
        except ApiError as exc:
            if exc.status >= 500 or exc.status in PASSING_REFUSALS:
                raise  # not an answer to keep: the retry runs again
            # An expected refusal (task_full, …) is the first answer too: replayed, briefly.
            response = HTTPResponse(
                orjson.dumps(exc.to_body()), status=exc.status, headers=exc.headers, content_type=JSON_TYPE
            )
        if response.status < 500:
            await IdempotencyRecord.filter(id=record_id).update(status=response.status, body=response.body or b"")
            kept = True
        return response
    finally:
        if not kept:
            # Failed or crashed: free the key so the client's retry runs again.
            await _free(request, record_id)
        _room.answered(ident)


async def _free(request: Request, record_id: int) -> None:
    try:
        await _delete_claim(record_id)
    except Exception as exc:
        # The database went away with the request: keep trying after the answer, so the key
        # does not stay claimed (the request's own error is the one the client gets).
        log.warning("could not free idempotency claim %s yet: %s", record_id, describe(exc))
        services_of(request).background.spawn(_free_later(record_id), name=f"idempotency-free:{record_id}")


async def _free_later(record_id: int) -> None:
    for delay in FREE_RETRY_S:
        await asyncio.sleep(delay)
        try:
            await _delete_claim(record_id)
            return
        except Exception as exc:
            last = exc
    log.warning("gave up freeing idempotency claim %s: %s", record_id, describe(last))


async def _delete_claim(record_id: int) -> None:
    # Only a claim whose work did not commit: never an answer another request has since recorded,
    # nor a key whose work is done (its retry resumes instead of doing it again).
    await IdempotencyRecord.filter(id=record_id, status=None).delete()


@dataclass(frozen=True)
class _Resume:
    """The key's work committed but its answer was lost: the retry runs again, resuming."""

    record_id: int


def _abandoned_after(request: Request) -> timedelta:
    """How old an unanswered claim on this route must be to count as abandoned."""
    if streams_a_body(request):  # an upload
        return ABANDONED_AFTER + timedelta(seconds=services_of(request).config.upload_deadline)
    return ABANDONED_AFTER


async def _replay(
    user: User, key: str, route: str, abandoned_after: timedelta = ABANDONED_AFTER
) -> HTTPResponse | _Resume | None:
    """The first request's answer, waiting for it if it is still running; None when the key is free again,
    ``_Resume`` when its work committed and its answer was lost."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_FIRST_S
    pause = FIRST_PAUSE_S
    while True:
        record = await IdempotencyRecord.get_or_none(user_id=user.id, key=key)
        if record is None:
            return None
        if record.route != route:
            raise InvalidRequest.fields({"Idempotency-Key": "该键已用于另一个请求"})
        if record.status == COMMITTED:
            # Committed a moment ago, the answer is on its way; not by now, it was lost: take the key
            # over (one retry wins the conditional update; the others go on waiting).
            now = now_utc()
            if record.created_at < now - ANSWER_LOST_AFTER:
                taken = await IdempotencyRecord.filter(
                    id=record.id, status=COMMITTED, created_at__lt=now - ANSWER_LOST_AFTER
                ).update(created_at=now)
                if taken == 1:
                    return _Resume(record.id)
        elif record.status is not None:
            if record.status >= 400 and record.created_at < now_utc() - KEEP_REFUSALS:
                # Past its time: forgotten, so the retry runs again (only this answer, never a newer claim).
                await IdempotencyRecord.filter(id=record.id, status=record.status).delete()
                return None
            return HTTPResponse(
                record.body or b"",
                status=record.status,
                headers={"Idempotent-Replayed": "true"},
                content_type=JSON_TYPE if record.body else None,
            )
        elif record.created_at < now_utc() - abandoned_after:
            await _delete_claim(record.id)
            return None
        left = deadline - loop.time()
        if left <= 0:
            raise Conflict("同一请求仍在处理中，请稍后再试")
        await _room.wait((user.id, key), min(pause, left))
        pause = min(pause * 2, LONGEST_PAUSE_S)
