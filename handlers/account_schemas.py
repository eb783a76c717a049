"""Request and response schemas of platform accounts (网络传播：平台账号)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from handlers.schemas import OrgRead, PageQuery, Strict
from models.accounts import PlatformAccount

Platform = Literal["douyin", "kuaishou", "weibo", "wechat_channels", "wechat_mp", "bilibili", "xiaohongshu", "toutiao"]
AccountStatus = Literal["pending", "verified", "rejected"]


def _http_url(url: str | None) -> str | None:
    if url is None:
        return None
    if not url.lower().startswith(("http://", "https://")) or len(url) < 10 or any(c.isspace() for c in url):
        raise ValueError("主页链接须为 http:// 或 https:// 开头的网址")
    return url


ProfileUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(_http_url)]


class AccountCreate(Strict):
    platform: Platform
    handle: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    profile_url: ProfileUrl | None = None
    followers: Annotated[int, Field(ge=0, le=10_000_000_000)] | None = None


class AccountUpdate(Strict):
    followers: Annotated[int, Field(ge=0, le=10_000_000_000)] | None


class AccountRead(BaseModel):
    id: str
    platform: Platform
    handle: str
    profile_url: str | None
    followers: int | None
    status: AccountStatus
    reason: str | None = None

    @classmethod
    def of(cls, a: PlatformAccount) -> AccountRead:
        return cls(
            id=str(a.id),
            platform=a.platform,  # type: ignore[arg-type]
            handle=a.handle,
            profile_url=a.profile_url,
            followers=a.followers,
            status=a.status,  # type: ignore[arg-type]
            reason=a.reason if a.status == "rejected" else None,
        )


class MyAccountList(BaseModel):
    items: list[AccountRead]


class AccountOwner(BaseModel):
    id: str
    name_on_record: str
    org: OrgRead | None


class StaffAccountRead(AccountRead):
    user: AccountOwner
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, a: PlatformAccount) -> StaffAccountRead:  # type: ignore[override]
        u = a.user
        owner = AccountOwner(id=str(u.id), name_on_record=u.name_on_record, org=OrgRead.of(u.org) if u.org else None)
        base = AccountRead.of(a).model_dump()
        return cls(**base, user=owner, created_at=a.created_at, decided_at=a.decided_at)


class AccountList(BaseModel):
    items: list[StaffAccountRead]
    next_cursor: str | None


class AccountQuery(PageQuery):
    status: AccountStatus | None = None
    platform: Platform | None = None


class AccountDecisionIn(Strict):
    decision: Literal["verify", "reject"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
