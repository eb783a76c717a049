"""Request and response schemas of the question bank (题库).

The shapes only: the rules a question must meet (option counts, answer indexes, lengths) live in
``models.question_bank.clean_question``, shared with the console's form and the file import."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from handlers.schemas import Id, PageQuery, Strict
from models.quiz import Question

QuestionType = Literal["single", "multi", "judge"]
# Loose bounds against huge bodies; the exact limits are the bank's (models.question_bank).
Text = Annotated[str, StringConstraints(max_length=2000)]
Options = Annotated[list[Text], Field(max_length=12)]
Answer = Annotated[list[int], Field(max_length=12)] | bool
Tags = Annotated[list[Annotated[str, StringConstraints(max_length=100)]], Field(max_length=30)]


class QuestionCreate(Strict):
    type: QuestionType
    stem: Text
    options: Options = Field(default_factory=list)
    answer: Answer
    explanation: Text = ""
    tags: Tags = Field(default_factory=list)
    difficulty: int = 1
    org_id: Id | None = None


class QuestionUpdate(Strict):
    type: QuestionType | None = None
    stem: Text | None = None
    options: Options | None = None
    answer: Answer | None = None
    explanation: Text | None = None
    tags: Tags | None = None
    difficulty: int | None = None


class QuestionRead(BaseModel):
    id: str
    type: QuestionType
    stem: str
    options: list[str]
    answer: list[int] | bool
    explanation: str
    tags: list[str]
    difficulty: int
    status: Literal["active", "retired"]
    org_id: str
    created_at: datetime

    @classmethod
    def of(cls, q: Question) -> QuestionRead:
        return cls(
            id=str(q.id),
            type=q.type,
            stem=q.stem,
            options=list(q.options),
            answer=q.answer,
            explanation=q.explanation,
            tags=list(q.tags),
            difficulty=q.difficulty,
            status=q.status,
            org_id=str(q.org_id),
            created_at=q.created_at,
        )


class QuestionList(BaseModel):
    items: list[QuestionRead]
    next_cursor: str | None


class QuestionQuery(PageQuery):
    tag: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    type: QuestionType | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    retired: Literal["1", "0", "true", "false"] | None = None


class ImportQuery(BaseModel):
    org_id: Id | None = None


class QuestionRowError(BaseModel):
    row: int
    reason: str


class QuestionImportResult(BaseModel):
    created: int
    errors: list[QuestionRowError]
