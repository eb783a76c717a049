"""WeChat's message push: the URL check and media-check verdicts."""

from __future__ import annotations

import logging

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text

from models.submissions import apply_media_verdict
from server.errors import InvalidRequest, NotFound
from server.http import endpoint
from server.push import PushRejected, PushVerifier, media_verdict

bp = Blueprint("wechat", url_prefix="/wechat")
log = logging.getLogger("wenming.push")


def _verifier(request: Request) -> PushVerifier:
    verifier: PushVerifier | None = request.app.ctx.push
    if verifier is None:
        raise NotFound("未配置微信消息推送")
    return verifier


@bp.get("/push")
@endpoint(summary="微信消息推送地址校验", auth=False, errors=(PushRejected, NotFound), tag="wechat")
async def url_check(request: Request) -> HTTPResponse:
    """Answers WeChat's server URL check with `echostr` when the signature is ours."""
    return text(_verifier(request).url_check(request.args))


@bp.post("/push")
@endpoint(summary="微信消息推送", auth=False, errors=(PushRejected, NotFound, InvalidRequest), tag="wechat")
async def receive(request: Request) -> HTTPResponse:
    """Signed events from WeChat (plain or safe mode, XML or JSON); media-check verdicts are applied."""
    event = await _verifier(request).event(request.args, request.body, request.headers.get("content-type", ""))
    verdict = media_verdict(event)
    if verdict is not None and not await apply_media_verdict(*verdict):
        log.info("media-check verdict for an unknown trace id %s", verdict[0])
    return text("success")
