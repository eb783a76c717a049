"""Request and response schemas for taking a task's quiz (网络普法答题) and its figures.

Until an attempt is finished nothing here carries an answer, an explanation or a hint of
correctness: ``QuizAttemptStarted`` and ``QuestionShown`` hold only what a person reads to
answer (tests/handlers/test_quiz.py walks the answers and the document's examples for it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from handlers.schemas import Strict
from models.quiz import Question, QuizAttempt
from models.quiz_attempts import Finished, QuizStats, shown_options


class QuestionShown(BaseModel):
    id: str
    type: Literal["single", "multi", "judge"]
    stem: str
    options: list[str]

    @classmethod
    def of(cls, q: Question, attempt: QuizAttempt) -> QuestionShown:
        return cls(id=str(q.id), type=q.type, stem=q.stem, options=shown_options(q, attempt))


class QuizAttemptStarted(BaseModel):
    id: str
    task_id: str
    questions: list[QuestionShown]
    started_at: datetime
    deadline: datetime

    @classmethod
    def of(cls, attempt: QuizAttempt, questions: list[Question]) -> QuizAttemptStarted:
        return cls(
            id=str(attempt.id),
            task_id=str(attempt.task_id),
            questions=[QuestionShown.of(q, attempt) for q in questions],
            started_at=attempt.started_at,
            deadline=attempt.deadline,
        )


class AnswerIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=True)

    choice: list[int] | bool


class QuestionResult(BaseModel):
    question_id: str
    correct: bool
    choice: list[int] | bool | None
    answer: list[int] | bool
    explanation: str


class QuizResult(BaseModel):
    score: float
    passed: bool
    points_awarded: int
    results: list[QuestionResult]

    @classmethod
    def of(cls, done: Finished) -> QuizResult:
        attempt = done.attempt
        return cls(
            score=float(attempt.score or 0),
            passed=bool(attempt.passed),
            points_awarded=attempt.points_awarded,
            results=results_of(done),
        )


def results_of(done: Finished) -> list[QuestionResult]:
    return [
        QuestionResult(
            question_id=str(r.question_id),
            correct=r.correct,
            choice=r.choice,
            answer=r.answer,
            explanation=r.explanation,
        )
        for r in done.results
    ]


class ChoiceRead(BaseModel):
    question_id: str
    choice: list[int] | bool


class QuizAttemptRead(BaseModel):
    id: str
    task_id: str
    user_id: str
    questions: list[QuestionShown]
    choices: list[ChoiceRead]
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None
    score: float | None
    passed: bool | None
    points_awarded: int
    results: list[QuestionResult] | None

    @classmethod
    def of(
        cls, attempt: QuizAttempt, questions: list[Question], choices: dict[int, Any], done: Finished | None
    ) -> QuizAttemptRead:
        return cls(
            id=str(attempt.id),
            task_id=str(attempt.task_id),
            user_id=str(attempt.user_id),
            questions=[QuestionShown.of(q, attempt) for q in questions],
            choices=[ChoiceRead(question_id=str(k), choice=v) for k, v in choices.items()],
            started_at=attempt.started_at,
            deadline=attempt.deadline,
            finished_at=attempt.finished_at,
            score=float(attempt.score) if attempt.score is not None else None,
            passed=attempt.passed,
            points_awarded=attempt.points_awarded,
            results=results_of(done) if done is not None else None,
        )


class QuestionStatRead(BaseModel):
    question_id: str
    stem: str
    answered: int
    correct_rate: float | None


class OrgStatRead(BaseModel):
    org_id: str | None
    org_name: str
    people: int
    passed: int


class QuizStatsRead(BaseModel):
    attempts: int
    people: int
    pass_rate: float | None
    questions: list[QuestionStatRead]
    orgs: list[OrgStatRead]

    @classmethod
    def of(cls, stats: QuizStats) -> QuizStatsRead:
        return cls(
            attempts=stats.attempts,
            people=stats.people,
            pass_rate=stats.pass_rate,
            questions=[
                QuestionStatRead(
                    question_id=str(q.question_id), stem=q.stem, answered=q.answered, correct_rate=q.correct_rate
                )
                for q in stats.questions
            ],
            orgs=[
                OrgStatRead(
                    org_id=str(o.org_id) if o.org_id else None, org_name=o.org_name, people=o.people, passed=o.passed
                )
                for o in stats.orgs
            ],
        )
