"""Quizzes (网络普法答题): start an attempt, answer, finish, read it back; the staff's figures."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.quiz_schemas import AnswerIn, QuizAttemptRead, QuizAttemptStarted, QuizResult, QuizStatsRead
from models.enrollment import NotEnrolled, NotInAudience
from models.quiz_attempts import (
    QuizAttemptsExhausted,
    QuizFinished,
    QuizNotStarted,
    QuizTimeUp,
    answer,
    attempt_questions,
    finish,
    get_attempt,
    my_choices,
    quiz_stats,
    read_attempt,
    result_of,
    start_attempt,
)
from models.tasks import TaskClosed
from models.users import MEMBER_ROLES, STAFF_ROLES, User
from server.kernel.clock import now_utc
from server.kernel.errors import Conflict, NotFound
from server.web.endpoint import endpoint, json_response, no_content
from server.web.permissions import managed_task, readable_attempt, visible_task
from server.web.services import Services

bp = Blueprint("quiz")


@bp.post("/tasks/<task_id:id>/quiz/attempts")
@endpoint(
    summary="开始答题",
    roles=MEMBER_ROLES,
    response=QuizAttemptStarted,
    status=201,
    rate_limit="quiz_start",
    errors=(NotFound, TaskClosed, QuizNotStarted, NotEnrolled, NotInAudience, QuizAttemptsExhausted, Conflict),
    tag="quiz",
)
async def start(request: Request, task_id: int, user: User) -> HTTPResponse:
    """Draw the questions (options shuffled per attempt) and start the clock; no answers in the reply."""
    attempt = await start_attempt(await visible_task(task_id, user), user, now_utc())
    return json_response(QuizAttemptStarted.of(attempt, await attempt_questions(attempt)), status=201)


@bp.put("/quiz-attempts/<attempt_id:id>/answers/<question_id:id>")
@endpoint(
    summary="作答一题",
    roles=MEMBER_ROLES,
    body=AnswerIn,
    status=204,
    rate_limit="quiz_answer",
    errors=(NotFound, QuizTimeUp, QuizFinished),
    tag="quiz",
)
async def put_answer(
    request: Request, attempt_id: int, question_id: int, user: User, body: AnswerIn, services: Services
) -> HTTPResponse:
    """Answer (or change the answer to) one question, indexes as shown; refused after the deadline."""
    attempt = await get_attempt(attempt_id)
    await answer(attempt, user, question_id, body.choice, now_utc(), services.effects)
    return no_content()


@bp.post("/quiz-attempts/<attempt_id:id>/finish")
@endpoint(
    summary="交卷",
    roles=MEMBER_ROLES,
    response=QuizResult,
    idempotent=True,
    rate_limit="quiz_answer",
    errors=(NotFound,),
    tag="quiz",
)
async def post_finish(request: Request, attempt_id: int, user: User, services: Services) -> HTTPResponse:
    """Score the attempt (what came in time) and award the points once a day; finishing again answers the same."""
    done = await finish(await get_attempt(attempt_id), user, now_utc(), services.effects)
    return json_response(QuizResult.of(done))


@bp.get("/quiz-attempts/<attempt_id:id>")
@endpoint(summary="答题记录", response=QuizAttemptRead, errors=(NotFound,), tag="quiz")
async def get_one(request: Request, attempt_id: int, user: User, services: Services) -> HTTPResponse:
    """The attempt (its owner; staff of the task's subtree); results only once finished. One left
    open past its deadline is finished now with what came in time."""
    attempt = await read_attempt(await readable_attempt(attempt_id, user), now_utc(), services.effects)
    done = await result_of(attempt) if attempt.finished_at is not None else None
    body = QuizAttemptRead.of(attempt, await attempt_questions(attempt), await my_choices(attempt), done)
    return json_response(body)


@bp.get("/tasks/<task_id:id>/quiz/stats")
@endpoint(summary="答题统计", roles=STAFF_ROLES, response=QuizStatsRead, errors=(NotFound,), tag="quiz")
async def stats(request: Request, task_id: int, user: User) -> HTTPResponse:
    """Finished attempts, people, pass rate, each question's correct rate (worst first), people by org."""
    task = await managed_task(task_id, user)
    return json_response(QuizStatsRead.of(await quiz_stats(task)))
