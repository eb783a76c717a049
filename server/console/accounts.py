"""账号审核: staff verify or reject the platform accounts of the people of their subtree.

The same operations as the API (``GET /accounts``, ``POST /accounts/{id}/verify``): the listing is
``models.accounts.accounts_page`` with the caller's scope, the decision ``decide_account`` (same
scope, same audit entry).
"""

from __future__ import annotations

from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.account_schemas import AccountDecisionIn, AccountQuery
from models.accounts import PLATFORM_NAMES, PlatformAccount, accounts_page, decide_account
from models.console import ConsoleSession
from models.users import User
from server.console.forms import field_errors, validate
from server.console.guard import console_page
from server.console.render import page
from server.kernel.errors import InvalidRequest
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.permissions import staff_scope

bp = Blueprint("console_accounts", url_prefix="/console/accounts")
PAGE_SIZE = 20
STATUS_NAMES = {"pending": "待审核", "verified": "已通过", "rejected": "未通过", "all": "全部"}


def _args(request: Request) -> dict[str, str]:
    args = {name: request.args.get(name, "").strip() for name in ("status", "platform", "cursor")}
    args["status"] = args["status"] or "pending"
    return args


def _url(args: dict[str, str], **changes: str | None) -> str:
    wanted = {**args, **changes}
    if wanted.get("status") == "pending":
        wanted["status"] = ""
    query = urlencode({k: v for k, v in wanted.items() if v})
    return f"/console/accounts?{query}" if query else "/console/accounts"


async def _page_of(user: User, query: AccountQuery) -> tuple[list[PlatformAccount], str | None]:
    scope = staff_scope(user)
    rows = await accounts_page(
        scope_path=scope.path if scope else None,
        status=query.status,
        platform=query.platform,
        before_id=decode_id_cursor(query.cursor),
        limit=PAGE_SIZE,
    )
    return split_page(rows, PAGE_SIZE)


@bp.get("")
@console_page
async def accounts(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    args = _args(request)
    errors: dict[str, str] = {}
    rows: list[PlatformAccount] = []
    next_cursor = None
    status = 200
    wanted = {k: v for k, v in args.items() if v and not (k == "status" and v == "all")}
    try:
        rows, next_cursor = await _page_of(user, validate(AccountQuery, wanted))
    except InvalidRequest as exc:
        errors, status = _filter_errors(field_errors(exc) or {"cursor": exc.message}), 400
    return await page(
        request,
        "accounts.html",
        status=status,
        title="账号审核",
        args=args,
        errors=errors,
        accounts=rows,
        platforms=PLATFORM_NAMES,
        statuses=STATUS_NAMES,
        next_url=_url(args, cursor=next_cursor) if next_cursor else None,
        first_url=_url(args, cursor=None) if args["cursor"] else None,
        filtered=args["status"] != "pending" or bool(args["platform"]),
    )


def _filter_errors(errors: dict[str, str]) -> dict[str, str]:
    """A select's bad value as staff read it."""
    if "status" in errors:
        errors["status"] = "请从列表中选择状态"
    if "platform" in errors:
        errors["platform"] = "请从列表中选择平台"
    if "cursor" in errors:
        errors["cursor"] = "分页位置无效"
    return errors


@bp.post("/<account_id:int>/verify")
@console_page
async def verify(request: Request, account_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """通过 or 拒绝 (``decision`` in the form; 拒绝 with ``reason``): answers the row, decided."""
    form = {"decision": (request.form.get("decision") or "").strip(), "reason": request.form.get("reason") or ""}
    try:
        body = validate(AccountDecisionIn, {"decision": form["decision"], "reason": form["reason"].strip() or None})
        scope = staff_scope(user)
        decided = await decide_account(
            account_id, user, scope.path if scope else None, verify=body.decision == "verify", reason=body.reason
        )
    except InvalidRequest as exc:
        reasons = list(field_errors(exc).values())
        raise InvalidRequest("；".join(reasons)) if reasons else exc from None
    return await page(request, "_account_row.html", a=decided, platforms=PLATFORM_NAMES)
