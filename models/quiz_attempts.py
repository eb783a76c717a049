"""Taking a task's quiz: start (draw), answer, finish (score, award), and the staff's figures.

Server time is the only clock: the deadline is set at the start (``started_at +
time_limit_s``), answers after it are refused, a finish after it counts what came in time,
and an attempt left open is finished by the server when it is next read or answered
(``read_attempt``, ``answer``): its score is the same whenever that happens.

Who may start: people enrolled in the task, or, for a task without quota and without
check-in, anyone of its audience (the rule enrollment uses, ``models.tasks.in_audience``).
Attempts per day count by the Asia/Shanghai day the attempt started on; the person's row is
locked while counting, so two simultaneous starts cannot pass the limit together.

Points: a passed attempt awards the quiz's points through the ledger at most once per person,
task and day (``LedgerEntry.once_key``, unique): a retried finish, a second passing attempt
and a race of finishes all award once. Quizzes award points only, never service hours.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from models.campaigns import Enrollment, Task
from models.enrollment import NotEnrolled, NotInAudience, ensure_open
from models.ledger import LedgerEntry, write_entry
from models.orgs import org_names
from models.quiz import Question, QuizAnswer, QuizAttempt
from models.quiz_pool import Draw, draw, eligible_questions
from models.tasks import in_audience
from models.users import User
from server.kernel.clock import local_day
from server.kernel.effects import AfterCommit
from server.kernel.errors import Conflict, InvalidRequest, NotFound
from server.kernel.ids import is_id

SCORE_STEP = Decimal("0.1")
NO_ORG = "未设置组织"


class NoQuiz(NotFound):
    message = "该任务没有设置答题"


class QuizNotStarted(Conflict):
    code, message = "task_not_started", "任务尚未开始，暂不能答题"


class QuizAttemptsExhausted(Conflict):
    code, message = "quiz_attempts_exhausted", "今日答题次数已用完，请明天再来"


class QuizTimeUp(Conflict):
    code, message = "quiz_time_up", "答题时间已到，不能再作答"


class QuizFinished(Conflict):
    code, message = "quiz_finished", "本次答题已交卷，不能再修改"


# -- reading ------------------------------------------------------------------------------------


async def get_attempt(attempt_id: int) -> QuizAttempt:
    """The attempt with its task, campaign and campaign org (404 when there is none)."""
    found = (
        await QuizAttempt.get_or_none(id=attempt_id).select_related("task__campaign__org")
        if is_id(attempt_id)
        else None
    )
    if found is None:
        raise NotFound("答题记录不存在")
    return found


def own_attempt(attempt: QuizAttempt, user: User) -> QuizAttempt:
    """Only its owner answers and finishes an attempt; to anyone else it does not exist."""
    if attempt.user_id != user.id:
        raise NotFound("答题记录不存在")
    return attempt


async def attempt_questions(attempt: QuizAttempt) -> list[Question]:
    """The attempt's questions in the order drawn (one query)."""
    rows = {q.id: q for q in await Question.filter(id__in=attempt.question_ids)}
    return [rows[i] for i in attempt.question_ids if i in rows]


def shown_options(question: Question, attempt: QuizAttempt) -> list[str]:
    order = attempt.option_orders.get(str(question.id), [])
    return [question.options[i] for i in order]


def to_shown(stored: Any, order: list[int]) -> Any:
    """Stored indexes (or a judge's bool) as this attempt showed them."""
    if isinstance(stored, bool) or stored is None:
        return stored
    return sorted(order.index(i) for i in stored)


# -- starting -----------------------------------------------------------------------------------


async def may_start(task: Task, user: User) -> None:
    """Enrolled, or (no quota, no check-in) in the task's audience."""
    enrolled = await Enrollment.filter(task_id=task.id, user_id=user.id).exclude(status="withdrawn").exists()
    if enrolled:
        return
    if not in_audience(task, user):
        raise NotInAudience()
    if task.quota is not None or task.checkin_required:
        raise NotEnrolled("请先报名该任务再答题")


