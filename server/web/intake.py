"""How many uploads may be receiving their body at once: per person and in total.

Each open upload holds a connection and a growing temporary file under
``.incoming/`` (up to the size limit) until its body has arrived; the body's
deadline bounds how long, these caps bound how many. With Redis the counts are
shared by every worker and host; without it (or while it is down) each process
counts its own.

In Redis each open upload is a member of two sorted sets (the person's and
everyone's) scored with the time it must be over by: a worker that dies in the
middle of an upload cannot leave its slot taken for longer than that.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sanic import Request

from server.config import Config
from server.kernel.errors import RateLimited
from server.web.multipart import Received, close_after_answer, receive_file

OPEN_UPLOADS_PREFIX = "wenming:uploads:"  # Redis keys: <prefix>user:<id>, <prefix>all
EVERYONE = "all"
# A slot is counted a little past the body's deadline: the answer and the clean-up follow it.
SLOT_SLACK_S = 30
RETRY_AFTER_S = 5
log = logging.getLogger("wenming.uploads")


class TooManyUploads(RateLimited):
    pass


class OpenUploads:
    """Slots for uploads in progress: Redis across workers, a counter in a single process."""

    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis
        self._local: Counter[str] = Counter()

    @asynccontextmanager
    async def slot(self, owner: str, *, per_owner: int, total: int, hold_s: float) -> AsyncIterator[None]:
        """Hold one slot of ``owner`` while the block runs; :class:`TooManyUploads` (429) when none is free."""
        ticket = uuid.uuid4().hex
        shared = await self._take_shared(owner, ticket, per_owner, total, hold_s)
        if not shared:
            self._take_local(owner, per_owner, total)
        try:
            yield
        finally:
            if shared:
                await self._give_back_shared(owner, ticket)
            else:
                self._local[owner] -= 1
                self._local[EVERYONE] -= 1
                if self._local[owner] <= 0:
                    del self._local[owner]

    async def _take_shared(self, owner: str, ticket: str, per_owner: int, total: int, hold_s: float) -> bool:
        """True when Redis counted the slot; False when it is unavailable (count in process)."""
        if self._redis is None:
            return False
        now = time.time()
        keys = (f"{OPEN_UPLOADS_PREFIX}user:{owner}", f"{OPEN_UPLOADS_PREFIX}{EVERYONE}")
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.zremrangebyscore(key, "-inf", now)  # slots of uploads that died without giving back
                    pipe.zadd(key, {ticket: now + hold_s})
                    pipe.zcard(key)
                    pipe.expire(key, int(hold_s) + 1)
                replies = await pipe.execute()
        except (RedisError, OSError):
            log.warning("open uploads counted in process: Redis unavailable")
            return False
        mine, everyone = replies[2], replies[6]
        if mine > per_owner or everyone > total:
            await self._give_back_shared(owner, ticket)
            raise _refusal(mine > per_owner)
        return True

    async def _give_back_shared(self, owner: str, ticket: str) -> None:
        assert self._redis is not None
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(f"{OPEN_UPLOADS_PREFIX}user:{owner}", ticket)
                pipe.zrem(f"{OPEN_UPLOADS_PREFIX}{EVERYONE}", ticket)
                await pipe.execute()
        except (RedisError, OSError):
            # Its score runs out with the deadline: the slot frees itself a little later.
            log.warning("open upload slot not given back: Redis unavailable")

    def _take_local(self, owner: str, per_owner: int, total: int) -> None:
        if self._local[owner] >= per_owner or self._local[EVERYONE] >= total:
            raise _refusal(self._local[owner] >= per_owner)
        self._local[owner] += 1
        self._local[EVERYONE] += 1


def _refusal(own: bool) -> TooManyUploads:
    if own:
        return TooManyUploads(RETRY_AFTER_S, "同时上传的文件 file 太多，请等前面的图片传完再试")
    return TooManyUploads(RETRY_AFTER_S, "服务器正忙，文件 file 暂时无法上传，请稍后再试")


class UploadGate:
    """Receives one streamed upload within the configured limits (size, deadline, open uploads)."""

    def __init__(self, config: Config, redis: Redis | None, tmp_dir: str) -> None:
        self._config = config
        self._open = OpenUploads(redis)
        self._tmp_dir = tmp_dir

    async def receive(
        self, request: Request, owner: str, *, field: str, max_bytes: int | None = None, noun: str = "图片"
    ) -> Received:
        """The file field ``field`` in a temporary file; 429 when ``owner`` (or everyone) has too many open.

        ``max_bytes`` defaults to the photo limit (``WENMING_MAX_UPLOAD_BYTES``)."""
        config = self._config  # read per call: the limits are the configuration's, whenever it is read
        try:
            async with self._open.slot(
                owner,
                per_owner=config.uploads_per_user,
                total=config.uploads_total,
                hold_s=config.upload_deadline + SLOT_SLACK_S,
            ):
                return await receive_file(
                    request,
                    field=field,
                    max_bytes=config.max_upload_bytes if max_bytes is None else max_bytes,
                    tmp_dir=self._tmp_dir,
                    deadline_s=config.upload_deadline,
                    noun=noun,
                )
        except TooManyUploads:
            # Refused before a byte of the body was read: do not read the rest either.
            close_after_answer(request)
            raise
