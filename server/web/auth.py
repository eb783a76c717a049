"""Bearer tokens: who is calling (what they may do is ``server.web.permissions``)."""

from __future__ import annotations

from sanic import Request

from models.users import User, token_holder
from server.kernel.clock import now_utc
from server.kernel.errors import Unauthenticated
from server.web.services import services_of


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
    people = services_of(request).caches.people
    held = people.get(token)
    now = now_utc()
    if held is None:
        ticket = people.ticket()
        held = await token_holder(token)
        if held is not None:
            people.put(token, held, ticket, ttl=(held[1] - now).total_seconds())
    if held is None or held[1] <= now:
        raise Unauthenticated("登录已失效，请重新登录")
    # A copy: a handler may change its caller's fields, never another request's. (The fields' own
    # values are not copied, as with copy.copy, at a quarter of its cost.)
    user = object.__new__(User)
    user.__dict__.update(held[0].__dict__)
    request.ctx.user = user
    return user
