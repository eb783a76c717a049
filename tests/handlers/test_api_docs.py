"""What a frontend developer meets first: /docs works on a network that blocks public CDNs."""

from __future__ import annotations

import re

ASSET_TYPES = {".css": "text/css", ".js": "javascript", ".png": "image/png"}
# Everything a page can load: src/href attributes, CSS url(), and script-side URLs.
_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)|url\s*:\s*["']([^"']+)["']""")


async def test_docs_page_loads_nothing_from_another_host(api):
    page = await api.call("GET", "/docs")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    # The browser enforces it too: the page's policy names this host only.
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "http" not in policy
    refs = [next(g for g in m.groups() if g) for m in _REFERENCES.finditer(page.body)]
    assert "/docs/openapi.json" in refs
    for ref in refs:
        assert not re.match(r"^(?:[a-z]+:)?//", ref, re.I), f"/docs loads {ref} from another host"
    assets = [ref for ref in refs if ref.endswith(tuple(ASSET_TYPES))]
    assert {ref.rsplit(".", 1)[-1] for ref in assets} >= {"css", "js"}
    for ref in assets:
        reply = await api.call("GET", ref)
        assert reply.status == 200, ref
        expected = ASSET_TYPES["." + ref.rsplit(".", 1)[-1]]
        assert expected in reply.headers["Content-Type"], (ref, reply.headers["Content-Type"])


async def test_the_ui_calls_no_other_host_at_run_time(api):
    """Swagger UI's defaults would fetch a demo spec and send ours to an online validator."""
    page = (await api.call("GET", "/docs")).body
    scripts = [m.group(1) for m in re.finditer(r"""<script[^>]*src=["']([^"']+)""", page)]
    setup = "".join([page, *[(await api.call("GET", src)).body for src in scripts if "bundle" not in src]])
    assert "petstore" not in setup
    assert re.search(r"validatorUrl\s*:\s*null", setup), "the online validator badge is not turned off"
