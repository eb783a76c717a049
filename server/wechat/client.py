"""Async client for the WeChat server APIs the service uses (see WECHAT.md).

One ``aiohttp.ClientSession`` per worker is created by the app and passed in.
WeChat reports failures as a JSON ``errcode`` (usually with HTTP 200); this
module maps them onto ``server.kernel.errors`` so handlers never see raw errcodes.

The access token comes from ``/cgi-bin/stable_token``, which hands every
caller the same token while it is valid; it is cached in a ``TokenStore``
(Redis across workers, or memory) and fetched under the store's lock so a
burst of requests makes one fetch.

Never log secrets, user codes, access tokens, session keys or phone numbers:
request URLs carry some of them in the query, so only paths are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

from server.kernel.errors import (
    PhoneCodeInvalid,
    WeChatCodeInvalid,
    WeChatError,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUserBlocked,
)
from server.runtime.observability import WeChatCall

logger = logging.getLogger("wenming.wechat")

CODE2SESSION_PATH = "/sns/jscode2session"
STABLE_TOKEN_PATH = "/cgi-bin/stable_token"
PHONE_PATH = "/wxa/business/getuserphonenumber"
MSG_SEC_CHECK_PATH = "/wxa/msg_sec_check"
MEDIA_CHECK_PATH = "/wxa/media_check_async"
SUBSCRIBE_SEND_PATH = "/cgi-bin/message/subscribe/send"
WXACODE_PATH = "/wxa/getwxacodeunlimit"

# Refresh well before WeChat's expiry so a token never dies mid-request.
TOKEN_SAFETY_MARGIN = 300
MIN_TOKEN_TTL = 60
RATE_LIMIT_RETRY_AFTER = 60
UNAVAILABLE_RETRY_AFTER = 5

ERR_BUSY = -1
ERR_CODE_INVALID = 40029
ERR_USER_BLOCKED = 40226
ERR_NOT_SUBSCRIBED = 43101
TOKEN_REJECTED_ERRCODES = frozenset({40001, 42001, 40014})
RATE_LIMIT_ERRCODES = frozenset({45009, 45011})

_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class WxSession:
    openid: str
    # Kept out of repr so logging a session cannot leak the key.
    session_key: str = field(repr=False)
    unionid: str | None = None


@dataclass(frozen=True)
class WxPhone:
    # Kept out of repr so logging the value cannot leak the number.
    phone_number: str = field(repr=False)
    pure_phone_number: str = field(repr=False)
    country_code: str


class TokenStore(Protocol):
    """Where the access token is cached, shared by whoever shares the store."""

    async def get(self) -> str | None: ...

    async def set(self, token: str, ttl: int) -> None: ...

    async def delete_if(self, token: str) -> None:
        """Delete the cached token only if it is still ``token``.

        A worker holding a stale token must not drop the fresh one another
        worker already put there.
        """
        ...

    def lock(self) -> AbstractAsyncContextManager[None]: ...


class MemoryTokenStore:
    """In-process cache, for a single process without Redis."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str | None:
        if self._token is not None and time.monotonic() < self._expires_at:
            return self._token
        return None

    async def set(self, token: str, ttl: int) -> None:
        self._token = token
        self._expires_at = time.monotonic() + ttl

    async def delete_if(self, token: str) -> None:
        if self._token == token:
            self._token = None

    def lock(self) -> AbstractAsyncContextManager[None]:
        return self._lock


