"""Bearer tokens: who is calling (what they may do is ``server.web.permissions``)."""

from __future__ import annotations

from sanic import Request

from models.users import User, user_for_token
from server.kernel.errors import Unauthenticated


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(request: Request) -> User:
    """The signed-in user of this request, or 401."""
    cached = getattr(request.ctx, "user", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    # Real tokens are 43 url-safe characters; anything far off is not worth a query.
    if token is None or len(token) > 128:
        raise Unauthenticated()
    user = await user_for_token(token)
    if user is None:
        raise Unauthenticated("登录已失效，请重新登录")
    request.ctx.user = user
    return user
