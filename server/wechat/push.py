"""Verification and parsing of WeChat message pushes (see WECHAT.md, "Message push").

Pure code, no HTTP: the handler passes the query arguments, the raw body and
its content type, and gets back the event as a plain dict or an ``ApiError``
(403 ``PushRejected`` for anything that fails authentication, 400
``InvalidRequest`` for a body that cannot be read). Sanic's ``request.args``
and aiohttp's ``request.query`` both work as ``args``: only ``.get`` is used,
which answers the first value.

Order matters: the signature and timestamp are checked before anything that
has an effect, so a forged request cannot burn a nonce that a genuine push
will use. Once they hold, the nonce is used up before the body is read: a
signed request that then fails (an unreadable or undecryptable body, a plain
body where safe mode is configured) cannot be replayed either.

With an EncodingAESKey configured only safe-mode pushes are taken: the plain
``signature`` covers the timestamp and nonce but not the body, so anyone who
saw one signed query could attach any event to it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any
from xml.parsers.expat import ExpatError

import orjson
import xmltodict
from redis.asyncio import Redis
from redis.exceptions import RedisError
from wechatpy.crypto import WeChatCrypto

from server.kernel.errors import Forbidden, InvalidRequest, ServiceUnavailable

NONCE_PREFIX = "wenming:push-nonce:"
DEFAULT_WINDOW_S = 300
MEDIA_SUGGESTS = frozenset({"pass", "review", "risky"})
_MAX_MEMORY_NONCES = 100_000
_UTF8_BOM = b"\xef\xbb\xbf"


class PushRejected(Forbidden):
    """A push that is not provably from WeChat, or is stale or replayed."""

    code, message = "forbidden", "推送签名无效"


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """WeChat's push signature: sha1 over the sorted parts, concatenated."""
    # Sorting the UTF-8 bytes (not the str) is what wechatpy and WeChat do.
    parts = sorted(part.encode() for part in (token, timestamp, nonce, *extra))
    return hashlib.sha1(b"".join(parts)).hexdigest()