class RedisTokenStore:
    """Redis cache shared by all workers, with a Redis lock around refreshes."""

    def __init__(
        self,
        redis: Redis,
        appid: str,
        *,
        lock_timeout: float = 20.0,
        lock_wait: float = 10.0,
    ) -> None:
        self._redis = redis
        self.key = f"wenming:wx:token:{appid}"
        self._lock_key = f"wenming:wx:token-lock:{appid}"
        # Auto-expiry frees the lock if its holder dies; it must outlast a
        # refresh (two token fetches, each bounded by the client timeout).
        self._lock_timeout = lock_timeout
        self._lock_wait = lock_wait
        # Coroutines of this worker queue here instead of all polling Redis.
        self._local = asyncio.Lock()
        self._compare_and_delete = redis.register_script(_COMPARE_AND_DELETE)
        # While Redis is away each worker keeps its own copy: the stable token is the same
        # for every caller, so workers fetching it separately do not break each other.
        self._fallback = MemoryTokenStore()

    async def get(self) -> str | None:
        try:
            value = await self._redis.get(self.key)
        except (RedisError, OSError):
            logger.warning("access token cache in process: Redis unavailable")
            return await self._fallback.get()
        if isinstance(value, bytes):
            return value.decode()
        return value

    async def set(self, token: str, ttl: int) -> None:
        await self._fallback.set(token, ttl)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.set(self.key, token, ex=ttl)

    async def delete_if(self, token: str) -> None:
        await self._fallback.delete_if(token)
        with contextlib.suppress(RedisError, OSError):
            await self._compare_and_delete(keys=[self.key], args=[token])

    def lock(self) -> AbstractAsyncContextManager[None]:
        return self._locked()

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        async with self._local:
            lock = self._redis.lock(
                self._lock_key,
                timeout=self._lock_timeout,
                sleep=0.05,
                blocking_timeout=self._lock_wait,
            )
            try:
                acquired = await lock.acquire()
            except (RedisError, OSError):
                yield  # Redis is away: this worker's own lock is all there is (see __init__)
                return
            if not acquired:
                logger.warning("timed out waiting for the access token lock")
                raise WeChatUnavailable(retry_after=UNAVAILABLE_RETRY_AFTER)
            try:
                yield
            finally:
                # The lock may have auto-expired during a slow refresh; the
                # token is stored either way, so that is not worth failing for.
                with contextlib.suppress(LockError, RedisError, OSError):
                    await lock.release()