async def start_attempt(task: Task, user: User, now: datetime) -> QuizAttempt:
    """Draw the questions (seed stored) and start the clock; refused past attempts_per_day."""
    quiz = task.quiz
    if not quiz:
        raise NoQuiz()
    ensure_open(task, now)
    if now < task.starts_at:
        raise QuizNotStarted()
    await may_start(task, user)
    pool = await eligible_questions(task.campaign.org, quiz)
    if not pool:
        raise Conflict("题库中暂无可用题目，请联系工作人员")
    seed = secrets.randbits(63)
    drawn = draw(seed, pool, quiz["count"])
    day = local_day(now)
    async with in_transaction():
        # The person's row, locked: their attempts of the day are counted one start at a time.
        await User.filter(id=user.id).select_for_update().first()
        today = await QuizAttempt.filter(task_id=task.id, user_id=user.id, local_day=day).count()
        if today >= quiz["attempts_per_day"]:
            raise QuizAttemptsExhausted()
        attempt = await QuizAttempt.create(
            task_id=task.id,
            user_id=user.id,
            local_day=day,
            seed=seed,
            question_ids=drawn.question_ids,
            option_orders=drawn.option_orders,
            started_at=now,
            deadline=now + timedelta(seconds=quiz["time_limit_s"]),
        )
    attempt.task = task
    return attempt


async def redraw(attempt: QuizAttempt) -> Draw:
    """The attempt's draw made again from its seed and the task's bank as it is now (an audit).

    Equal to the stored draw while the bank's eligible questions are as they were."""
    task = attempt.task
    pool = await eligible_questions(task.campaign.org, task.quiz or {})
    return draw(attempt.seed, pool, len(attempt.question_ids))


# -- answering ----------------------------------------------------------------------------------


def stored_choice(question: Question, order: list[int], choice: Any) -> Any:
    """A choice as shown → as stored; 400 naming ``choice`` when it does not fit the question."""
    if question.type == "judge":
        if not isinstance(choice, bool):
            raise InvalidRequest.fields({"choice": "判断题须回答 true（对）或 false（错）"})
        return choice
    if isinstance(choice, bool) or not isinstance(choice, list):
        raise InvalidRequest.fields({"choice": "须为所选选项的序号数组（从 0 起，按显示顺序）"})
    if any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(order) for i in choice):
        raise InvalidRequest.fields({"choice": f"选项序号须在 0 到 {len(order) - 1} 之间"})
    if len(set(choice)) != len(choice):
        raise InvalidRequest.fields({"choice": "选项序号不能重复"})
    if question.type == "single" and len(choice) != 1:
        raise InvalidRequest.fields({"choice": "单选题须选且只选一项"})
    if question.type == "multi" and not choice:
        raise InvalidRequest.fields({"choice": "多选题至少选一项"})
    return sorted(order[i] for i in choice)


async def answer(
    attempt: QuizAttempt, user: User, question_id: int, choice: Any, now: datetime, effects: AfterCommit
) -> None:
    """Record (or change) the answer to one question while the attempt is open and in time."""
    own_attempt(attempt, user)
    if question_id not in attempt.question_ids:
        raise NotFound("本次答题中没有这道题")
    if attempt.finished_at is not None:
        raise QuizFinished()
    if now > attempt.deadline:
        await finish(attempt, user, now, effects)
        raise QuizTimeUp()
    question = await Question.get(id=question_id)
    stored = stored_choice(question, attempt.option_orders.get(str(question_id), []), choice)
    async with in_transaction():
        # Locked, and still open: a finish committing meanwhile is not changed afterwards.
        open_row = await QuizAttempt.filter(id=attempt.id, finished_at__isnull=True).select_for_update().first()
        if open_row is None:
            raise QuizFinished()
        changed = await QuizAnswer.filter(attempt_id=attempt.id, question_id=question_id).update(
            choice=stored, answered_at=now
        )
        if not changed:
            await QuizAnswer.create(attempt_id=attempt.id, question_id=question_id, choice=stored, answered_at=now)


# -- finishing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    question_id: int
    correct: bool
    choice: Any  # as shown; None when unanswered (or answered too late)
    answer: Any  # the right answer, as shown
    explanation: str


