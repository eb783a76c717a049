"""Mini-program codes fetched from WeChat once and kept: they never change for a scene."""

from __future__ import annotations

import contextlib
from collections import OrderedDict

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.wechat.client import WeChatClient

TTL_S = 30 * 86400
LOCAL_MAX = 256


class QrCodeCache:
    def __init__(self, wechat: WeChatClient, redis: Redis | None) -> None:
        self._wechat = wechat
        self._redis = redis
        self._local: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    async def get(self, scene: str, page: str) -> tuple[bytes, str]:
        key = f"wenming:qr:{page}:{scene}"
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):  # the cache is only a saving
                cached = await self._redis.hgetall(key)
                if cached:
                    return cached[b"image"], cached[b"type"].decode()
        elif key in self._local:
            self._local.move_to_end(key)
            return self._local[key]
        image, content_type = await self._wechat.get_wxacode_unlimit(scene=scene, page=page)
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.hset(key, mapping={"image": image, "type": content_type})
                await self._redis.expire(key, TTL_S)
        else:
            self._local[key] = (image, content_type)
            while len(self._local) > LOCAL_MAX:
                self._local.popitem(last=False)
        return image, content_type
