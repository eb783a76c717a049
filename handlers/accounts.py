"""Platform accounts: a person binds their handles, staff of their org subtree verify them."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty

from handlers.account_schemas import (
    AccountCreate,
    AccountDecisionIn,
    AccountList,
    AccountQuery,
    AccountRead,
    AccountUpdate,
    MyAccountList,
    StaffAccountRead,
)
from models.accounts import (
    AccountClaimed,
    AccountDecided,
    accounts_of,
    accounts_page,
    claim_account,
    decide_account,
    delete_account,
    set_followers,
)
from models.users import STAFF_ROLES, User
from server.kernel.errors import NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.permissions import staff_scope

bp = Blueprint("accounts")


@bp.post("/me/accounts")
@endpoint(
    summary="绑定平台账号",
    body=AccountCreate,
    response=AccountRead,
    status=201,
    errors=(AccountClaimed,),
    tag="accounts",
)
async def claim(request: Request, user: User, body: AccountCreate) -> HTTPResponse:
    """Binds a handle to the caller, pending until staff verify it; a handle anyone holds → 409."""
    account = await claim_account(
        user, platform=body.platform, handle=body.handle, profile_url=body.profile_url, followers=body.followers
    )
    return json_response(AccountRead.of(account), status=201)


@bp.get("/me/accounts")
@endpoint(summary="我的平台账号", response=MyAccountList, tag="accounts")
async def mine(request: Request, user: User) -> HTTPResponse:
    """The caller's accounts, oldest first."""
    return json_response(MyAccountList(items=[AccountRead.of(a) for a in await accounts_of(user.id)]))


@bp.patch("/me/accounts/<account_id:id>")
@endpoint(summary="更新粉丝数", body=AccountUpdate, response=AccountRead, errors=(NotFound,), tag="accounts")
async def update(request: Request, account_id: int, user: User, body: AccountUpdate) -> HTTPResponse:
    """The owner records the account's follower count (verification is not affected)."""
    return json_response(AccountRead.of(await set_followers(user, account_id, body.followers)))


@bp.delete("/me/accounts/<account_id:id>")
@endpoint(summary="解绑平台账号", status=204, errors=(NotFound,), tag="accounts")
async def remove(request: Request, account_id: int, user: User) -> HTTPResponse:
    """The owner unbinds an account, verified or not; the handle is free to claim again."""
    await delete_account(user, account_id)
    return empty()


@bp.get("/accounts")
@endpoint(summary="平台账号列表", roles=STAFF_ROLES, query=AccountQuery, response=AccountList, tag="accounts")
async def staff_list(request: Request, user: User, query: AccountQuery) -> HTTPResponse:
    """Accounts of people in the caller's org subtree (admin: everyone), newest first."""
    scope = staff_scope(user)
    rows = await accounts_page(
        scope_path=scope.path if scope else None,
        status=query.status,
        platform=query.platform,
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    page, next_cursor = split_page(rows, query.limit)
    return json_response(AccountList(items=[StaffAccountRead.of(a) for a in page], next_cursor=next_cursor))


@bp.post("/accounts/<account_id:id>/verify")
@endpoint(
    summary="审核平台账号",
    roles=STAFF_ROLES,
    body=AccountDecisionIn,
    response=StaffAccountRead,
    errors=(NotFound, AccountDecided),
    tag="accounts",
)
async def verify(request: Request, account_id: int, user: User, body: AccountDecisionIn) -> HTTPResponse:
    """Verify, or reject with a `reason`; a decided account → 409 `account_decided`; audited."""
    scope = staff_scope(user)
    account = await decide_account(
        account_id, user, scope.path if scope else None, verify=body.decision == "verify", reason=body.reason
    )
    return json_response(StaffAccountRead.of(account))