@dataclass(frozen=True)
class Finished:
    attempt: QuizAttempt
    results: list[Result]


def is_correct(question: Question, stored: Any) -> bool:
    """All or nothing: a multi-choice answer is right only with exactly the right options."""
    if question.type == "judge":
        return isinstance(stored, bool) and stored == question.answer
    return sorted(stored or []) == sorted(question.answer)


def score_of(correct: int, count: int) -> Decimal:
    return (Decimal(100 * correct) / Decimal(max(count, 1))).quantize(SCORE_STEP, ROUND_HALF_UP)


async def finish(attempt: QuizAttempt, user: User | None, now: datetime, effects: AfterCommit) -> Finished:
    """Score the attempt once (what came in time); a pass awards points once per person, task and day.

    Finishing again, or racing another finish, returns the first one's result. ``user`` None:
    the server finishes an overdue attempt (on reading it)."""
    if user is not None:
        own_attempt(attempt, user)
    task = attempt.task
    if attempt.finished_at is None:
        try:
            entries = await _finish_once(attempt, task, now)
        except IntegrityError:
            # The day's award went to another attempt meanwhile: score again, without points.
            entries = await _finish_once(attempt, task, now)
        await effects.points_moved(entries)
    return await result_of(await get_attempt(attempt.id))


async def _finish_once(attempt: QuizAttempt, task: Task, now: datetime) -> list[LedgerEntry]:
    quiz = task.quiz or {}
    questions = await attempt_questions(attempt)
    async with in_transaction():
        row = await QuizAttempt.filter(id=attempt.id, finished_at__isnull=True).select_for_update().first()
        if row is None:
            return []  # finished by someone else first: theirs is the result
        given = {a.question_id: a for a in await QuizAnswer.filter(attempt_id=attempt.id)}
        right: list[int] = []
        wrong: list[int] = []
        for question in questions:
            entry = given.get(question.id)
            in_time = entry is not None and entry.answered_at <= attempt.deadline
            (right if in_time and is_correct(question, entry.choice) else wrong).append(question.id)
        score = score_of(len(right), len(attempt.question_ids))
        passed = score >= Decimal(quiz.get("pass_score", 100))
        points = int(quiz.get("points", 0)) if passed else 0
        entries: list[LedgerEntry] = []
        if points > 0:
            entries = await _award(attempt, task, points)
            points = sum(e.points for e in entries)
        changed = await QuizAttempt.filter(id=attempt.id, finished_at__isnull=True).update(
            finished_at=min(now, attempt.deadline),  # an overdue one ended at its deadline
            score=score,
            passed=passed,
            points_awarded=points,
        )
        if changed != 1:
            raise IntegrityError("attempt finished meanwhile")
        if right:
            await QuizAnswer.filter(attempt_id=attempt.id, question_id__in=right).update(correct=True)
        if wrong:
            await QuizAnswer.filter(attempt_id=attempt.id, question_id__in=wrong).update(correct=False)
    return entries


def once_key(task_id: int, user_id: int, day: date) -> str:
    return f"quiz:{task_id}:{user_id}:{day.isoformat()}"


async def _award(attempt: QuizAttempt, task: Task, points: int) -> list[LedgerEntry]:
    """The day's award, unless an earlier attempt of the day has it (IntegrityError in a race)."""
    key = once_key(task.id, attempt.user_id, attempt.local_day)
    if await LedgerEntry.filter(once_key=key).exists():
        return []
    person = await User.get(id=attempt.user_id).select_related("org")
    entry = await write_entry(
        person,
        kind="award",
        points=points,
        hours=Decimal("0"),
        reason=f"网络普法答题通过：{task.title}",
        campaign_id=task.campaign_id,
        once_key=key,
    )
    return [entry]


async def result_of(attempt: QuizAttempt) -> Finished:
    """A finished attempt's results, question by question, as this attempt showed them."""
    questions = await attempt_questions(attempt)
    given = {a.question_id: a for a in await QuizAnswer.filter(attempt_id=attempt.id)}
    results = []
    for question in questions:
        order = attempt.option_orders.get(str(question.id), [])
        entry = given.get(question.id)
        in_time = entry is not None and entry.answered_at <= attempt.deadline
        results.append(
            Result(
                question_id=question.id,
                correct=bool(entry and entry.correct),
                choice=to_shown(entry.choice, order) if in_time and entry else None,
                answer=to_shown(question.answer, order),
                explanation=question.explanation,
            )
        )
    return Finished(attempt, results)


