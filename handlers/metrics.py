"""Prometheus metrics for the scraper: request and WeChat-call counts and latencies."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from server.kernel.errors import Forbidden
from server.runtime.observability import forwarding_unverified, render_metrics, scrape_allowed
from server.web.endpoint import endpoint
from server.web.lifecycle import caller_ip
from server.web.services import services_of

bp = Blueprint("metrics")


@bp.get("/metrics")
@endpoint(
    summary="运行指标（Prometheus 文本格式）", auth=False, errors=(Forbidden,), produces=("text/plain",), tag="ops"
)
async def metrics(request: Request) -> HTTPResponse:
    """Counters and latency histograms by route template and WeChat API; only callers in WENMING_METRICS_ALLOW."""
    client = caller_ip(request)
    allowed = scrape_allowed(
        client, services_of(request).metrics_allow, unverified_forwarding=forwarding_unverified(request, client)
    )
    if not allowed:
        raise Forbidden("仅允许监控系统读取运行指标")
    body, content_type = render_metrics()
    return HTTPResponse(body, content_type=content_type)
