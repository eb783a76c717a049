"""Request and response schemas of netizen messages (网民留言办理)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from handlers.media_schemas import MediaRead
from handlers.schemas import Id, OrgRead, PageQuery, PhotoIds, Placed, Strict, UserBrief
from media.storage import Storage
from models.messages import Message
from server.kernel.clock import now_utc

Category = Literal["consult", "suggest", "complain", "help", "clue"]
Status = Literal["submitted", "accepted", "assigned", "replying", "replied", "closed", "rejected", "returned"]
Rating = Literal["satisfied", "basically", "unsatisfied"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class MessageIn(Placed):
    category: Category
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    content: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
    media_ids: PhotoIds = Field(default_factory=list, max_length=9)
    public_ok: bool = False


class NoteIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    note: Note = ""


class ReasonIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    reason: Reason


class AssignIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    org_id: Id
    kind: Literal["jiaoban", "zhuanban"]
    co_org_ids: list[Id] = Field(default_factory=list, max_length=10)
    note: Note = ""


class ExtendIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    days: int = Field(ge=1, le=15)
    reason: Reason


class DraftIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    content: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class RateIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    rating: Rating
    comment: Note = ""


class ReplyRead(BaseModel):
    content: str
    published_at: datetime


class MessageEventRead(BaseModel):
    at: datetime
    action: str
    org: OrgRead | None
    note: str


class MessageRead(BaseModel):
    id: str
    number: str
    category: Category
    title: str
    content: str
    media: list[MediaRead]
    status: Status
    org: OrgRead | None
    due_at: datetime | None
    overdue: bool
    supervision: int
    reply: ReplyRead | None
    rating: Rating | None
    events: list[MessageEventRead]
    public_ok: bool
    created_at: datetime
    # What the staff who handle it see besides.
    writer: UserBrief | None = None
    home_org: OrgRead | None = None
    assigner_org: OrgRead | None = None
    draft: str | None = None
    extension_asked: int | None = None
    extension_days: int | None = None

    @classmethod
    def of(cls, m: Message, storage: Storage, *, handler: bool) -> MessageRead:
        """``handler``: staff who handle it (the writer's identity, the draft, every event)."""
        events = [e for e in m.events if handler or e.public]
        return cls(
            id=str(m.id),
            number=m.number,
            category=m.category,  # type: ignore[arg-type]
            title=m.title,
            content=m.content,
            media=[MediaRead.of(p.media, storage) for p in m.photos],
            status=m.status,  # type: ignore[arg-type]
            org=OrgRead.of(m.org) if m.org_id and m.org else None,
            due_at=m.due_at,
            overdue=m.is_overdue(now_utc()),
            supervision=m.supervision,
            reply=ReplyRead(content=m.reply, published_at=m.replied_at) if m.reply and m.replied_at else None,
            rating=m.rating,  # type: ignore[arg-type]
            events=[
                MessageEventRead(at=e.at, action=e.action, org=OrgRead.of(e.org) if e.org else None, note=e.note)
                for e in events
            ],
            public_ok=m.public_ok,
            created_at=m.created_at,
            writer=UserBrief.of(m.writer, storage) if handler and m.writer else None,
            home_org=OrgRead.of(m.home_org) if handler else None,
            assigner_org=OrgRead.of(m.assigner_org) if handler and m.assigner_org else None,
            draft=m.draft if handler else None,
            extension_asked=m.extension_asked if handler else None,
            extension_days=m.extension_days if handler else None,
        )


class MessageList(BaseModel):
    items: list[MessageRead]
    next_cursor: str | None


class MessageQuery(PageQuery):
    mine: Literal["1", "0", "true", "false"] | None = None
    status: Status | None = None
    overdue: Literal["1", "0", "true", "false"] | None = None


class PublicMessageRead(BaseModel):
    """A message on the public list: what the writer allowed, the writer only as 网友."""

    number: str
    category: Category
    title: str
    content: str
    writer: Literal["网友"]
    media: list[MediaRead]
    org: OrgRead | None
    reply: ReplyRead
    created_at: datetime

    @classmethod
    def of(cls, m: Message, storage: Storage) -> PublicMessageRead:
        assert m.reply is not None and m.replied_at is not None
        return cls(
            number=m.number,
            category=m.category,  # type: ignore[arg-type]
            title=m.title,
            content=m.content,
            writer="网友",
            media=[MediaRead.of(p.media, storage) for p in m.photos],
            org=OrgRead.of(m.org) if m.org_id and m.org else None,
            reply=ReplyRead(content=m.reply, published_at=m.replied_at),
            created_at=m.created_at,
        )


class PublicMessageList(BaseModel):
    items: list[PublicMessageRead]
    next_cursor: str | None
