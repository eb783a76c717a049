"""The app factory: wires config, connections, handlers and error rendering."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import aiohttp
import orjson
from redis.asyncio import Redis
from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse
from sanic_ext import Extend
from sanic_ext.extensions.http.extension import HTTPExtension
from sanic_ext.extensions.openapi.extension import OpenAPIExtension
from sanic_ext.extensions.templating.extension import TemplatingExtension

import handlers
from media.storage import INCOMING_DIR, LocalStorage, Storage, UrlSigner
from models.rankings import Rankings
from server import console
from server.config import Config
from server.console.render import error_page
from server.kernel.crypto import Vault, derive_key
from server.kernel.errors import (
    JSON_TYPE,
    ApiError,
    Forbidden,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RangeNotSatisfiable,
    RequestTimeout,
    ServiceUnavailable,
    Unauthenticated,
    UnsupportedMediaType,
)
from server.kernel.ids import ID_PATTERN, route_id
from server.runtime.background import Background
from server.runtime.changes import CHANGES, SqliteWatch
from server.runtime.db import close_db, describe, init_db, lost_database
from server.runtime.effects import Effects
from server.runtime.jobs import Jobs, job_context
from server.runtime.observability import (
    access_lines,
    metrics_allowlist,
    process_stopped,
    route_of,
)
from server.runtime.subscriber import Subscriber
from server.web import glossary, swagger
from server.web.caches import Caches
from server.web.certcache import CertificateDrawings
from server.web.imagebudget import ImageBudget
from server.web.imagepool import ImagePool
from server.web.intake import UploadGate
from server.web.lifecycle import TrackedRequest, connection_closed
from server.web.ratelimit import RateLimiter
from server.web.services import Services
from server.wechat.client import MemoryTokenStore, RedisTokenStore, WeChatClient
from server.wechat.codes import QrCodeCache
from server.wechat.push import NonceGuard, PushVerifier

logger = logging.getLogger("wenming")

# Sanic's own exceptions are rendered as the error of their status.
_FRAMEWORK_ERRORS = {
    cls.status: cls
    for cls in (
        InvalidRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        PayloadTooLarge,
        UnsupportedMediaType,
        RangeNotSatisfiable,
        ServiceUnavailable,
    )
}
JSON_BODY_LIMIT = 1024 * 1024
DATABASE_RETRY_AFTER_S = 2


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


class ServiceRequest(TrackedRequest):
    """The service's request: started and finished by ``TrackedRequest``; pages for people get their headers."""

    __slots__ = ()

    def finish_headers(self, response: HTTPResponse) -> None:
        console.security_headers(self, response)


def create_app(config: Config | None = None, *, name: str = "wenming") -> Sanic:
    config = config or Config.from_env()
    # OpenAPI's response maps are keyed by int status codes. Logging is ours (server.runtime.observability):
    # Sanic must not add its plain-text stdout handlers.
    app = Sanic(name, dumps=_dumps, loads=orjson.loads, configure_logging=False, request_class=ServiceRequest)
    app.ctx.config = config
    app.config.REQUEST_MAX_SIZE = JSON_BODY_LIMIT
    app.config.FALLBACK_ERROR_FORMAT = "json"
    # sanic-ext serves the document only; the page and its files are ours (server.web.swagger):
    # its own UI loads them from a CDN. Docstrings are English notes for developers, not docs.
    app.config.OAS_URL_PREFIX = swagger.PREFIX
    app.config.OAS_UI_DEFAULT = None
    app.config.OAS_UI_SWAGGER = False
    app.config.OAS_UI_REDOC = False
    app.config.OAS_AUTODOC = False
    # Of sanic-ext: the document, automatic HEAD and OPTIONS, the console's templates. Not its
    # dependency injection and CORS, which would run on every request for nothing here.
    app.config.CORS = False
    Extend(app, extensions=[OpenAPIExtension, HTTPExtension, TemplatingExtension], built_in_extensions=False)
    app.ext.openapi.describe("网络文明志愿服务 API", version="1", description=glossary.API_DESCRIPTION)
    for tag, text in glossary.TAGS.items():
        app.ext.openapi.tag(tag, text)
    app.ext.openapi.add_security_scheme("token", "http", scheme="bearer")
    # <name:id> path segments: out-of-range ids are no match (404), never a database error.
    app.router.register_pattern("id", route_id, ID_PATTERN)
    app.blueprint(handlers.api)
    app.blueprint(handlers.root)
    swagger.install(app)
    console.install(app)
    app.error_handler.add(Exception, render_error)
    # Each request is started and finished by its class (server.web.lifecycle), not by signals.
    access_lines(config.access_log)
    app.add_signal(connection_closed, "http.lifecycle.complete")
    app.register_listener(_start, "before_server_start")
    app.register_listener(_stop, "after_server_stop")
    return app


async def _start(app: Sanic) -> None:
    app.ctx.services = await build_services(app.ctx.config)