async def read_attempt(attempt: QuizAttempt, now: datetime, effects: AfterCommit) -> QuizAttempt:
    """The attempt as it is now: one left open past its deadline is finished first."""
    if attempt.finished_at is None and now > attempt.deadline:
        await finish(attempt, None, now, effects)
        fresh = await get_attempt(attempt.id)
        return fresh
    return attempt


async def my_choices(attempt: QuizAttempt) -> dict[int, Any]:
    """The owner's answers so far, as shown to them."""
    rows = await QuizAnswer.filter(attempt_id=attempt.id)
    return {a.question_id: to_shown(a.choice, attempt.option_orders.get(str(a.question_id), [])) for a in rows}


# -- the staff's figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionStat:
    question_id: int
    stem: str
    answered: int
    correct_rate: float | None  # percent, one decimal


@dataclass(frozen=True)
class OrgStat:
    org_id: int | None
    org_name: str
    people: int
    passed: int


@dataclass(frozen=True)
class QuizStats:
    attempts: int
    people: int
    pass_rate: float | None
    questions: list[QuestionStat]
    orgs: list[OrgStat]


def _percent(part: int, whole: int) -> float | None:
    return float(score_of(part, whole)) if whole else None


async def quiz_stats(task: Task) -> QuizStats:
    """Finished attempts of a task: how many, by how many people, how many passed; each question's
    correct rate, worst first; people and passes by the participants' orgs. GROUP BY queries, six in all."""
    finished = QuizAttempt.filter(task_id=task.id, finished_at__isnull=False)
    (totals,) = await finished.annotate(attempts=Count("id"), people=Count("user_id", distinct=True)).values(
        "attempts", "people"
    )
    passes = await finished.filter(passed=True).count()
    given = QuizAnswer.filter(attempt__task_id=task.id, attempt__finished_at__isnull=False)
    answered = await given.annotate(n=Count("id")).group_by("question_id").values("question_id", "n")
    right = await given.filter(correct=True).annotate(n=Count("id")).group_by("question_id").values("question_id", "n")
    right_by = {row["question_id"]: row["n"] for row in right}
    stems = dict(await Question.filter(id__in=[r["question_id"] for r in answered]).values_list("id", "stem"))
    questions = [
        QuestionStat(
            question_id=r["question_id"],
            stem=stems.get(r["question_id"], ""),
            answered=r["n"],
            correct_rate=_percent(right_by.get(r["question_id"], 0), r["n"]),
        )
        for r in answered
    ]
    questions.sort(key=lambda q: (q.correct_rate if q.correct_rate is not None else 101.0, q.question_id))
    attempts = totals["attempts"] or 0
    return QuizStats(attempts, totals["people"] or 0, _percent(passes, attempts), questions, await _by_org(finished))


async def _by_org(finished: Any) -> list[OrgStat]:
    """People, and people who passed, by the org each participant is in now."""
    people = await (
        finished.annotate(n=Count("user_id", distinct=True)).group_by("user__org_id").values("user__org_id", "n")
    )
    passed = await (
        finished.filter(passed=True)
        .annotate(n=Count("user_id", distinct=True))
        .group_by("user__org_id")
        .values("user__org_id", "n")
    )
    passed_by = {row["user__org_id"]: row["n"] for row in passed}
    names = await org_names({row["user__org_id"] for row in people if row["user__org_id"] is not None})
    stats = [
        OrgStat(
            org_id=row["user__org_id"],
            org_name=names.get(row["user__org_id"], NO_ORG) if row["user__org_id"] else NO_ORG,
            people=row["n"],
            passed=passed_by.get(row["user__org_id"], 0),
        )
        for row in people
    ]
    return sorted(stats, key=lambda s: (-s.people, s.org_name))
