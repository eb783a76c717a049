"""Liveness and readiness for load balancers and systemd."""

from __future__ import annotations

import asyncio

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from tortoise.connection import get_connection

from handlers.schemas import Health
from server.kernel.errors import ServiceUnavailable
from server.web.endpoint import endpoint, json_response
from server.web.services import services_of

bp = Blueprint("health")
CHECK_TIMEOUT = 2.0


@bp.get("/healthz")
@endpoint(summary="进程存活", auth=False, response=Health, tag="ops")
async def healthz(request: Request) -> HTTPResponse:
    """The process is up and its event loop answers."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
@endpoint(summary="依赖就绪", auth=False, response=Health, errors=(ServiceUnavailable,), tag="ops")
async def readyz(request: Request) -> HTTPResponse:
    """The database and, when configured, Redis answer within two seconds."""
    checks = {"database": _database(), "redis": _redis(request)}
    results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    failed = [name for name, ok in results.items() if ok is False]
    if failed:
        raise ServiceUnavailable(f"依赖不可用：{', '.join(failed)}", retry_after=5)
    return json_response({"status": "ok", "checks": {k: "ok" if v else "off" for k, v in results.items()}})


async def _database() -> bool:
    try:
        await asyncio.wait_for(get_connection("default").execute_query("SELECT 1"), CHECK_TIMEOUT)
        return True
    except Exception:
        return False


async def _redis(request: Request) -> bool | None:
    redis = services_of(request).redis
    if redis is None:
        return None
    try:
        await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT)
        return True
    except Exception:
        return False
