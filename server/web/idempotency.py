"""Idempotency-Key: a retried write returns the first answer and changes nothing.

The key is claimed with a unique row before the work runs, so two copies of
one request racing on two workers run the work once; the loser waits for
the winner's answer. Answers of 5xx are not kept: the client should retry.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import orjson
from sanic import Request
from sanic.response import HTTPResponse
from tortoise.exceptions import IntegrityError

from models.idempotency import IdempotencyRecord
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.errors import JSON_TYPE, ApiError, Conflict, InvalidRequest
from server.runtime.db import describe
from server.web.multipart import close_after_answer

KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
WAIT_FOR_FIRST_S = 10.0
# A claim with no answer this old belongs to a request that died with its worker or its database
# connection (a request runs well under a minute): the retry takes the key over.
ABANDONED_AFTER = timedelta(minutes=2)
FREE_RETRY_S = (0.5, 1, 2, 5, 10, 30, 60)
# How long a first answer is kept for replays: a phone retries within minutes, an app reopened the next
# days may still resend; after that the rows are only weight (the daily job removes them).
KEEP_ANSWERS = timedelta(days=7)
DISCARD_SLACK = 64 * 1024  # multipart boundaries and headers around the file

log = logging.getLogger("wenming.idempotency")


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
            replayed = await _replay(user, key, route)
            if replayed is not None:
                await _discard_body(request)
                return replayed
            continue  # the claim was freed or abandoned: claim it again
        return await _run_claimed(request, record.id, run)
    raise Conflict("同一请求正在重试，请稍后再试")


async def _discard_body(request: Request) -> None:
    """Read away the body of a streamed request (an upload) that is answered from the first one.

    The handler never runs, so nobody reads it: Sanic would log an error for every retried
    upload and keep only the connection's body limit's worth before closing it. Up to the
    upload limit: past that the connection closes, as it would for the first request."""
    stream = request.stream
    if stream is None or not getattr(stream, "request_body", None):
        return
    config = request.app.ctx.config
    budget = config.max_upload_bytes + DISCARD_SLACK
    try:
        # The body deadline of the first request holds for its copies: a trickling replay would
        # otherwise hold its connection for as long as it likes.
        async with asyncio.timeout(config.upload_deadline):
            while budget > 0 and (chunk := await stream.read()) is not None:
                budget -= len(chunk)
    except TimeoutError:
        close_after_answer(request)


async def _run_claimed(request: Request, record_id: int, run: Callable[[], Awaitable[HTTPResponse]]) -> HTTPResponse:
    kept = False
    try:
        try:
            response = await run()
        except ApiError as exc:
            if exc.status >= 500:
                raise
            # An expected refusal (task_full, …) is the first answer too: replay it.
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


async def _free(request: Request, record_id: int) -> None:
    try:
        await _delete_claim(record_id)
    except Exception as exc:
        # The database went away with the request: keep trying after the answer, so the key
        # does not stay claimed (the request's own error is the one the client gets).
        log.warning("could not free idempotency claim %s yet: %s", record_id, describe(exc))
        request.app.ctx.background.spawn(_free_later(record_id), name=f"idempotency-free:{record_id}")


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
    # Only an unanswered claim: never an answer another request has since recorded.
    await IdempotencyRecord.filter(id=record_id, status=None).delete()


async def _replay(user: User, key: str, route: str) -> HTTPResponse | None:
    """The first request's answer, waiting for it if it is still running; None when the key is free again."""
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST_S
    while True:
        record = await IdempotencyRecord.get_or_none(user_id=user.id, key=key)
        if record is None:
            return None
        if record.route != route:
            raise InvalidRequest.fields({"Idempotency-Key": "该键已用于另一个请求"})
        if record.status is not None:
            return HTTPResponse(
                record.body or b"",
                status=record.status,
                headers={"Idempotent-Replayed": "true"},
                content_type=JSON_TYPE if record.body else None,
            )
        if record.created_at < now_utc() - ABANDONED_AFTER:
            await _delete_claim(record.id)
            return None
        if asyncio.get_running_loop().time() > deadline:
            raise Conflict("同一请求仍在处理中，请稍后再试")
        await asyncio.sleep(0.05)


async def purge_answers(now: datetime) -> int:
    """Forget first answers older than :data:`KEEP_ANSWERS`; returns how many went."""
    return await IdempotencyRecord.filter(created_at__lt=now - KEEP_ANSWERS).delete()
