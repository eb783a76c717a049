"""Idempotency-Key: a retried write returns the first answer and changes nothing.

The key is claimed with a unique row before the work runs, so two copies of
one request racing on two workers run the work once; the loser waits for
the winner's answer. Answers of 5xx are not kept: the client should retry.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from sanic import Request
from sanic.response import HTTPResponse
from tortoise.exceptions import IntegrityError

from models.campaigns import IdempotencyRecord
from models.users import User
from server.errors import JSON_TYPE, ApiError, Conflict, InvalidRequest

KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
WAIT_FOR_FIRST_S = 10.0


async def replay_or_run(request: Request, user: User, run: Callable[[], Awaitable[HTTPResponse]]) -> HTTPResponse:
    key = request.headers.get("idempotency-key")
    if key is None:
        return await run()
    if not KEY.match(key):
        raise InvalidRequest.fields({"Idempotency-Key": "应为 8–64 位字母、数字、- 或 _（建议用 UUID）"})
    route = f"{request.method} {request.path}"
    try:
        record = await IdempotencyRecord.create(user_id=user.id, key=key, route=route)
    except IntegrityError:
        return await _replay(user, key, route)
    kept = False
    try:
        try:
            response = await run()
        except ApiError as exc:
            if exc.status >= 500:
                raise
            # An expected refusal (task_full, …) is the first answer too: replay it.
            response = exc.to_response()
        if response.status < 500:
            await IdempotencyRecord.filter(id=record.id).update(status=response.status, body=response.body or b"")
            kept = True
        return response
    finally:
        if not kept:
            # Failed or crashed: free the key so the client's retry runs again.
            await record.delete()


async def _replay(user: User, key: str, route: str) -> HTTPResponse:
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST_S
    while True:
        record = await IdempotencyRecord.get_or_none(user_id=user.id, key=key)
        if record is None:
            raise Conflict("同一请求正在重试，请稍后再试")
        if record.route != route:
            raise InvalidRequest.fields({"Idempotency-Key": "该键已用于另一个请求"})
        if record.status is not None:
            return HTTPResponse(
                record.body or b"",
                status=record.status,
                headers={"Idempotent-Replayed": "true"},
                content_type=JSON_TYPE if record.body else None,
            )
        if asyncio.get_running_loop().time() > deadline:
            raise Conflict("同一请求仍在处理中，请稍后再试")
        await asyncio.sleep(0.05)
