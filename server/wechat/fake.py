"""A fake WeChat API server: a real aiohttp server on loopback.

No machine here reaches WeChat, so the tests and ``wenming demo`` point
``WENMING_WECHAT_API_BASE`` at this server. It speaks every call in
WECHAT.md with WeChat's quirks (errors as JSON with HTTP 200, code2Session
answering ``text/plain``, single-use codes, stable tokens) and lets a test
inject failures, delays and expiries. It ships in the package, so it must not
import pytest.

Run it standalone with ``python -m server.wechat.fake --port 9000``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import io
import json
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import segno
import xmltodict
from aiohttp import web
from wechatpy.crypto import PrpCrypto

from server.wechat.push import sign

CODE2SESSION_PATH = "/sns/jscode2session"
STABLE_TOKEN_PATH = "/cgi-bin/stable_token"
PHONE_PATH = "/wxa/business/getuserphonenumber"
MSG_SEC_CHECK_PATH = "/wxa/msg_sec_check"
MEDIA_CHECK_PATH = "/wxa/media_check_async"
SUBSCRIBE_SEND_PATH = "/cgi-bin/message/subscribe/send"
WXACODE_PATH = "/wxa/getwxacodeunlimit"

# Default errmsg per errcode, worded like WeChat's so logs look familiar.
ERRMSGS: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40029: "invalid code",
    40125: "invalid appsecret",
    40169: "invalid length for scene, or the data is not json string",
    40226: "code blocked",
    41001: "access_token missing",
    41030: "invalid page",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    47001: "data format error",
    47003: "argument invalid!",
}

# Text-check verdicts: word -> (suggest, label). Labels follow WeChat's table
# (20006 illegal/crime, 20002 porn, 20008 fraud, 21000 other).
FLAGGED_WORDS: dict[str, tuple[str, int]] = {
    "赌博": ("risky", 20006),
    "色情": ("risky", 20002),
    "诈骗": ("risky", 20008),
    "risky-word": ("risky", 21000),
    "review-word": ("review", 21000),
}

PUSH_FORMATS = ("json", "xml")
# The mini-program's original id, as ToUserName of every push.
PUSH_TO_USER = "gh_fakewenming01"

_SCENE_RE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Call:
    """One request the fake received (secrets included: it is a test double)."""

    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


@dataclass(frozen=True)
class _PushTarget:
    url: str
    token: str
    aes_key: str | None
    fmt: str


@dataclass(frozen=True)
class Push:
    """One push the fake sent to the service, and how the service answered."""

    method: str
    query: dict[str, str]
    body: bytes
    status: int
    answer: str


@dataclass(frozen=True)
class _Failure:
    errcode: int
    errmsg: str
    http_status: int


def _error(errcode: int, errmsg: str = "", *, status: int = 200) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg or ERRMSGS.get(errcode, "error")}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    # aiohttp caches the read body, so handlers may call this again cheaply.
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _trace_id() -> str:
    return secrets.token_hex(12)


def wxacode_text(appid: str, page: str, scene: str) -> str:
    """What the fake's mini-program codes say when scanned: the app, the page and the scene it opens."""
    return f"wxa://{appid}/{page}?scene={quote(scene, safe='')}"


