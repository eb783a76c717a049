"""Sign-in with WeChat, phone binding, sign-out."""

from __future__ import annotations

import hashlib

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.schemas import CodeIn, LoginOut, UserRead
from models.users import User, bind_phone, issue_token, revoke_token, sign_in_wechat
from server.config import Rate
from server.kernel.crypto import mask_phone
from server.kernel.errors import (
    PhoneCodeInvalid,
    RateLimited,
    WeChatCodeInvalid,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUserBlocked,
)
from server.web.auth import bearer_token
from server.web.endpoint import endpoint, json_response, no_content
from server.web.lifecycle import caller_ip
from server.web.services import Services

bp = Blueprint("auth", url_prefix="/auth")
SAME_CODE_LIMIT = Rate(5, 60)
WECHAT_ERRORS = (WeChatCodeInvalid, WeChatUserBlocked, WeChatRateLimited, WeChatUnavailable)
PHONE_ERRORS = (PhoneCodeInvalid, WeChatUserBlocked, WeChatRateLimited, WeChatUnavailable)


@bp.post("/wechat-login")
@endpoint(
    summary="微信登录",
    auth=False,
    body=CodeIn,
    response=LoginOut,
    errors=(*WECHAT_ERRORS, RateLimited),
    tag="auth",
)
async def wechat_login(request: Request, body: CodeIn, services: Services) -> HTTPResponse:
    """Exchange a wx.login code for a bearer token; the first sign-in creates the person."""
    await services.limiter.hit("signin", caller_ip(request), services.config.limit_signin)
    # A wx.login code is good once: trying one again and again is probing (from any address).
    code_key = hashlib.sha256(body.code.encode()).hexdigest()[:32]
    await services.limiter.hit("signin-code", code_key, SAME_CODE_LIMIT)
    session = await services.wechat.code2session(body.code)
    user, _ = await sign_in_wechat(session.openid, session.unionid, services.vault.encrypt(session.session_key))
    await user.fetch_related("org")
    token = await issue_token(user, services.config.token_ttl)
    return json_response(
        LoginOut(token=token, expires_in=services.config.token_ttl, user=UserRead.of(user, services.storage))
    )


@bp.post("/phone")
@endpoint(summary="绑定手机号", body=CodeIn, response=UserRead, errors=PHONE_ERRORS, tag="auth")
async def phone(request: Request, user: User, body: CodeIn, services: Services) -> HTTPResponse:
    """Bind the phone number WeChat verified (getPhoneNumber code); shown masked."""
    vault = services.vault
    info = await services.wechat.get_phone_number(body.code)
    number = info.pure_phone_number
    await bind_phone(
        user,
        phone_enc=vault.encrypt(number),
        phone_hash=vault.lookup_hash(number),
        phone_masked=mask_phone(number),
    )
    return json_response(UserRead.of(user, services.storage))


@bp.post("/logout")
@endpoint(summary="退出登录", status=204, tag="auth")
async def logout(request: Request, user: User) -> HTTPResponse:
    """Revoke the token of this request at once."""
    await revoke_token(bearer_token(request) or "")
    return no_content()