class _TokenRejected(Exception):
    """WeChat refused the access token; the caller refreshes and retries once."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg


def _cache_ttl(expires_in: int) -> int:
    if expires_in - TOKEN_SAFETY_MARGIN >= MIN_TOKEN_TTL:
        return expires_in - TOKEN_SAFETY_MARGIN
    # stable_token keeps returning a token close to its end; hold it briefly
    # and let the token-rejected path cover the rest.
    return max(1, min(MIN_TOKEN_TTL, expires_in // 2))


class WeChatClient:
    """The WeChat calls of one worker.

    ``timeout`` bounds one call including its retries; ``busy_retries`` is
    how many more attempts an idempotent call gets after -1 ("system busy"),
    a connection failure or an HTTP 5xx, ``backoff`` the first (jittered,
    doubling) pause between them.
    """

    def __init__(
        self,
        *,
        appid: str,
        secret: str,
        api_base: str,
        session: aiohttp.ClientSession,
        tokens: TokenStore,
        timeout: float = 5.0,
        busy_retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        self.appid = appid
        self._secret = secret
        self._api_base = api_base.rstrip("/")
        self._session = session
        self._tokens = tokens
        self._timeout = timeout
        self._busy_retries = busy_retries
        self._backoff = backoff

    # -- public calls ----------------------------------------------------------

    async def code2session(self, code: str) -> WxSession:
        params = {
            "appid": self.appid,
            "secret": self._secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        data = await self._request("GET", CODE2SESSION_PATH, params=params)
        openid, session_key = data.get("openid"), data.get("session_key")
        if not isinstance(openid, str) or not isinstance(session_key, str):
            raise _bad_response(CODE2SESSION_PATH, "no openid or session_key")
        return WxSession(openid=openid, session_key=session_key, unionid=data.get("unionid"))

    async def access_token(self, *, force_refresh: bool = False) -> str:
        if not force_refresh:
            cached = await self._tokens.get()
            if cached:
                return cached
        async with self._tokens.lock():
            if not force_refresh:
                # Another coroutine or worker may have refreshed while we waited.
                cached = await self._tokens.get()
                if cached:
                    return cached
            token, ttl = await self._fetch_token(force_refresh=force_refresh)
            await self._tokens.set(token, ttl)
            return token

    async def get_phone_number(self, code: str) -> WxPhone:
        try:
            data = await self._authed(PHONE_PATH, {"code": code})
        except WeChatCodeInvalid:
            raise PhoneCodeInvalid() from None
        info = data.get("phone_info")
        try:
            return WxPhone(
                phone_number=str(info["phoneNumber"]),
                pure_phone_number=str(info["purePhoneNumber"]),
                country_code=str(info["countryCode"]),
            )
        except (KeyError, TypeError):
            raise _bad_response(PHONE_PATH, "no phone_info") from None

    async def msg_sec_check(self, content: str, openid: str, scene: int = 2) -> dict[str, Any]:
        body = {"content": content, "version": 2, "scene": scene, "openid": openid}
        return await self._authed(MSG_SEC_CHECK_PATH, body)

    async def media_check_async(self, media_url: str, openid: str, scene: int = 2) -> str:
        body = {
            "media_url": media_url,
            "media_type": 2,  # image
            "version": 2,
            "scene": scene,
            "openid": openid,
        }
        data = await self._authed(MEDIA_CHECK_PATH, body)
        trace_id = data.get("trace_id")
        if not isinstance(trace_id, str) or not trace_id:
            raise _bad_response(MEDIA_CHECK_PATH, "no trace_id")
        return trace_id

    async def send_subscribe(
        self,
        *,
        touser: str,
        template_id: str,
        data: dict[str, Any],
        page: str | None = None,
        state: str = "formal",
    ) -> bool:
        """Send a subscribe message; False when the user has not subscribed (43101)."""
        body: dict[str, Any] = {
            "touser": touser,
            "template_id": template_id,
            "data": data,
            "miniprogram_state": state,
        }
        if page is not None:
            body["page"] = page
        # Not idempotent: a resend after an ambiguous failure could notify twice.
        answer = await self._authed(
            SUBSCRIBE_SEND_PATH,
            body,
            idempotent=False,
            accept=frozenset({ERR_NOT_SUBSCRIBED}),
        )
        if answer.get("errcode") == ERR_NOT_SUBSCRIBED:
            logger.info("subscribe message skipped: user has not subscribed to the template")
            return False
        return True

    async def get_wxacode_unlimit(
        self,
        *,
        scene: str,
        page: str,
        width: int = 430,
        check_path: bool = False,
        env_version: str = "release",
    ) -> tuple[bytes, str]:
        """The mini-program code image as (bytes, content type)."""
        body = {
            "scene": scene,
            "page": page,
            "width": width,
            "check_path": check_path,
            "env_version": env_version,
        }
        answer = await self._authed(WXACODE_PATH, body, image=True)
        if isinstance(answer, tuple):
            return answer
        # errcode 0 but JSON: WeChat sent no image.
        raise _bad_response(WXACODE_PATH, "JSON instead of an image")

    # -- token handling --------------------------------------------------------

    async def _fetch_token(self, *, force_refresh: bool) -> tuple[str, int]:
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self._secret,
            "force_refresh": force_refresh,
        }
        data = await self._request("POST", STABLE_TOKEN_PATH, body=body)
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise _bad_response(STABLE_TOKEN_PATH, "no access_token or expires_in")
        logger.info("fetched access token (force_refresh=%s, expires_in=%d)", force_refresh, expires_in)
        return token, _cache_ttl(expires_in)

    async def _replace_rejected(self, rejected: str) -> str:
        await self._tokens.delete_if(rejected)
        async with self._tokens.lock():
            cached = await self._tokens.get()
            if cached and cached != rejected:
                return cached
            token, ttl = await self._fetch_token(force_refresh=False)
            if token == rejected:
                # stable_token still believes in the token WeChat just refused.
                token, ttl = await self._fetch_token(force_refresh=True)
            await self._tokens.set(token, ttl)
            return token

    async def _authed(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotent: bool = True,
        accept: frozenset[int] = frozenset(),
        image: bool = False,
    ) -> Any:
        send = functools.partial(
            self._request, "POST", path, body=body, authed=True, idempotent=idempotent, accept=accept, image=image
        )
        token = await self.access_token()
        try:
            return await send(params={"access_token": token})
        except _TokenRejected as exc:
            logger.info("wechat %s rejected the access token (errcode=%d)", path, exc.errcode)
        # A rejected token means the call did not run, so one retry is safe
        # even for a send.
        token = await self._replace_rejected(token)
        try:
            return await send(params={"access_token": token})
        except _TokenRejected as exc:
            logger.error(
                "wechat %s rejected a fresh access token: errcode=%d errmsg=%s",
                path,
                exc.errcode,
                exc.errmsg,
            )
            raise WeChatError(exc.errcode, exc.errmsg) from None

    # -- transport -------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        authed: bool = False,
        idempotent: bool = True,
        accept: frozenset[int] = frozenset(),
        image: bool = False,
    ) -> Any:
        """One logical call, retried on transient failures within ``timeout``.

        Returns the decoded JSON, or (bytes, content type) for an image when
        ``image`` is set.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        attempt = 0
        while True:
            attempt += 1
            resendable = idempotent
            # Every HTTP exchange is counted and timed here, by API path (never the query) and outcome.
            with WeChatCall(path) as call:
                try:
                    async with self._session.request(
                        method,
                        self._api_base + path,
                        params=params,
                        json=body,
                        timeout=aiohttp.ClientTimeout(total=max(deadline - loop.time(), 0.001)),
                    ) as resp:
                        status, content_type = resp.status, resp.content_type
                        raw = await resp.read()
                except TimeoutError:
                    call.outcome, reason = "timeout", "timed out"
                except aiohttp.ClientConnectorError as exc:
                    call.outcome, reason = "http_error", f"cannot connect ({type(exc).__name__})"
                    resendable = True  # nothing reached WeChat
                except aiohttp.ClientError as exc:
                    # The message may quote the URL and its query; the type is enough.
                    call.outcome, reason = "http_error", f"connection failed ({type(exc).__name__})"
                else:
                    call.outcome = "http_error" if status >= 400 else "invalid_response"
                    if status >= 500:
                        reason = f"HTTP {status}"
                    elif image and content_type.startswith("image/"):
                        call.outcome = "ok"
                        return raw, content_type
                    else:
                        data = _decode(path, status, raw)
                        errcode = data.get("errcode") or 0
                        call.outcome = "ok" if errcode == 0 else str(errcode)
                        if errcode == 0 or errcode in accept:
                            return data
                        if errcode != ERR_BUSY:
                            raise _map_error(path, errcode, str(data.get("errmsg", "")), authed)
                        reason = "busy (errcode -1)"

            pause = self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            if not resendable or attempt > self._busy_retries or loop.time() + pause >= deadline:
                logger.warning("wechat %s unavailable after %d attempt(s): %s", path, attempt, reason)
                raise WeChatUnavailable(retry_after=UNAVAILABLE_RETRY_AFTER)
            logger.info("wechat %s %s; retrying in %.2fs", path, reason, pause)
            await asyncio.sleep(pause)


