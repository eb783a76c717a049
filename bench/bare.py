"""A bare Sanic app with one JSON endpoint: the floor ``bench.leaderboard`` compares ``GET /leaderboard`` with.

``GET /board`` answers 200 with the JSON document in the file ``BENCH_BARE_BODY`` names (read once at start,
serialised with orjson on every request, as wenming serialises each answer), or without it a built-in
leaderboard-shaped document of 50 rows. ``GET /healthz`` answers 200. No middleware, no database, no auth.
sanic-ext is installed, so Sanic loads it by itself when the server starts (``AUTO_EXTEND``), with all its
built-in extensions (dependency injection, CORS, OpenAPI routes): the floor every ratio here was measured
against, the issue's figures included; no route of this app uses it. It is served the way ``wenming serve``
serves (``server.cli.run_server``: Sanic's worker manager,
access log and banner off), so the two differ in what a request does, not in how the process runs::

    python -m bench.bare [--port 8001] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

BODY_ENV = "BENCH_BARE_BODY"
JSON_TYPE = "application/json; charset=utf-8"  # what wenming sends (server.kernel.errors.JSON_TYPE)


def default_body(rows: int = 50) -> dict[str, Any]:
    """A document shaped like ``BoardOut``: scope, ``rows`` ranked people with their village, and ``me``."""
    items = [
        {
            "rank": i + 1,
            "user": {
                "id": str(1000 + i),
                "nickname": f"志愿者{100000 + i}",
                "avatar_url": None,
                "org": {"id": str(100 + i % 20), "name": f"第{i % 20 + 1:02d}村", "kind": "village", "parent_id": "2"},
            },
            "points": 10_000 - 37 * i,
            "is_me": False,
        }
        for i in range(rows)
    ]
    return {"scope": "all", "items": items, "me": {"rank": 4321, "points": 120}}


def create_app() -> Sanic:
    path = os.environ.get(BODY_ENV)
    body = orjson.loads(Path(path).read_bytes()) if path else default_body()
    app = Sanic("bare")

    @app.get("/board")
    async def board(request: Request) -> HTTPResponse:
        return HTTPResponse(orjson.dumps(body), content_type=JSON_TYPE)

    @app.get("/healthz")
    async def healthz(request: Request) -> HTTPResponse:
        return HTTPResponse(b'{"status":"ok"}', content_type=JSON_TYPE)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    from bench.bare import create_app as factory  # by its module name: worker processes import it again

    loader = AppLoader(factory=factory)
    app = loader.load()
    app.prepare(host=args.host, port=args.port, workers=args.workers, access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
