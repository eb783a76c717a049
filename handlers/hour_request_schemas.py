"""Request and response schemas of make-up requests for service hours (补录)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from handlers.media_schemas import EvidenceMedia, MediaRead
from handlers.schemas import Id, Moment, PageQuery, PhotoIds, Strict, UserBrief
from media.storage import Storage
from models.hour_requests import MAX_PHOTOS, HourRequest
from models.makeup import award_note

Status = Literal["pending", "approved", "rejected"]


class HourRequestIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    task_id: Id
    started_at: Moment
    ended_at: Moment
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    media_ids: PhotoIds = Field(default_factory=list, max_length=MAX_PHOTOS)


class HourReviewIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    decision: Literal["approve", "reject"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class HourRequestRead(BaseModel):
    id: str
    task_id: str
    task_title: str
    status: Status
    started_at: datetime
    ended_at: datetime
    hours: float
    note: str
    photos: list[MediaRead | EvidenceMedia]
    reason: str | None
    awarded_hours: float
    awarded_points: int
    award_note: str | None
    created_at: datetime
    reviewed_at: datetime | None
    user: UserBrief | None = None

    @classmethod
    def of(cls, r: HourRequest, storage: Storage, *, staff: bool) -> HourRequestRead:
        """``staff``: a reviewer's view (the person, where and when each photo was taken)."""
        render = EvidenceMedia.of if staff else MediaRead.of
        return cls(
            id=str(r.id),
            task_id=str(r.task_id),
            task_title=r.task.title,
            status=r.status,  # type: ignore[arg-type]
            started_at=r.started_at,
            ended_at=r.ended_at,
            hours=float(r.hours),
            note=r.note,
            photos=[render(p.media, storage) for p in r.photos],
            reason=r.reason,
            awarded_hours=float(r.awarded_hours),
            awarded_points=r.awarded_points,
            award_note=award_note(r),
            created_at=r.created_at,
            reviewed_at=r.reviewed_at,
            user=UserBrief.of(r.user, storage) if staff else None,
        )


class HourRequestList(BaseModel):
    items: list[HourRequestRead]
    next_cursor: str | None


class HourRequestQuery(PageQuery):
    mine: Literal["1", "0", "true", "false"] | None = None
    status: Status | None = None
    task_id: Id | None = None
