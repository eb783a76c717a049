"""Request and response schemas of reach snapshots and official reposts (网络传播：传播数据与转载)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from handlers.media_schemas import MediaRead
from handlers.schemas import Id, Moment, Strict, UserBrief
from media.storage import Storage
from models.reach import Reach, ReachSnapshot, Repost

# Far above any real post's reach, well inside a BIGINT: a typo, not a count.
MAX_COUNT = 1_000_000_000_000
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Level = Literal["county", "city", "province", "national"]


def _web_address(url: str) -> str:
    if not url.lower().startswith(("http://", "https://")) or len(url) < 10 or any(c.isspace() for c in url):
        raise ValueError("转载链接须为 http:// 或 https:// 开头的网址")
    return url


class ReachIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    views: Count
    likes: Count
    comments: Count
    shares: Count
    captured_at: Moment
    media_id: Id | None = None

    def reach(self) -> Reach:
        return Reach(
            views=self.views,
            likes=self.likes,
            comments=self.comments,
            shares=self.shares,
            captured_at=self.captured_at,
            media_id=int(self.media_id) if self.media_id is not None else None,
        )


class ReachSnapshotRead(BaseModel):
    id: str
    submission_id: str
    views: int
    likes: int
    comments: int
    shares: int
    captured_at: datetime
    media: MediaRead | None
    correction: bool
    recorded_by: UserBrief | None
    created_at: datetime
    duplicate_of: list[str] | None = Field(None, description="仅工作人员可见")

    @classmethod
    def of(cls, s: ReachSnapshot, storage: Storage, *, staff: bool) -> ReachSnapshotRead:
        """``s`` as ``models.reach.snapshots_of`` loads it (screenshot, recorder and their org)."""
        return cls(
            id=str(s.id),
            submission_id=str(s.submission_id),
            views=s.views,
            likes=s.likes,
            comments=s.comments,
            shares=s.shares,
            captured_at=s.captured_at,
            media=MediaRead.of(s.media, storage) if s.media_id is not None and s.media else None,
            correction=s.correction,
            recorded_by=UserBrief.of(s.recorded_by, storage) if s.recorded_by_id and s.recorded_by else None,
            created_at=s.created_at,
            duplicate_of=list(s.duplicate_of) if staff else None,
        )


class ReachList(BaseModel):
    items: list[ReachSnapshotRead]


class RepostIn(Strict):
    level: Level
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(_web_address)]


class RepostRead(BaseModel):
    id: str
    submission_id: str
    level: Level
    url: str
    points: int
    created_at: datetime

    @classmethod
    def of(cls, r: Repost) -> RepostRead:
        return cls(
            id=str(r.id),
            submission_id=str(r.submission_id),
            level=r.level,  # type: ignore[arg-type]
            url=r.url,
            points=r.points,
            created_at=r.created_at,
        )


class RepostList(BaseModel):
    items: list[RepostRead]
