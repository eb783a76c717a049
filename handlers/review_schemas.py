"""Request and response schemas of reviewing, the ledger and the rankings."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from handlers.schemas import Id, LedgerRead, OrgRead, PageQuery, Strict
from media.storage import Storage, variant_keys
from models.users import Profile

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
ANONYMOUS = "匿名用户"


class ReviewIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    decision: Literal["approve", "reject"]
    reason: Reason | None = None
    points: int | None = Field(None, description="通过时的积分，默认任务积分，可调整为 0 到 2 倍")
    service_hours: Decimal | None = Field(
        None,
        ge=0,
        le=1000,
        decimal_places=2,
        description="通过时的服务时长（小时），0 到任务时长；默认：需签退的任务按签到至签退时间计，否则为任务时长",
    )


class BatchIn(Strict):
    decision: Literal["approve", "reject"]
    ids: list[Id] = Field(min_length=1, max_length=100)
    reason: Reason | None = None

    @field_validator("ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class BatchOut(BaseModel):
    done: list[str]
    failed: dict[str, str] = Field(description="未完成的提交 id → 错误代码")


class QueueQuery(PageQuery):
    campaign_id: Id | None = None
    status: Literal["pending", "flagged", "approved", "rejected", "withdrawn"] | None = Field(
        None, description="默认：待审核（pending 与 flagged）"
    )


class LedgerPage(BaseModel):
    items: list[LedgerRead]
    next_cursor: str | None


class BoardQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    scope: str | None = Field(
        None, description="all（默认）、week、month、campaign:<id>、org:<id>、reach、reach:week、reach:month"
    )
    limit: int = Field(20, ge=1, le=100)


class RankedUser(BaseModel):
    id: str | None = Field(description="不公开排名的用户为 null（匿名显示）")
    nickname: str
    avatar_url: str | None
    org: OrgRead | None

    @classmethod
    def of(cls, person: Profile | None, storage: Storage, *, shown: bool) -> RankedUser:
        if person is None or not shown:
            return cls(id=None, nickname=ANONYMOUS, avatar_url=None, org=None)
        org = None
        if person.org is not None:
            org_id, name, kind, parent_id = person.org
            org = OrgRead(id=str(org_id), name=name, kind=kind, parent_id=str(parent_id) if parent_id else None)
        avatar = storage.url(variant_keys(person.avatar_key)[2]) if person.avatar_key else None
        return cls(id=str(person.id), nickname=person.nickname, avatar_url=avatar, org=org)


# Reach scopes only: other boards answer exactly the contract's fields.
ReachViews = Annotated[int | None, Field(exclude_if=lambda value: value is None)]


class BoardItem(BaseModel):
    rank: int
    user: RankedUser
    points: int
    views: ReachViews = None
    is_me: bool


class MyRank(BaseModel):
    rank: int
    points: int
    views: ReachViews = None


class BoardOut(BaseModel):
    scope: str
    items: list[BoardItem]
    me: MyRank | None


class OrgBoardQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    scope: str | None = None
    per_capita: Literal["1", "0", "true", "false"] | None = None
    parent_id: Id | None = Field(None, description="排名其下级组织；默认本县")


class OrgBoardItem(BaseModel):
    rank: int
    org: OrgRead
    points: int
    members: int = Field(description="登记的志愿者与达人人数")
    per_capita: float


class OrgBoardOut(BaseModel):
    scope: str
    parent: OrgRead
    per_capita: bool
    items: list[OrgBoardItem]
