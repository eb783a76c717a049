"""The API docs page at /docs: Swagger UI served by the service itself, from the swagger-ui-py package.

Office networks of the county's bureaus often block public CDNs, so nothing the page needs may come
from another host: the UI's own files are the package's copy of swagger-ui's dist, and the page's
Content-Security-Policy lets the browser load nothing from elsewhere. The document itself stays
sanic-ext's, at /docs/openapi.json.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from sanic import Request, Sanic
from sanic.response import HTTPResponse, file, html
from sanic_ext.extensions.openapi import openapi

from server.kernel.errors import NotFound

PREFIX = "/docs"
SPEC_URL = f"{PREFIX}/openapi.json"
STATIC = Path(swagger_ui.__file__).parent / "static"
# The files the page uses, and nothing else of the package (it also ships an editor and a demo
# initializer that points at a public sample spec).
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
# The UI inlines styles and shows images as data: URIs; scripts, styles and fetches stay on this host.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
CACHE_S = 3600

PAGE = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>网络文明志愿服务 API 文档</title>
<link rel="stylesheet" href="{PREFIX}/static/swagger-ui.css">
<link rel="icon" type="image/png" sizes="32x32" href="{PREFIX}/static/favicon-32x32.png">
<link rel="icon" type="image/png" sizes="16x16" href="{PREFIX}/static/favicon-16x16.png">
</head>
<body>
<noscript>API 文档需要启用 JavaScript；原始文档见 <a href="{SPEC_URL}">{SPEC_URL}</a>。</noscript>
<div id="swagger-ui"></div>
<script src="{PREFIX}/static/swagger-ui-bundle.js"></script>
<script src="{PREFIX}/static/docs.js"></script>
</body>
</html>
"""

# A file, not an inline script, so that the CSP can forbid inline scripts. `validatorUrl: null`
# keeps the UI from sending the document to the public online validator for its badge.
SETUP = f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: "{SPEC_URL}",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    defaultModelExpandDepth: 2,
    displayRequestDuration: true,
    persistAuthorization: true,
    validatorUrl: null
  }});
}});
"""


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={CACHE_S}", "X-Content-Type-Options": "nosniff", **(extra or {})}


@openapi.exclude()
async def docs_page(request: Request) -> HTTPResponse:
    """The Swagger UI page, reading the service's own document."""
    return html(PAGE, headers=_headers({"Content-Security-Policy": CSP}))


@openapi.exclude()
async def docs_setup(request: Request) -> HTTPResponse:
    """The page's start-up script: which document to show, and how."""
    return HTTPResponse(SETUP, content_type="text/javascript; charset=utf-8", headers=_headers())


@openapi.exclude()
async def docs_asset(request: Request, name: str) -> HTTPResponse:
    """One of Swagger UI's own files, from the installed package."""
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound("没有这个文档资源")
    return await file(
        STATIC / name, mime_type=content_type, max_age=CACHE_S, headers={"X-Content-Type-Options": "nosniff"}
    )


def install(app: Sanic) -> None:
    """Serve the page and its files under /docs, beside sanic-ext's /docs/openapi.json."""
    # sanic-ext's start-up banner links to its UI by the route name `openapi.index`: ours takes it.
    app.add_route(docs_page, PREFIX, name="openapi.index", strict_slashes=False)
    app.add_route(docs_setup, f"{PREFIX}/static/docs.js", name="docs_setup")
    app.add_route(docs_asset, f"{PREFIX}/static/<name>", name="docs_asset")
