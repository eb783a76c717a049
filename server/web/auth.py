"""Bearer tokens and who may do what."""

from __future__ import annotations

from sanic import Request

from models.orgs import Org
from models.users import User, user_for_token
from server.kernel.errors import Forbidden, Unauthenticated


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


def staff_scope(user: User) -> Org | None:
    """The org subtree a staff user acts in; None means everywhere (admin)."""
    if user.role == "admin":
        return None
    if user.role != "staff" or user.org is None:
        # Staff without an org can see nothing until an admin places them.
        raise Forbidden("您的账号尚未分配组织，请联系管理员")
    return user.org


def in_scope(scope: Org | None, org: Org | None) -> bool:
    """True when ``org`` lies inside ``scope`` (None scope = admin = everything)."""
    if scope is None:
        return True
    return org is not None and org.path.startswith(scope.path)


def may_view(user: User, org: Org, status: str) -> bool:
    """Published and closed campaigns (and their tasks) are public to signed-in people;
    drafts only to staff whose subtree owns them."""
    if status != "draft":
        return True
    return user.is_staff and in_scope(staff_scope(user), org)
