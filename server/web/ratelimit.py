"""Fixed-window rate limits: Redis across workers, a dict in a single process."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.config import Rate
from server.kernel.errors import RateLimited

_MAX_LOCAL_KEYS = 100_000
RATE_LIMIT_PREFIX = "wenming:rl:"  # Redis keys: <prefix><bucket>:<key>:<window>
log = logging.getLogger("wenming.ratelimit")


class RateLimiter:
    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis
        self._local: dict[str, tuple[int, int]] = {}

    async def hit(self, bucket: str, key: str, rate: Rate, error: type[RateLimited] = RateLimited) -> None:
        """Count one hit; raise ``error`` (429 with Retry-After) past the limit."""
        now = int(time.time())
        window = now // rate.period
        retry_after = (window + 1) * rate.period - now
        name = f"{RATE_LIMIT_PREFIX}{bucket}:{key}:{window}"
        count = None
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(name)
                    pipe.expire(name, rate.period + 1)
                    count, _ = await pipe.execute()
            except (RedisError, OSError):
                # Redis is down: limit per process rather than not at all, or not serving.
                log.warning("rate limit %s counted in process: Redis unavailable", bucket)
        if count is None:
            count = self._local_incr(name, window)
        if count > rate.limit:
            raise error(retry_after)

    def _local_incr(self, name: str, window: int) -> int:
        if len(self._local) > _MAX_LOCAL_KEYS:
            # Old windows are dead weight; dropping them all keeps memory bounded.
            self._local = {k: v for k, v in self._local.items() if v[1] == window}
        count = self._local.get(name, (0, window))[0] + 1
        self._local[name] = (count, window)
        return count