def _wxacode_png(appid: str, scene: str, page: str, width: int) -> bytes:
    """A real QR code of :func:`wxacode_text`, so a phone can scan the demo's check-in and sign-in codes.

    WeChat draws a round "sunburst" code that only WeChat reads; a QR code any scanner reads is the
    closest a fake can honestly give. About ``width`` pixels wide, as WeChat's (280 to 1280)."""
    qr = segno.make_qr(wxacode_text(appid, page, scene), error="m")
    side = max(280, min(width, 1280))
    modules = qr.symbol_size(scale=1, border=4)[0]
    out = io.BytesIO()
    qr.save(out, kind="png", scale=max(1, side // modules), border=4)
    return out.getvalue()


class FakeWeChat:
    """The fake server; its state lives in memory and is inspected by tests."""

    def __init__(self, appid: str = "wxdemoappid", secret: str = "demo-secret", token_ttl: int = 7200) -> None:
        self.appid = appid
        self.secret = secret
        self.token_ttl = token_ttl
        self.base_url = ""
        self.calls: list[Call] = []
        self.sent_messages: list[dict[str, Any]] = []
        self.media_checks: list[dict[str, Any]] = []
        self.pushes: list[Push] = []
        self._push: _PushTarget | None = None
        # (suggest, delay): answer every media check by push on its own, as WeChat does (the demo).
        self.auto_verdict: tuple[str, float] | None = None
        self._auto_pushes: set[asyncio.Task[Any]] = set()
        self._codes: dict[str, str] = {}
        # Every secret handed out (codes, phone numbers, session keys, access tokens), kept across
        # reset(): a test may check that none of them ever reached a log line.
        self.secrets: set[str] = {secret}
        self._reusable_codes: dict[str, str] = {}
        self._unionids: dict[str, str] = {}
        self._phone_codes: dict[str, tuple[str, str]] = {}
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._current_token: str | None = None
        self._failures: defaultdict[str, deque[_Failure]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._refused: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get(CODE2SESSION_PATH, self._code2session)
        app.router.add_post(STABLE_TOKEN_PATH, self._stable_token)
        app.router.add_post(PHONE_PATH, self._phone_number)
        app.router.add_post(MSG_SEC_CHECK_PATH, self._msg_sec_check)
        app.router.add_post(MEDIA_CHECK_PATH, self._media_check)
        app.router.add_post(SUBSCRIBE_SEND_PATH, self._subscribe_send)
        app.router.add_post(WXACODE_PATH, self._wxacode)
        self._stopping = asyncio.Event()
        # A short shutdown timeout: a test that timed out on a delayed call
        # must not wait for that handler at teardown.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._stopping.set()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    def run_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve from a daemon thread with its own loop (``wenming demo``)."""
        started: concurrent.futures.Future[str] = concurrent.futures.Future()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                started.set_result(loop.run_until_complete(self.start(host, port)))
            except BaseException as exc:
                started.set_exception(exc)
                return
            loop.run_forever()

        threading.Thread(target=serve, name="fake-wechat", daemon=True).start()
        return started.result(timeout=10)

    # -- inspection and scripting --------------------------------------------

    def reset(self) -> None:
        """Forget recorded calls and scripted failures (between tests sharing one fake)."""
        self.calls.clear()
        self.sent_messages.clear()
        self.media_checks.clear()
        self.pushes.clear()
        self._failures.clear()
        self._delays.clear()
        self._refused.clear()

    def count(self, path: str) -> int:
        return sum(1 for call in self.calls if call.path == path)

    def reset_calls(self) -> None:
        self.calls.clear()

    def issue_code(self, openid: str | None = None, unionid: str | None = None) -> str:
        """A single-use ``wx.login`` code for ``openid`` (a new user if None)."""
        openid = openid or "o" + secrets.token_urlsafe(21)
        if unionid is not None:
            self._unionids[openid] = unionid
        code = secrets.token_urlsafe(24)
        self._codes[code] = openid
        self.secrets.add(code)
        return code

    def add_reusable_code(self, code: str, openid: str) -> None:
        self._reusable_codes[code] = openid
        self.secrets.add(code)

    def issue_phone_code(self, phone: str = "13800138000", country_code: str = "86") -> str:
        code = secrets.token_urlsafe(24)
        self._phone_codes[code] = (phone, country_code)
        self.secrets |= {code, phone}
        return code

    def fail_next(self, path: str, errcode: int, times: int = 1, errmsg: str = "", *, http_status: int = 200) -> None:
        """The next ``times`` calls to ``path`` answer this error (HTTP 200 unless told)."""
        failure = _Failure(errcode, errmsg or ERRMSGS.get(errcode, "error"), http_status)
        self._failures[path].extend([failure] * times)

    def delay(self, path: str, seconds: float) -> None:
        if seconds > 0:
            self._delays[path] = seconds
        else:
            self._delays.pop(path, None)

    def expire_tokens(self) -> None:
        now = time.monotonic()
        for token in self._tokens:
            self._tokens[token] = now - 1

    def refuse_subscribe(self, openid: str) -> None:
        self._refused.add(openid)

    # -- message push (WeChat -> the service) ---------------------------------

    def configure_push(self, url: str, token: str, aes_key: str | None = None, fmt: str = "json") -> None:
        """Where and how to push events: plain mode, or safe mode (``Encrypt``) when ``aes_key`` is given."""
        if fmt not in PUSH_FORMATS:
            raise ValueError(f"push format must be one of {PUSH_FORMATS}, not {fmt!r}")
        self._push = _PushTarget(url, token, aes_key or None, fmt)

    async def push_media_verdict(
        self,
        trace_id: str,
        suggest: str = "pass",
        label: int = 100,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        signature: str | None = None,
    ) -> tuple[int, str]:
        """POST a ``wxa_media_check`` event to the service; returns (HTTP status, body text).

        ``timestamp``, ``nonce`` and ``signature`` override what WeChat would
        send, so a test can send a stale push, replay a nonce or forge a
        signature (in safe mode it replaces ``msg_signature`` too).
        """
        target = self._push_target()
        check = next((c for c in self.media_checks if c.get("trace_id") == trace_id), {})
        event = {
            "ToUserName": PUSH_TO_USER,
            "FromUserName": check.get("openid") or "o" + hashlib.sha256(trace_id.encode()).hexdigest()[:27],
            "CreateTime": int(time.time()),
            "MsgType": "event",
            "Event": "wxa_media_check",
            "appid": self.appid,
            "trace_id": trace_id,
            "version": 2,
            "detail": [
                {"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90},
            ],
            "errcode": 0,
            "errmsg": "ok",
            "result": {"suggest": suggest, "label": label},
        }
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(8)
        query = {"signature": signature or sign(target.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
        plain = self._render(event, target.fmt)
        if target.aes_key is None:
            body = plain
        else:
            encrypt = PrpCrypto(base64.b64decode(target.aes_key + "=")).encrypt(plain, self.appid).decode()
            query["encrypt_type"] = "aes"
            query["msg_signature"] = signature or sign(target.token, stamp, nonce, encrypt)
            body = self._render({"ToUserName": PUSH_TO_USER, "Encrypt": encrypt}, target.fmt)
        return await self._send_push("POST", target, query, body)

    async def push_url_check(
        self,
        echostr: str,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        signature: str | None = None,
    ) -> tuple[int, str]:
        """GET the URL check WeChat makes when the push URL is saved; returns (HTTP status, body text)."""
        target = self._push_target()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(8)
        query = {
            "signature": signature or sign(target.token, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        return await self._send_push("GET", target, query, b"")

    async def _push_later(self, trace_id: str, suggest: str, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self.push_media_verdict(trace_id, suggest)
        except aiohttp.ClientError:
            pass  # the service is gone (shutting down): WeChat would just give up too

    def _push_target(self) -> _PushTarget:
        if self._push is None:
            raise RuntimeError("call configure_push() before pushing")
        return self._push

    @staticmethod
    def _render(message: dict[str, Any], fmt: str) -> bytes:
        if fmt == "json":
            return json.dumps(message, ensure_ascii=False).encode()
        # WeChat's XML has an <xml> root and no declaration; a list becomes repeated elements.
        return xmltodict.unparse({"xml": message}, full_document=False).encode()

    async def _send_push(self, method: str, target: _PushTarget, query: dict[str, str], body: bytes) -> tuple[int, str]:
        content_type = "application/json" if target.fmt == "json" else "text/xml"
        headers = {"Content-Type": content_type} if body else {}
        # A session per call: the fake may serve from its own thread and loop (``wenming demo``)
        # while the caller pushes from another, and a session is bound to one loop.
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.request(method, target.url, params=query, data=body or None, headers=headers) as resp,
        ):
            answer = await resp.text()
        self.pushes.append(Push(method, query, body, resp.status, answer))
        return resp.status, answer

    # -- plumbing ------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        body = await _json_body(request)
        self.calls.append(Call(request.path, dict(request.query), body))
        seconds = self._delays.get(request.path)
        if seconds:
            # Wake at stop() so a delayed handler never holds up teardown.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)
        pending = self._failures.get(request.path)
        if pending:
            failure = pending.popleft()
            return _error(failure.errcode, failure.errmsg, status=failure.http_status)
        if body is None and request.can_read_body:
            return _error(47001)
        return await handler(request)

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if not token:
            return _error(41001)
        expires_at = self._tokens.get(token)
        if expires_at is None:
            return _error(40001)
        if expires_at <= time.monotonic():
            return _error(42001)
        return None

    # -- handlers ------------------------------------------------------------

    async def _code2session(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("appid") != self.appid:
            return _error(40013)
        if query.get("secret") != self.secret:
            return _error(40125)
        code = query.get("js_code", "")
        openid = self._codes.pop(code, None) or self._reusable_codes.get(code)
        if openid is None:
            return _error(40029)
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.secrets.add(session_key)
        answer = {"openid": openid, "session_key": session_key}
        if openid in self._unionids:
            answer["unionid"] = self._unionids[openid]
        # The real endpoint labels its JSON text/plain; clients must cope.
        return web.Response(text=json.dumps(answer), content_type="text/plain")

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await _json_body(request) or {}
        if body.get("grant_type") != "client_credential":
            return _error(40002)
        if body.get("appid") != self.appid:
            return _error(40013)
        if body.get("secret") != self.secret:
            return _error(40125)
        now = time.monotonic()
        token = self._current_token
        force = body.get("force_refresh") is True
        if token is None or force or self._tokens[token] <= now:
            if force and token is not None:
                del self._tokens[token]  # a forced refresh retires the previous token
            token = "fake-token-" + secrets.token_urlsafe(24)
            self.secrets.add(token)
            self._tokens[token] = now + self.token_ttl
            self._current_token = token
        expires_in = max(1, int(self._tokens[token] - now))
        return web.json_response({"access_token": token, "expires_in": expires_in})

    async def _phone_number(self, request: web.Request) -> web.Response:
        if (failure := self._token_error(request)) is not None:
            return failure
        code = (await _json_body(request) or {}).get("code")
        issued = self._phone_codes.pop(code, None) if isinstance(code, str) else None
        if issued is None:
            return _error(40029)
        phone, country_code = issued
        # Mainland numbers come without a prefix; others carry their area code.
        full = phone if country_code == "86" else f"+{country_code} {phone}"
        info = {
            "phoneNumber": full,
            "purePhoneNumber": phone,
            "countryCode": country_code,
            "watermark": {"timestamp": int(time.time()), "appid": self.appid},
        }
        return web.json_response({"errcode": 0, "errmsg": "ok", "phone_info": info})

    async def _msg_sec_check(self, request: web.Request) -> web.Response:
        if (failure := self._token_error(request)) is not None:
            return failure
        body = await _json_body(request) or {}
        content = body.get("content")
        if (
            body.get("version") != 2
            or not isinstance(content, str)
            or not body.get("openid")
            or body.get("scene") not in (1, 2, 3, 4)
        ):
            return _error(47001)
        suggest, label, hit = "pass", 100, ""
        for word, (word_suggest, word_label) in FLAGGED_WORDS.items():
            if word in content and (suggest == "pass" or word_suggest == "risky"):
                suggest, label, hit = word_suggest, word_label, word
        detail: dict[str, Any] = {
            "strategy": "keyword" if hit else "content_model",
            "errcode": 0,
            "suggest": suggest,
            "label": label,
        }
        if hit:
            detail.update(level=90, keyword=hit)
        else:
            detail["prob"] = 90
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "trace_id": _trace_id(),
                "result": {"suggest": suggest, "label": label},
                "detail": [detail],
            }
        )

    async def _media_check(self, request: web.Request) -> web.Response:
        if (failure := self._token_error(request)) is not None:
            return failure
        body = await _json_body(request) or {}
        if (
            not body.get("media_url")
            or body.get("media_type") not in (1, 2)
            or body.get("version") != 2
            or not body.get("openid")
        ):
            return _error(47001)
        trace_id = _trace_id()
        self.media_checks.append({**body, "trace_id": trace_id})
        if self.auto_verdict is not None and self._push is not None:
            suggest, delay = self.auto_verdict
            task = asyncio.get_running_loop().create_task(self._push_later(trace_id, suggest, delay))
            self._auto_pushes.add(task)
            task.add_done_callback(self._auto_pushes.discard)
        return web.json_response({"errcode": 0, "errmsg": "ok", "trace_id": trace_id})

    async def _subscribe_send(self, request: web.Request) -> web.Response:
        if (failure := self._token_error(request)) is not None:
            return failure
        body = await _json_body(request) or {}
        data = body.get("data")
        if not body.get("touser") or not body.get("template_id") or not isinstance(data, dict):
            return _error(47001)
        if body["touser"] in self._refused:
            return _error(43101)
        for key, field in data.items():
            value = field.get("value") if isinstance(field, dict) else None
            if not isinstance(value, str):
                return _error(47003, f"argument invalid! data.{key}.value is empty")
            if key.startswith("thing") and len(value) > 20:
                return _error(47003, f"argument invalid! data.{key}.value exceeds limit")
        self.sent_messages.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _wxacode(self, request: web.Request) -> web.Response:
        if (failure := self._token_error(request)) is not None:
            return failure
        body = await _json_body(request) or {}
        scene = body.get("scene")
        if not isinstance(scene, str) or not _SCENE_RE.fullmatch(scene):
            return _error(40169)
        page = body.get("page", "")
        if not isinstance(page, str) or page.startswith("/"):
            return _error(41030)
        width = body.get("width", 430)
        png = _wxacode_png(self.appid, scene, page, width if isinstance(width, int) else 430)
        return web.Response(body=png, content_type="image/png")


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeWeChat(appid=args.appid, secret=args.secret)
    for code in args.code:
        fake.add_reusable_code(code, "o" + hashlib.sha256(code.encode()).hexdigest()[:27])
    print(await fake.start(args.host, args.port), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake WeChat API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--appid", default="wxdemoappid")
    parser.add_argument("--secret", default="demo-secret")
    parser.add_argument(
        "--code",
        action="append",
        default=[],
        help="a reusable wx.login code (repeatable); each maps to a fixed openid",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