def media_verdict(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(trace_id, suggest)`` of a ``wxa_media_check`` event with a usable verdict, else None."""
    if event.get("Event") != "wxa_media_check":
        return None
    # A failed check (e.g. WeChat could not fetch the image) carries an errcode and no verdict.
    if str(event.get("errcode", 0)) != "0":
        return None
    trace_id = event.get("trace_id")
    result = event.get("result")
    suggest = result.get("suggest") if isinstance(result, Mapping) else None
    if not isinstance(trace_id, str) or not trace_id or suggest not in MEDIA_SUGGESTS:
        return None
    return trace_id, suggest


class NonceGuard:
    """Remembers (timestamp, nonce) pairs: in Redis across workers, else in this process."""

    def __init__(
        self, redis: Redis | None = None, *, prefix: str = NONCE_PREFIX, max_entries: int = _MAX_MEMORY_NONCES
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._max_entries = max_entries
        self._seen: dict[str, float] = {}  # key -> monotonic expiry, in insertion order

    async def first_use(self, nonce: str, timestamp: str, ttl_s: int = 600) -> bool:
        """True the first time this (timestamp, nonce) pair is seen within ``ttl_s``; False on a replay."""
        # Hashed so a sender cannot make us store arbitrarily long keys.
        key = hashlib.sha256(f"{timestamp}\n{nonce}".encode()).hexdigest()
        if self._redis is not None:
            try:
                return bool(await self._redis.set(self._prefix + key, 1, nx=True, ex=max(1, int(ttl_s))))
            except (RedisError, OSError):
                # Without the shared record a replay could pass on another worker: refuse; WeChat retries.
                raise ServiceUnavailable("暂时无法处理推送，请稍后重试", retry_after=30) from None
        return self._first_use_local(key, ttl_s)

    def _first_use_local(self, key: str, ttl_s: float) -> bool:
        now = time.monotonic()
        expires_at = self._seen.get(key)
        if expires_at is not None and expires_at > now:
            return False
        self._seen.pop(key, None)  # re-inserted below, at the young end
        self._evict(now)
        self._seen[key] = now + ttl_s
        return True

    def _evict(self, now: float) -> None:
        # Insertion order is expiry order while the TTL is constant (as the verifier uses it),
        # so expired entries sit at the front; past the cap the oldest go first.
        while self._seen:
            oldest = next(iter(self._seen))
            if self._seen[oldest] > now and len(self._seen) < self._max_entries:
                return
            del self._seen[oldest]


def _aes_key_ok(aes_key: str) -> bool:
    try:
        return len(aes_key) == 43 and len(base64.b64decode(aes_key + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _strip(body: bytes) -> bytes:
    body = body.lstrip()
    return body[len(_UTF8_BOM) :].lstrip() if body.startswith(_UTF8_BOM) else body


def _parse(body: bytes) -> dict[str, Any]:
    """An XML (``<xml>`` root) or JSON object body as a dict; the first byte decides which."""
    body = _strip(body)
    try:
        if body.startswith(b"<"):
            # xmltodict refuses entity declarations and expat caps entity expansion.
            parsed = xmltodict.parse(body, dict_constructor=dict)
            event = parsed.get("xml") if len(parsed) == 1 else None
        elif body.startswith(b"{"):
            event = orjson.loads(body)
        else:
            raise InvalidRequest("推送内容既不是 XML 也不是 JSON")
    except (ExpatError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise InvalidRequest("推送内容格式有误") from exc
    if not isinstance(event, dict) or not event:
        raise InvalidRequest("推送内容格式有误")
    return event


class PushVerifier:
    """Checks WeChat's pushes against the configured token (and EncodingAESKey for safe mode)."""

    def __init__(
        self, token: str, aes_key: str | None, appid: str, nonces: NonceGuard, window_s: int = DEFAULT_WINDOW_S
    ) -> None:
        if not token:
            raise ValueError("push token must not be empty")
        if aes_key and not _aes_key_ok(aes_key):
            raise ValueError("push EncodingAESKey must be 43 characters of base64 (32 bytes)")
        self.token = token
        self.appid = appid
        self.window_s = window_s
        self._nonces = nonces
        self._crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    media_verdict = staticmethod(media_verdict)

    async def url_check(self, args: Mapping[str, str], now: float | None = None) -> str:
        """The ``echostr`` to answer WeChat's URL check with, if the check is genuine (once per nonce)."""
        timestamp, nonce, _ = self._signed(args, "signature")
        self._check_time(timestamp, now)
        await self._use_nonce(timestamp, nonce)
        echostr = args.get("echostr")
        if not echostr:
            raise InvalidRequest.fields({"echostr": "缺少 echostr"})
        return echostr

    async def event(
        self, args: Mapping[str, str], body: bytes, content_type: str = "", now: float | None = None
    ) -> dict[str, Any]:
        """The pushed event as WeChat sent it (decrypted in safe mode), once per (timestamp, nonce).

        ``content_type`` is only a hint: the body's first byte decides between
        XML and JSON, since senders and proxies mislabel bodies.
        """
        encrypt_type = args.get("encrypt_type") or "raw"
        if encrypt_type == "aes":
            if self._crypto is None:
                raise PushRejected("未配置消息加密密钥，无法接收安全模式推送")
            # The envelope must be read first: msg_signature covers its Encrypt.
            encrypt = _parse(body).get("Encrypt")
            if not isinstance(encrypt, str) or not encrypt:
                raise InvalidRequest.fields({"Encrypt": "缺少加密内容"})
            timestamp, nonce, signature = self._signed(args, "msg_signature", encrypt)
        elif encrypt_type == "raw":
            timestamp, nonce, _ = self._signed(args, "signature")
        else:
            raise InvalidRequest.fields({"encrypt_type": "不支持的加密类型"})
        self._check_time(timestamp, now)
        await self._use_nonce(timestamp, nonce)
        if encrypt_type == "raw":
            if self._crypto is not None:
                raise PushRejected("已配置消息加密，只接受安全模式（加密）推送")
            return _parse(body)
        return self._decrypt(encrypt, signature, timestamp, nonce)

    def _decrypt(self, encrypt: str, signature: str, timestamp: str, nonce: str) -> dict[str, Any]:
        assert self._crypto is not None
        try:
            plain = self._crypto.decrypt_message({"Encrypt": encrypt}, signature, timestamp, nonce)
        except Exception as exc:
            # wechatpy fails on bad ciphertext with whatever the step raises (binascii,
            # struct, IndexError, UnicodeDecodeError, InvalidAppIdException...); the
            # signature already matched, so this is a key or appid mismatch.
            raise PushRejected("推送内容无法解密") from exc
        return _parse(plain.encode())

    async def _use_nonce(self, timestamp: str, nonce: str) -> None:
        if not await self._nonces.first_use(nonce, timestamp, ttl_s=2 * self.window_s):
            raise PushRejected("推送已处理过（重复的 nonce）")

    def _signed(self, args: Mapping[str, str], name: str, *extra: str) -> tuple[str, str, str]:
        """(timestamp, nonce, signature) once ``args[name]`` is proven to be our signature over them."""
        timestamp = args.get("timestamp") or ""
        nonce = args.get("nonce") or ""
        given = args.get(name) or ""
        if not (timestamp and nonce and given):
            raise PushRejected()
        expected = sign(self.token, timestamp, nonce, *extra)
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise PushRejected()
        return timestamp, nonce, given

    def _check_time(self, timestamp: str, now: float | None) -> None:
        now = time.time() if now is None else now
        # The length cap keeps int() -> float conversion from overflowing on absurd input.
        valid = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
        if not valid or abs(now - int(timestamp)) > self.window_s:
            raise PushRejected("推送时间戳无效或已过期")