async def build_services(config: Config) -> Services:
    """Connections, pools and clients of one worker (the composition root)."""
    await init_db(config.database_url, config.redis_url)
    redis = Redis.from_url(config.redis_url) if config.redis_url else None
    subscriber = Subscriber(config.redis_url, CHANGES) if config.redis_url else None
    if subscriber is not None:
        await subscriber.start()
    sqlite_watch = SqliteWatch(CHANGES) if subscriber is None and config.database_url.startswith("sqlite") else None
    if sqlite_watch is not None:
        sqlite_watch.start()
    http = aiohttp.ClientSession(json_serialize=lambda o: orjson.dumps(o).decode())
    wechat = WeChatClient(
        appid=config.wechat_appid,
        secret=config.wechat_secret,
        api_base=config.wechat_api_base,
        session=http,
        tokens=RedisTokenStore(redis, config.wechat_appid) if redis else MemoryTokenStore(),
        timeout=config.wechat_timeout,
    )
    signer = UrlSigner(derive_key(config.secret_key, "media-url-v1"), config.public_base_url, config.media_url_ttl)
    incoming = os.path.join(config.media_root, INCOMING_DIR)
    background = Background()
    rankings = Rankings(redis, spawn=background.spawn)
    jobs = Jobs(config.redis_url, job_context(config, wechat), background)
    await jobs.start()
    push = None
    if config.push_token:
        push = PushVerifier(config.push_token, config.push_aes_key, config.wechat_appid, NonceGuard(redis))
    image_pool = ImagePool()
    image_pool.start()
    image_budget = ImageBudget(image_pool, redis, concurrency=config.image_concurrency, cpu=config.image_cpu)
    limiter = RateLimiter(redis)
    return Services(
        config=config,
        redis=redis,
        http=http,
        wechat=wechat,
        vault=Vault(config.secret_key),
        scene_key=derive_key(config.secret_key, "checkin-scene-v1"),
        share_key=derive_key(config.secret_key, "share-ref-v1"),
        qrcodes=QrCodeCache(wechat, redis),
        limiter=limiter,
        signer=signer,
        storage=make_storage(config, signer),
        incoming=incoming,
        uploads=UploadGate(config, redis, incoming),
        image_pool=image_pool,
        image_budget=image_budget,
        certificates=CertificateDrawings(image_budget, limiter, config.limit_certificate),
        background=background,
        rankings=rankings,
        jobs=jobs,
        effects=Effects(rankings, jobs),
        push=push,
        metrics_allow=metrics_allowlist(),
        caches=Caches(CHANGES),
        subscriber=subscriber,
        sqlite_watch=sqlite_watch,
    )


async def _stop(app: Sanic) -> None:
    services: Services = app.ctx.services
    await services.background.drain()
    await services.jobs.close()
    services.caches.close()
    if services.subscriber is not None:
        await services.subscriber.close()
    if services.sqlite_watch is not None:
        await services.sqlite_watch.close()
    services.image_pool.shutdown(wait=True)
    await services.http.close()
    if services.redis is not None:
        await services.redis.aclose()
    await close_db()
    process_stopped()


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


async def render_error(request: Request, exc: Exception) -> HTTPResponse:
    """Every error, ours or the framework's, as {"error": {"code", "message", "details"?}};
    on the console's pages as a Chinese page (or an htmx fragment) instead."""
    error = api_error(request, exc)
    if request.path.startswith(console.PREFIX + "/") or request.path == console.PREFIX:
        try:
            return await error_page(request, error)
        except Exception:  # the page itself failed: the plain error shape, never a traceback
            logger.exception("console error page failed on %s %s", request.method, route_of(request))
    headers = {**error.headers, "X-Request-Id": getattr(request.ctx, "request_id", "")}
    return HTTPResponse(orjson.dumps(error.to_body()), status=error.status, headers=headers, content_type=JSON_TYPE)


def api_error(request: Request, exc: Exception) -> ApiError:
    """What any exception means to the caller, as one of ours."""
    if isinstance(exc, ApiError):
        error = exc
    elif isinstance(exc, asyncio.CancelledError):
        # The client hung up (or the worker is stopping): no fault of ours, and nobody may read this.
        error = ServiceUnavailable()
    elif isinstance(exc, SanicException) and exc.status_code in _FRAMEWORK_ERRORS:
        error = _FRAMEWORK_ERRORS[exc.status_code]()
        if exc.status_code == 405:  # Allow: names the methods that would work
            error.headers = dict(getattr(exc, "headers", {}) or {})
    elif (cause := lost_database(exc)) is not None:
        # Down or restarting: one line, not a traceback per request; the pool reconnects by itself.
        logger.warning("database unavailable on %s %s: %s", request.method, route_of(request), describe(cause))
        error = ServiceUnavailable("数据库暂时不可用，请稍后再试", retry_after=DATABASE_RETRY_AFTER_S)
    else:
        # The route template, not the path: paths carry ids, the request id leads to the access line.
        logger.exception("unhandled error on %s %s", request.method, route_of(request))
        error = InternalError()
    return error
