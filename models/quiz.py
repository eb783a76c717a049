"""网络普法 quizzes: the question bank, a task's quiz, attempts and their answers.

Tables only; the operations live beside them: ``models.question_bank`` (the bank: write, import,
retire) and ``models.quiz_attempts`` (draw, answer, finish, score, award, stats).

A question's answer is stored as indexes into its own ``options`` (0-based) or, for a judge
(true/false) question, a boolean. An attempt stores its seed, the questions it drew and the
option order each was shown in, so any attempt can be drawn again exactly and audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.campaigns import Task
    from models.orgs import Org
    from models.users import User

QUESTION_TYPES = ("single", "multi", "judge")
QUESTION_STATUSES = ("active", "retired")


class Question(Model):
    """One question of an org's bank, managed by staff of the org's subtree (admins: every bank)."""

    id = fields.IntField(primary_key=True)
    org: fields.ForeignKeyRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="questions", on_delete=fields.RESTRICT
    )
    type = fields.CharField(max_length=8)
    stem = fields.TextField()
    # The stem with spaces and punctuation folded away: two stems alike but for those are one question.
    stem_key = fields.CharField(max_length=64)
    options = fields.JSONField(default=list)  # 2–6 texts; [] for judge
    answer = fields.JSONField()  # [indexes into options] | true | false
    explanation = fields.TextField(default="")
    tags = fields.JSONField(default=list)
    difficulty = fields.IntField(default=1)  # 1 easy .. 3 hard
    status = fields.CharField(max_length=8, default="active", db_index=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="questions", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    org_id: int

    class Meta:
        table = "questions"
        unique_together = (("org", "stem_key"),)


class QuizAttempt(Model):
    """One sitting of a task's quiz by one person, timed by the server's clock only."""

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="quiz_attempts", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="quiz_attempts", on_delete=fields.CASCADE
    )
    local_day = fields.DateField()  # the Asia/Shanghai day it started: attempts per day count by it
    seed = fields.BigIntField()
    question_ids = fields.JSONField(default=list)  # in the order drawn
    option_orders = fields.JSONField(default=dict)  # str(question id) → [stored index shown 1st, 2nd, …]
    started_at = fields.DatetimeField()
    deadline = fields.DatetimeField(db_index=True)
    finished_at = fields.DatetimeField(null=True)
    score = fields.DecimalField(max_digits=4, decimal_places=1, null=True)  # percent
    passed = fields.BooleanField(null=True)
    points_awarded = fields.IntField(default=0)

    task_id: int
    user_id: int

    class Meta:
        table = "quiz_attempts"
        indexes = (("task_id", "user_id", "local_day"),)


class QuizAnswer(Model):
    """The answer given to one question of an attempt (changeable until it finishes)."""

    id = fields.IntField(primary_key=True)
    attempt: fields.ForeignKeyRelation[QuizAttempt] = fields.ForeignKeyField(
        "models.QuizAttempt", related_name="answers", on_delete=fields.CASCADE
    )
    question: fields.ForeignKeyRelation[Question] = fields.ForeignKeyField(
        "models.Question", related_name="answers", on_delete=fields.RESTRICT
    )
    choice = fields.JSONField()  # as stored: [indexes into the question's options] | true | false
    correct = fields.BooleanField(null=True)  # set when the attempt finishes
    answered_at = fields.DatetimeField()

    attempt_id: int
    question_id: int

    class Meta:
        table = "quiz_answers"
        unique_together = (("attempt", "question"),)
