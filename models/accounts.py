"""Platform accounts: a person's handle on a platform, verified once by staff.

One handle belongs to one person: ``handle_key`` (the platform and the casefolded handle) is
unique across everyone, so of any number of concurrent claims exactly one is stored and the
others answer 409 ``account_claimed`` (the same person claiming again too).

    pending ──verify──▶ verified
    pending ──reject (reason)──▶ rejected

A decision is final: deciding a decided account answers 409 ``account_decided``. A person whose
account was rejected deletes it and claims again, which puts it back in the queue. The owner
may delete an account at any time, verified or not: the row goes and the handle is free.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import record
from models.online_links import PLATFORM_NAMES, PLATFORMS, LinkError, normalise
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.errors import Conflict, InvalidRequest, NotFound

ACCOUNT_STATUSES = ("pending", "verified", "rejected")


class AccountClaimed(Conflict):
    code, message = "account_claimed", "该平台账号已被绑定"


class AccountDecided(Conflict):
    code, message = "account_decided", "该账号已审核"


class PlatformAccount(Model):
    """A person's account on a platform, pending until staff verify or reject it."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="platform_accounts", on_delete=fields.CASCADE
    )
    platform = fields.CharField(max_length=16)
    handle = fields.CharField(max_length=64)
    # platform + ":" + casefolded handle: one handle one person, whatever races. Casefolding may
    # triple a character ("ﬃ" → "ffi"): room for 64 of those.
    handle_key = fields.CharField(max_length=224, unique=True)
    profile_url = fields.CharField(max_length=300, null=True)
    followers = fields.BigIntField(null=True)
    # The platform's own id of the account (uid, sec_uid, __biz...) read from profile_url, which
    # links to posts show (models.submission_links matches them).
    account_ref = fields.CharField(max_length=128, null=True)
    status = fields.CharField(max_length=16, default="pending", db_index=True)
    reason = fields.CharField(max_length=200, null=True)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="account_decisions", null=True, on_delete=fields.SET_NULL
    )
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int
    decided_by_id: int | None

    class Meta:
        table = "platform_accounts"

    @property
    def platform_name(self) -> str:
        return PLATFORM_NAMES.get(self.platform, self.platform)


def account_ref(platform: str, profile_url: str | None) -> str | None:
    """The account id a profile URL of ``platform`` shows (None for another site or a short link)."""
    if not profile_url:
        return None
    try:
        link = normalise(profile_url)
    except LinkError:
        return None
    return link.account if link.platform == platform and link.account else None


def handle_key(platform: str, handle: str) -> str:
    return f"{platform}:{handle.strip().casefold()}"


async def claim_account(
    user: User, *, platform: str, handle: str, profile_url: str | None, followers: int | None
) -> PlatformAccount:
    """Bind a handle to ``user`` (pending); 409 ``account_claimed`` when anyone holds it already."""
    handle = handle.strip()
    if platform not in PLATFORMS:
        raise InvalidRequest.fields({"platform": "平台须为：" + "、".join(PLATFORMS)})
    if not handle:
        raise InvalidRequest.fields({"handle": "账号不能为空"})
    try:
        async with in_transaction():
            return await PlatformAccount.create(
                user_id=user.id,
                platform=platform,
                handle=handle,
                handle_key=handle_key(platform, handle),
                profile_url=profile_url,
                account_ref=account_ref(platform, profile_url),
                followers=followers,
            )
    except IntegrityError:
        raise AccountClaimed() from None


async def accounts_of(user_id: int) -> list[PlatformAccount]:
    """A person's own accounts, oldest first (their list and their export)."""
    return await PlatformAccount.filter(user_id=user_id).order_by("id")


async def own_account(user: User, account_id: int) -> PlatformAccount:
    account = await PlatformAccount.get_or_none(id=account_id, user_id=user.id)
    if account is None:
        raise NotFound("账号不存在")
    return account


async def delete_account(user: User, account_id: int) -> None:
    """The owner lets go of an account, verified or not: the handle is free to claim again."""
    if await PlatformAccount.filter(id=account_id, user_id=user.id).delete() != 1:
        raise NotFound("账号不存在")


async def set_followers(user: User, account_id: int, followers: int | None) -> PlatformAccount:
    account = await own_account(user, account_id)
    await PlatformAccount.filter(id=account.id).update(followers=followers)
    account.followers = followers
    return account


async def accounts_page(
    *,
    scope_path: str | None,
    status: str | None,
    platform: str | None,
    before_id: int | None,
    limit: int,
) -> list[PlatformAccount]:
    """Accounts of people in ``scope_path``'s subtree (None: everyone), newest first, ``limit + 1`` rows."""
    rows = PlatformAccount.all()
    if scope_path is not None:
        rows = rows.filter(user__org__path__startswith=scope_path)
    if status is not None:
        rows = rows.filter(status=status)
    if platform is not None:
        rows = rows.filter(platform=platform)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return await rows.select_related("user__org").order_by("-id").limit(limit + 1)


async def decide_account(
    account_id: int, staff: User, scope_path: str | None, *, verify: bool, reason: str | None
) -> PlatformAccount:
    """Verify or reject (with a reason) an account of a person in the staff member's subtree.

    Final: of two staff deciding at once the conditional update lets one through, and a decided
    account answers 409 ``account_decided``. The decision and its audit entry commit together.
    """
    reason = (reason or "").strip() or None
    account = await PlatformAccount.get_or_none(id=account_id).select_related("user__org")
    org = account.user.org if account is not None else None
    if account is None or (scope_path is not None and (org is None or not org.path.startswith(scope_path))):
        raise NotFound("账号不存在")
    if not verify and reason is None:
        raise InvalidRequest.fields({"reason": "拒绝须说明原因"})
    status = "verified" if verify else "rejected"
    async with in_transaction():
        decided = await PlatformAccount.filter(id=account.id, status="pending").update(
            status=status, reason=reason, decided_by_id=staff.id, decided_at=now_utc()
        )
        if decided != 1:
            raise AccountDecided()
        details: dict[str, Any] = {
            "account_id": str(account.id),
            "platform": account.platform,
            "handle": account.handle,
            "reason": reason,
        }
        await record(staff, f"account_{'verify' if verify else 'reject'}", f"user:{account.user_id}", details)
    (fresh,) = await PlatformAccount.filter(id=account.id).select_related("user__org")
    return fresh


async def erase_accounts(user_id: int) -> None:
    """For erasure: the rows go, so the handles are free again (the caller owns the transaction)."""
    await PlatformAccount.filter(user_id=user_id).delete()


def exported(account: PlatformAccount) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "platform": account.platform,
        "handle": account.handle,
        "profile_url": account.profile_url,
        "followers": account.followers,
        "status": account.status,
        "reason": account.reason,
        "created_at": account.created_at.isoformat(),
        "decided_at": account.decided_at.isoformat() if account.decided_at else None,
    }
