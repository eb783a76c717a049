"""The audit log's query, shared with the console's audit page."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from handlers.schemas import Day, Id, PageQuery


class AuditQuery(PageQuery):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    actor: Id | None = Field(None, description="操作人用户 id")
    from_: Day | None = Field(None, alias="from", description="YYYY-MM-DD")
    to: Day | None = Field(None, description="YYYY-MM-DD（含）")
