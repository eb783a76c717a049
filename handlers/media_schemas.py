"""Request and response schemas of photos and evidence submissions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from handlers.schemas import Id, PageQuery, PhotoIds, Placed, UserBrief
from media.storage import Storage
from models.media import Media
from models.online_links import MAX_LENGTH as MAX_LINK_LENGTH
from models.online_links import LinkError, extract_url
from models.submissions import Submission

MAX_TEXT = 2000
MAX_LINKS = 10


def _web_link(value: str) -> str:
    """The link itself, or the one in a pasted share text (抖音、快手、小红书 share like that)."""
    try:
        return extract_url(value)
    except LinkError as exc:
        raise ValueError(str(exc)) from None


# Checked one by one so a refusal names the link (links.2). Long enough for a share link with its
# tracking parameters, which an online task's links drop (models.online_links).
Link = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LINK_LENGTH), AfterValidator(_web_link)
]


class MediaRead(BaseModel):
    id: str
    width: int
    height: int
    content_type: str
    url: str | None = Field(
        description="显示尺寸（长边 ≤ 1280）的签名地址，无需 Authorization，会过期；作者注销后为 null"
    )
    thumb_url: str | None = Field(description="缩略图（长边 ≤ 320）的签名地址")
    original_url: str | None = Field(description="原尺寸（已去除 EXIF/GPS）的签名地址")
    sha256: str
    taken_at: datetime | None
    has_location: bool

    @classmethod
    def of(cls, m: Media, storage: Storage) -> MediaRead:
        return cls(
            id=str(m.id),
            width=m.width,
            height=m.height,
            content_type=m.content_type,
            url=None if m.erased else storage.url(m.display_key),
            thumb_url=None if m.erased else storage.url(m.thumb_key),
            original_url=None if m.erased else storage.url(m.original_key),
            sha256=m.sha256,
            taken_at=m.taken_at,
            has_location=m.lat is not None,
        )


class EvidenceMedia(MediaRead):
    """A photo as a reviewer sees it: where it was taken and what the content check said."""

    lat: float | None
    lng: float | None
    check: Literal["pass", "review", "risky", "unchecked"]

    @classmethod
    def of(cls, m: Media, storage: Storage) -> EvidenceMedia:
        return cls(**MediaRead.of(m, storage).model_dump(), lat=m.lat, lng=m.lng, check=m.verdict)


class SubmissionIn(Placed):
    media_ids: PhotoIds = Field(max_length=50)
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT)]
    links: list[Link] = Field(default_factory=list, max_length=MAX_LINKS)


class ReviewRead(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str | None
    points: int | None
    reviewed_at: datetime


class RiskRead(BaseModel):
    duplicate_of: list[str] = Field(description="含有相同或近似照片的其他提交")
    outside_area: bool = Field(description="照片或提交位置在任务范围外")
    outside_window: bool = Field(description="照片拍摄时间在任务时间外")
    content: Literal["pass", "review", "risky", "unchecked"]
    link_used: list[str] = Field(description="曾提交过同一作品链接的其他提交（已驳回或已撤回的，含本人的）")
    account_unverified: list[str] = Field(
        description="链接看不出发布账号、提交人在该平台又没有已认证账号的平台（仅要求本人账号的线上任务）"
    )


class SubmissionRead(BaseModel):
    id: str
    task_id: str
    task_title: str
    user: UserBrief
    status: Literal["pending", "approved", "rejected", "flagged", "withdrawn"]
    text: str
    media: list[MediaRead | EvidenceMedia]
    links: list[str]
    lat: float | None
    lng: float | None
    created_at: datetime
    review: ReviewRead | None
    risk: RiskRead | None = Field(None, description="仅工作人员可见")

    @classmethod
    def of(cls, s: Submission, storage: Storage, *, staff: bool) -> SubmissionRead:
        media = [p.media for p in s.photos]
        review = None
        if s.decision is not None and s.reviewed_at is not None:
            review = ReviewRead(
                decision=s.decision, reason=s.reason, points=s.awarded_points, reviewed_at=s.reviewed_at
            )
        risk = None
        if staff:
            risk = RiskRead(
                duplicate_of=s.duplicate_of,
                outside_area=s.outside_area,
                outside_window=s.outside_window,
                content=s.content_verdict(media),
                link_used=s.link_used,
                account_unverified=s.account_unverified,
            )
        render = EvidenceMedia.of if staff else MediaRead.of
        return cls(
            id=str(s.id),
            task_id=str(s.task_id),
            task_title=s.task.title,
            user=UserBrief.of(s.user, storage),
            status=s.status,
            text=s.text,
            media=[render(m, storage) for m in media],
            links=s.links,
            lat=s.lat,
            lng=s.lng,
            created_at=s.created_at,
            review=review,
            risk=risk,
        )


class SubmissionList(BaseModel):
    items: list[SubmissionRead]
    next_cursor: str | None


class SubmissionQuery(PageQuery):
    mine: Literal["1", "0", "true", "false"] | None = None
    task_id: Id | None = None
    status: Literal["pending", "approved", "rejected", "flagged", "withdrawn"] | None = None
