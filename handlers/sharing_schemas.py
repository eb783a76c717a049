"""Request and response schemas of share links and opens (网络传播：分享)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from handlers.schemas import Id, Strict


class ShareLinkIn(Strict):
    task_id: Id


class ShareLinkRead(BaseModel):
    ref: str


class ShareOpenIn(Strict):
    # Any text up to a sane length: a malformed ref answers 400 bad_ref, as a forged one does.
    ref: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ShareStatsRead(BaseModel):
    links: int
    opens: int