def _decode(path: str, status: int, raw: bytes) -> dict[str, Any]:
    # Parse whatever the Content-Type says: code2Session labels its JSON text/plain.
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _bad_response(path, f"HTTP {status} with a body that is not a JSON object")
    return data


def _bad_response(path: str, what: str) -> WeChatUnavailable:
    logger.error("wechat %s answered unexpectedly: %s", path, what)
    return WeChatUnavailable(retry_after=UNAVAILABLE_RETRY_AFTER)


def _map_error(path: str, errcode: int, errmsg: str, authed: bool) -> Exception:
    if errcode == ERR_CODE_INVALID:
        return WeChatCodeInvalid()
    if errcode == ERR_USER_BLOCKED:
        logger.info("wechat %s: user blocked as high risk (errcode=%d)", path, errcode)
        return WeChatUserBlocked()
    if errcode in RATE_LIMIT_ERRCODES:
        logger.warning("wechat %s rate limited: errcode=%d errmsg=%s", path, errcode, errmsg)
        return WeChatRateLimited(retry_after=RATE_LIMIT_RETRY_AFTER)
    if authed and errcode in TOKEN_REJECTED_ERRCODES:
        return _TokenRejected(errcode, errmsg)
    logger.error("wechat %s failed: errcode=%d errmsg=%s", path, errcode, errmsg)
    return WeChatError(errcode, errmsg)
