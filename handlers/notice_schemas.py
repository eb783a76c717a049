"""Request and response schemas of notices (通知)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from handlers.schemas import Id, OrgRead, PageQuery, Strict
from models.notices import CONTENT_MAX, TITLE_MAX, Notice

NoticeRole = Literal["volunteer", "influencer"]


class NoticeIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
    content: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CONTENT_MAX)]
    org_id: Id
    campaign_id: Id | None = None
    roles: list[NoticeRole] | None = Field(None, min_length=1, max_length=2)

    @field_validator("roles")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("身份不能重复")
        return value


class NoticeRead(BaseModel):
    id: str
    title: str
    content: str
    org: OrgRead
    campaign_id: str | None
    roles: list[NoticeRole] | None
    recipients: int
    created_at: datetime
    # A recipient's own copy.
    read: bool | None = None
    read_at: datetime | None = None
    # What staff of the notice's org subtree see besides.
    read_count: int | None = None

    @classmethod
    def of(
        cls, n: Notice, *, read_at: datetime | None = None, recipient: bool = False, read_count: int | None = None
    ) -> NoticeRead:
        return cls(
            id=str(n.id),
            title=n.title,
            content=n.content,
            org=OrgRead.of(n.org),
            campaign_id=str(n.campaign_id) if n.campaign_id else None,
            roles=n.roles.split(",") if n.roles else None,  # type: ignore[arg-type]
            recipients=n.recipients,
            created_at=n.created_at,
            read=(read_at is not None) if recipient else None,
            read_at=read_at if recipient else None,
            read_count=read_count,
        )


class NoticeList(BaseModel):
    items: list[NoticeRead]
    next_cursor: str | None


class NoticeQuery(PageQuery):
    sent: Literal["1", "0", "true", "false"] | None = None


class NoticeStats(BaseModel):
    recipients: int
    read: int
