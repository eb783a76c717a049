"""The reports' queries; the participation report's is shared with the console's report form."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from handlers.schemas import Day, Id
from server.web.endpoint import FieldError


class MessageReportQuery(BaseModel):
    """A period and an org: the messages report's query, and the participation report's but one field."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    from_: Day | None = Field(None, alias="from", description="YYYY-MM-DD，默认本月 1 日")
    to: Day | None = Field(None, description="YYYY-MM-DD（含），默认今天")
    org_id: Id | None = None

    @model_validator(mode="after")
    def _ordered(self) -> MessageReportQuery:
        if self.from_ and self.to and self.from_ > self.to:
            raise FieldError("结束日期不能早于开始日期", "to")
        return self


class ReportQuery(MessageReportQuery):
    campaign_id: Id | None = None
