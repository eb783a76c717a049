"""The app factory: wires config, connections, handlers and error rendering."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import orjson
from redis.asyncio import Redis
from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.models.server_types import ConnInfo
from sanic.response import HTTPResponse

import handlers
from media.storage import INCOMING_DIR, LocalStorage, Storage, UrlSigner
from models.rankings import Rankings
from server.config import Config
from server.kernel.crypto import Vault, derive_key
from server.kernel.errors import JSON_TYPE, ApiError, InternalError, ServiceUnavailable
from server.kernel.ids import ID_PATTERN, route_id
from server.runtime.background import Background
from server.runtime.db import close_db, describe, init_db, lost_database
from server.runtime.jobs import Jobs, job_context
from server.runtime.observability import (
    CLIENT_CLOSED,
    connection_closed,
    metrics_allowlist,
    process_stopped,
    request_finished,
    request_started,
    route_of,
)
from server.web.certcache import CertificateDrawings
from server.web.imagebudget import ImageBudget
from server.web.ratelimit import RateLimiter
from server.wechat.client import MemoryTokenStore, RedisTokenStore, WeChatClient
from server.wechat.codes import QrCodeCache
from server.wechat.push import NonceGuard, PushVerifier

logger = logging.getLogger("wenming")

# Sanic's own exceptions, rendered in the contract's shape with stable codes.
_FRAMEWORK_CODES = {
    400: ("invalid_request", "请求无效"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    408: ("request_timeout", "请求超时，请重试"),
    413: ("payload_too_large", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    416: ("range_not_satisfiable", "请求的范围无效"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}
JSON_BODY_LIMIT = 1024 * 1024
DATABASE_RETRY_AFTER_S = 2
IMAGE_THREADS = 2
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def create_app(config: Config | None = None, *, name: str = "wenming") -> Sanic:
    config = config or Config.from_env()
    # OpenAPI's response maps are keyed by int status codes. Logging is ours (server.runtime.observability):
    # Sanic must not add its plain-text stdout handlers.
    app = Sanic(name, dumps=_dumps, loads=orjson.loads, configure_logging=False)
    app.ctx.config = config
    app.ctx.metrics_allow = metrics_allowlist()
    app.config.REQUEST_MAX_SIZE = JSON_BODY_LIMIT
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.OAS_UI_DEFAULT = "swagger"
    app.config.OAS_URL_PREFIX = "/docs"
    app.config.OAS_UI_REDOC = False
    app.ext.openapi.describe("wenming API", version="1", description="网络文明志愿服务小程序后端接口")
    app.ext.openapi.add_security_scheme("token", "http", scheme="bearer")
    # <name:id> path segments: out-of-range ids are no match (404), never a database error.
    app.router.register_pattern("id", route_id, ID_PATTERN)
    app.blueprint(handlers.api)
    app.blueprint(handlers.root)
    app.error_handler.add(Exception, render_error)
    # The signal starts every routed request before its body is read; the middleware catches the
    # rest (a malformed head answered straight from the error handler). Whichever runs first wins.
    app.add_signal(_request_context, "http.lifecycle.handle")
    app.register_middleware(_request_context, "request")
    app.register_middleware(_stamp_request_id, "response")
    app.add_signal(_request_answered, "http.lifecycle.response")
    app.add_signal(_connection_closed, "http.lifecycle.complete")
    app.register_listener(_start, "before_server_start")
    app.register_listener(_stop, "after_server_stop")
    return app


async def _start(app: Sanic) -> None:
    config: Config = app.ctx.config
    await init_db(config.database_url)
    app.ctx.redis = Redis.from_url(config.redis_url) if config.redis_url else None
    app.ctx.http = aiohttp.ClientSession(json_serialize=lambda o: orjson.dumps(o).decode())
    tokens = RedisTokenStore(app.ctx.redis, config.wechat_appid) if app.ctx.redis else MemoryTokenStore()
    app.ctx.wechat = WeChatClient(
        appid=config.wechat_appid,
        secret=config.wechat_secret,
        api_base=config.wechat_api_base,
        session=app.ctx.http,
        tokens=tokens,
        timeout=config.wechat_timeout,
    )
    app.ctx.vault = Vault(config.secret_key)
    app.ctx.scene_key = derive_key(config.secret_key, "checkin-scene-v1")
    app.ctx.qrcodes = QrCodeCache(app.ctx.wechat, app.ctx.redis)
    app.ctx.limiter = RateLimiter(app.ctx.redis)
    app.ctx.incoming = os.path.join(config.media_root, INCOMING_DIR)
    app.ctx.signer = UrlSigner(
        derive_key(config.secret_key, "media-url-v1"), config.public_base_url, config.media_url_ttl
    )
    app.ctx.storage = make_storage(config, app.ctx.signer)
    # Pillow releases the GIL while it decodes, resizes and encodes to a file: threads use the cores.
    app.ctx.image_pool = ThreadPoolExecutor(max_workers=IMAGE_THREADS, thread_name_prefix="image")
    app.ctx.image_budget = ImageBudget(
        app.ctx.image_pool, app.ctx.redis, concurrency=config.image_concurrency, cpu=config.image_cpu
    )
    app.ctx.certificates = CertificateDrawings(app.ctx.image_budget, app.ctx.limiter, config.limit_certificate)
    app.ctx.background = Background()
    app.ctx.rankings = Rankings(app.ctx.redis, spawn=app.ctx.background.spawn)
    app.ctx.jobs = Jobs(config.redis_url, job_context(config, app.ctx.wechat), app.ctx.background)
    await app.ctx.jobs.start()
    app.ctx.push = None
    if config.push_token:
        nonces = NonceGuard(app.ctx.redis)
        app.ctx.push = PushVerifier(config.push_token, config.push_aes_key, config.wechat_appid, nonces)


async def _stop(app: Sanic) -> None:
    await app.ctx.background.drain()
    await app.ctx.jobs.close()
    app.ctx.image_pool.shutdown(wait=True)
    await app.ctx.http.close()
    if app.ctx.redis is not None:
        await app.ctx.redis.aclose()
    await close_db()
    process_stopped()


async def _request_context(request: Request) -> None:
    if hasattr(request.ctx, "request_id"):
        return
    given = request.headers.get("x-request-id", "")
    # Echo a client's id only when it is harmless in logs and headers.
    request.ctx.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    request.ctx.client_ip = client_ip(request, request.app.ctx.config.trusted_proxies)
    # Every log line from here on (ORM, WeChat client, errors) carries the id.
    request_started(request, request.ctx.request_id)


async def _request_answered(request: Request, response: HTTPResponse) -> None:
    gone = request.conn_info is not None and request.conn_info.lost
    request_finished(request, CLIENT_CLOSED if gone else response.status)


async def _connection_closed(conn_info: ConnInfo) -> None:
    connection_closed(conn_info)


async def _stamp_request_id(request: Request, response: HTTPResponse) -> None:
    # Lets a volunteer's screenshot of an error be matched to the server log.
    response.headers.setdefault("X-Request-Id", getattr(request.ctx, "request_id", ""))


def make_storage(config: Config, signer: UrlSigner | None = None) -> Storage:
    """Where photos live: the local folder, or an S3-compatible bucket (``WENMING_STORAGE``)."""
    if config.storage == "s3" and config.s3 is not None:
        from media.s3 import S3Storage

        s3 = config.s3
        return S3Storage(
            endpoint_url=s3.endpoint,
            bucket=s3.bucket,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            region=s3.region,
            prefix=s3.prefix,
            signer=signer,
            addressing_style=s3.addressing_style,
        )
    return LocalStorage(config.media_root, signer)


def client_ip(request: Request, trusted: tuple[Any, ...]) -> str:
    """The caller's address; X-Forwarded-For is believed only from configured proxies."""
    peer = request.conn_info.client_ip if request.conn_info else ""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    # Walk from the nearest hop back; the first untrusted address is the client.
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def render_error(request: Request, exc: Exception) -> HTTPResponse:
    """Every error, ours or the framework's, as {"error": {"code", "message", "details"?}}."""
    if isinstance(exc, ApiError):
        error = exc
    elif isinstance(exc, asyncio.CancelledError):
        # The client hung up (or the worker is stopping): no fault of ours, and nobody may read this.
        error = ServiceUnavailable()
    elif isinstance(exc, SanicException) and exc.status_code in _FRAMEWORK_CODES:
        code, message = _FRAMEWORK_CODES[exc.status_code]
        error = ApiError(message)
        error.status, error.code = exc.status_code, code
        if exc.status_code == 405:
            error.headers = dict(getattr(exc, "headers", {}) or {})
    elif (cause := lost_database(exc)) is not None:
        # Down or restarting: one line, not a traceback per request; the pool reconnects by itself.
        logger.warning("database unavailable on %s %s: %s", request.method, route_of(request), describe(cause))
        error = ServiceUnavailable("数据库暂时不可用，请稍后再试", retry_after=DATABASE_RETRY_AFTER_S)
    else:
        # The route template, not the path: paths carry ids, the request id leads to the access line.
        logger.exception("unhandled error on %s %s", request.method, route_of(request))
        error = InternalError()
    headers = {**error.headers, "X-Request-Id": getattr(request.ctx, "request_id", "")}
    return HTTPResponse(orjson.dumps(error.to_body()), status=error.status, headers=headers, content_type=JSON_TYPE)
