"""WeChat's message push: the URL check and media-check verdicts."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text
from sanic_ext.extensions.openapi import openapi

from models.submissions import apply_media_verdict
from server.kernel.errors import InvalidRequest, NotFound, PayloadTooLarge
from server.web.endpoint import endpoint
from server.web.services import services_of
from server.wechat.push import PushRejected, PushVerifier, media_verdict

bp = Blueprint("wechat", url_prefix="/wechat")
log = logging.getLogger("wenming.push")
# Events come as XML or JSON, plain or encrypted ({"ToUserName", "Encrypt"}): the signature decides.
PUSH_BODY = {
    "application/json": {"schema": {"type": "object", "additionalProperties": True}},
    "text/xml": {"schema": {"type": "string"}},
}


class PushQuery(BaseModel):
    """What WeChat signs a push with; every field optional here, since a missing one is a 403, not a 400."""

    model_config = ConfigDict(extra="ignore")
    signature: str | None = None
    timestamp: str | None = None
    nonce: str | None = None
    echostr: str | None = None
    encrypt_type: str | None = None
    msg_signature: str | None = None
    openid: str | None = None


def _verifier(request: Request) -> PushVerifier:
    verifier: PushVerifier | None = services_of(request).push
    if verifier is None:
        raise NotFound("未配置微信消息推送")
    return verifier


@bp.get("/push")
@endpoint(
    summary="微信消息推送地址校验",
    auth=False,
    query=PushQuery,
    errors=(PushRejected, NotFound),
    produces=("text/plain",),
    tag="wechat",
)
async def url_check(request: Request, query: PushQuery) -> HTTPResponse:
    """Answers WeChat's server URL check with `echostr` when the signature is ours."""
    return text(await _verifier(request).url_check(query.model_dump(exclude_none=True)))


@bp.post("/push")
@openapi.body(PUSH_BODY, required=True)
@endpoint(
    summary="微信消息推送",
    auth=False,
    query=PushQuery,
    errors=(PushRejected, NotFound, InvalidRequest, PayloadTooLarge),
    produces=("text/plain",),
    tag="wechat",
)
async def receive(request: Request, query: PushQuery) -> HTTPResponse:
    """Signed events from WeChat (plain or safe mode, XML or JSON); media-check verdicts are applied."""
    args = query.model_dump(exclude_none=True)
    event = await _verifier(request).event(args, request.body, request.headers.get("content-type", ""))
    verdict = media_verdict(event)
    if verdict is not None and not await apply_media_verdict(*verdict):
        log.info("media-check verdict for an unknown trace id %s", verdict[0])
    return text("success")
