"""网络普法 quizzes over the real HTTP API: who may start, the draw, answers through the shuffle,
the clock, scoring, the once-a-day award, and the staff's figures."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from models.ledger import LedgerEntry
from models.quiz import Question, QuizAnswer, QuizAttempt
from models.quiz_attempts import get_attempt, redraw
from models.users import User
from tests.factories import TASKS, campaign_body, published_task, task_body

QUIZ = {"count": 3, "time_limit_s": 600, "attempts_per_day": 2, "pass_score": 60, "points": 7}
FORBIDDEN_WORDS = ("answer", "explanation", "correct")


async def bank(org_id: int, n: int = 3, *, kind: str = "single", tags: list[str] | None = None) -> list[Question]:
    """``n`` questions of one type in an org's bank: option 0 right for single, 0 and 2 for multi, true for judge."""
    made = []
    for i in range(n):
        stem = f"{kind}题{org_id}-{i}：下列关于网络安全法的说法哪项正确？"
        options = [] if kind == "judge" else ["甲选项", "乙选项", "丙选项", "丁选项"]
        right: Any = True if kind == "judge" else ([0] if kind == "single" else [0, 2])
        made.append(
            await Question.create(
                org_id=org_id,
                type=kind,
                stem=stem,
                stem_key=hashlib.sha256(stem.encode()).hexdigest(),
                options=options,
                answer=right,
                explanation=f"解析{i}：依据网络安全法第十二条",
                tags=tags or ["网络安全法"],
                difficulty=1,
            )
        )
    return made


async def quiz_task(api, staff: str, org_id: int, quiz: dict | None = None, **overrides: Any) -> dict:
    return await published_task(api, staff, org_id, quiz=quiz or QUIZ, **{"quota": None, **overrides})


async def start(api, token: str, task_id: str):
    return await api.call("POST", f"{TASKS}/{task_id}/quiz/attempts", token=token)


def shown_right(attempt: QuizAttempt, question: Question) -> Any:
    """The right answer as this attempt shows it."""
    if question.type == "judge":
        return question.answer
    order = attempt.option_orders[str(question.id)]
    return [order.index(i) for i in question.answer]


async def put(api, token: str, attempt_id: str, question_id: Any, choice: Any):
    path = f"/api/v1/quiz-attempts/{attempt_id}/answers/{question_id}"
    return await api.call("PUT", path, token=token, json={"choice": choice})


async def answer_all(api, token: str, attempt_id: str, right: int) -> None:
    """Answer the first ``right`` questions rightly, the rest wrongly."""
    attempt = await QuizAttempt.get(id=int(attempt_id))
    for n, qid in enumerate(attempt.question_ids):
        question = await Question.get(id=qid)
        choice = shown_right(attempt, question)
        if n >= right:
            choice = (
                (not choice)
                if question.type == "judge"
                else [i for i in range(len(question.options)) if i not in choice][:1]
            )
        reply = await put(api, token, attempt_id, qid, choice)
        assert reply.status == 204, reply.body


async def finish(api, token: str, attempt_id: str, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else None
    return await api.call("POST", f"/api/v1/quiz-attempts/{attempt_id}/finish", token=token, headers=headers)


async def past_deadline(attempt_id: str, seconds: int = 60) -> None:
    """Move the attempt and its answers into the past: it started time_limit + ``seconds`` ago."""
    attempt = await QuizAttempt.get(id=int(attempt_id))
    shift = (attempt.deadline - attempt.started_at) + timedelta(seconds=seconds)
    await QuizAttempt.filter(id=attempt.id).update(
        started_at=attempt.started_at - shift, deadline=attempt.deadline - shift
    )
    for given in await QuizAnswer.filter(attempt_id=attempt.id):
        await QuizAnswer.filter(id=given.id).update(answered_at=given.answered_at - shift)


# -- the quiz on the task -------------------------------------------------------------------


async def test_task_takes_a_quiz_only_its_bank_can_fill(api, tree, staff):
    await bank(tree.west.id, 5)  # a sibling's bank serves nobody here
    body = {"quiz": QUIZ}
    reply = await api.call("POST", "/api/v1/campaigns", token=staff, json=_campaign(tree.east.id))
    campaign_id = reply.body["id"]
    refused = await api.call("POST", f"/api/v1/campaigns/{campaign_id}/tasks", token=staff, json=task_body(**body))
    assert refused.status == 400
    assert "quiz.count" in refused.body["error"]["details"]["fields"]

    await bank(tree.county.id, 2)  # the county's bank serves its townships
    await bank(tree.east.id, 1)
    made = await api.call("POST", f"/api/v1/campaigns/{campaign_id}/tasks", token=staff, json=task_body(**body))
    assert made.status == 201, made.body
    assert made.body["quiz"] == {
        k: QUIZ[k] for k in ("count", "time_limit_s", "attempts_per_day", "pass_score", "points")
    }

    bad = await api.call("PATCH", f"{TASKS}/{made.body['id']}", token=staff, json={"quiz": {**QUIZ, "count": 4}})
    assert bad.status == 400 and "quiz.count" in bad.body["error"]["details"]["fields"]
    wrong = await api.call(
        "PATCH", f"{TASKS}/{made.body['id']}", token=staff, json={"quiz": {**QUIZ, "pass_score": 101}}
    )
    assert wrong.status == 400 and "quiz.pass_score" in wrong.body["error"]["details"]["fields"]
    cleared = await api.call("PATCH", f"{TASKS}/{made.body['id']}", token=staff, json={"quiz": None})
    assert cleared.status == 200 and cleared.body["quiz"] is None


def _campaign(org_id: int) -> dict:
    return campaign_body(org_id, kind="law_outreach", title="网络普法")


# -- starting ---------------------------------------------------------------------------------


async def test_who_may_start(api, tree, staff):
    await bank(tree.east.id, 3)
    volunteer, _ = await api.person("volunteer", tree.east_village.id)
    outsider, _ = await api.person("volunteer", tree.west_village.id)

    plain = await published_task(api, staff, tree.east.id)
    assert (await start(api, volunteer, plain["id"])).status == 404  # no quiz

    with_quota = await quiz_task(api, staff, tree.east.id, quota=5)
    refused = await start(api, volunteer, with_quota["id"])
    assert (refused.status, refused.error_code) == (409, "not_enrolled")
    assert (await api.call("POST", f"{TASKS}/{with_quota['id']}/enroll", token=volunteer)).status == 201
    assert (await start(api, volunteer, with_quota["id"])).status == 201

    open_task = await quiz_task(api, staff, tree.east.id, audience={"org_ids": [str(tree.east.id)]})
    assert (await start(api, volunteer, open_task["id"])).status == 201  # no quota, no check-in: audience suffices
    stranger = await start(api, outsider, open_task["id"])
    assert (stranger.status, stranger.error_code) == (403, "not_in_audience")
    assert (await start(api, staff, open_task["id"])).status == 403


async def test_attempts_per_day_then_the_next_day(api, tree, staff):
    await bank(tree.east.id, 3)
    token, _ = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    first, second = await start(api, token, task["id"]), await start(api, token, task["id"])
    assert first.status == second.status == 201
    third = await start(api, token, task["id"])
    assert (third.status, third.error_code) == (409, "quiz_attempts_exhausted")

    for attempt in await QuizAttempt.filter(task_id=int(task["id"])):
        day = attempt.local_day - timedelta(days=1)
        await QuizAttempt.filter(id=attempt.id).update(local_day=day, started_at=attempt.started_at - timedelta(days=1))
    assert (await start(api, token, task["id"])).status == 201


async def test_the_started_attempt_tells_no_answer(api, tree, staff):
    questions = {q.id: q for q in await bank(tree.east.id, 2) + await bank(tree.east.id, 1, kind="judge")}
    token, _ = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    reply = await start(api, token, task["id"])
    assert reply.status == 201

    text = json.dumps(reply.body, ensure_ascii=False).lower()
    headers = json.dumps(dict(reply.headers), ensure_ascii=False).lower()
    for word in FORBIDDEN_WORDS:
        assert word not in text and word not in headers, word
    for q in questions.values():
        assert q.explanation not in text
    assert set(reply.body) == {"id", "task_id", "questions", "started_at", "deadline"}
    for shown in reply.body["questions"]:
        assert set(shown) == {"id", "type", "stem", "options"}
        stored = questions[int(shown["id"])]
        assert sorted(shown["options"]) == sorted(stored.options)  # a permutation of the stored options

    spec = (await api.call("GET", "/docs/openapi.json")).body["components"]["schemas"]
    for name in ("QuizAttemptStarted", "QuestionShown"):
        documented = json.dumps(spec[name], ensure_ascii=False).lower()
        for word in FORBIDDEN_WORDS:
            assert word not in documented, (name, word)


async def test_redraw_reproduces_the_attempt(api, tree, staff):
    await bank(tree.east.id, 8)
    token, _ = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    reply = await start(api, token, task["id"])
    attempt = await get_attempt(int(reply.body["id"]))
    again = await redraw(attempt)
    assert again.question_ids == attempt.question_ids
    assert again.option_orders == attempt.option_orders
    assert [q["id"] for q in reply.body["questions"]] == [str(i) for i in attempt.question_ids]


# -- answering and finishing -------------------------------------------------------------------


async def test_answers_map_through_the_shuffle_and_score(api, tree, staff):
    await bank(tree.east.id, 3)
    token, user_id = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    attempt_id = (await start(api, token, task["id"])).body["id"]
    await answer_all(api, token, attempt_id, right=1)

    result = await finish(api, token, attempt_id)
    assert result.status == 200, result.body
    assert result.body["score"] == 33.3 and result.body["passed"] is False and result.body["points_awarded"] == 0
    attempt = await QuizAttempt.get(id=int(attempt_id))
    for n, item in enumerate(result.body["results"]):
        question = await Question.get(id=int(item["question_id"]))
        assert item["correct"] is (n == 0)
        assert item["answer"] == sorted(shown_right(attempt, question))
        assert item["explanation"] == question.explanation
    stored = await QuizAnswer.get(attempt_id=attempt.id, question_id=attempt.question_ids[0])
    assert stored.choice == [0]  # the right option as stored, whatever position it was shown at
    assert not await LedgerEntry.filter(user_id=user_id).exists()

    again = await put(api, token, attempt_id, attempt.question_ids[0], [0])
    assert (again.status, again.error_code) == (409, "quiz_finished")


async def test_multi_choice_is_all_or_nothing_and_bad_choices_name_the_field(api, tree, staff):
    await bank(tree.east.id, 2, kind="multi")
    token, _ = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id, quiz={**QUIZ, "count": 2})
    attempt_id = (await start(api, token, task["id"])).body["id"]
    attempt = await QuizAttempt.get(id=int(attempt_id))
    first, second = [await Question.get(id=i) for i in attempt.question_ids]

    for bad in ([], [0, 0], [9], True):
        reply = await put(api, token, attempt_id, first.id, bad)
        assert reply.status == 400 and "choice" in reply.body["error"]["details"]["fields"], bad
    assert (await put(api, token, attempt_id, first.id, shown_right(attempt, first))).status == 204
    assert (await put(api, token, attempt_id, second.id, shown_right(attempt, second)[:1])).status == 204  # half right
    missing = await put(api, token, attempt_id, 999999, [0])
    assert missing.status == 404

    result = (await finish(api, token, attempt_id)).body
    assert [r["correct"] for r in result["results"]] == [True, False]
    assert result["score"] == 50.0


async def test_the_deadline(api, tree, staff):
    await bank(tree.east.id, 3)
    token, _ = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)

    # An answer after the deadline is refused, and the attempt is finished with what came in time.
    late = (await start(api, token, task["id"])).body["id"]
    attempt = await QuizAttempt.get(id=int(late))
    await put(
        api, token, late, attempt.question_ids[0], shown_right(attempt, await Question.get(id=attempt.question_ids[0]))
    )
    await past_deadline(late)
    refused = await put(api, token, late, attempt.question_ids[1], [0])
    assert (refused.status, refused.error_code) == (409, "quiz_time_up")
    assert (await QuizAttempt.get(id=int(late))).finished_at is not None

    # A finish after the deadline counts only answers given before it.
    second = (await start(api, token, task["id"])).body["id"]
    await answer_all(api, token, second, right=3)
    await past_deadline(second)
    attempt = await QuizAttempt.get(id=int(second))
    for n, qid in enumerate(attempt.question_ids):
        at = attempt.deadline + (timedelta(seconds=5) if n == 2 else -timedelta(seconds=30))
        await QuizAnswer.filter(attempt_id=attempt.id, question_id=qid).update(answered_at=at)
    result = (await finish(api, token, second)).body
    assert [r["correct"] for r in result["results"]] == [True, True, False]
    assert result["score"] == 66.7 and result["passed"] is True
    assert result["results"][2]["choice"] is None


async def test_reading_an_overdue_attempt_finishes_it(api, tree, staff):
    await bank(tree.east.id, 3)
    token, user_id = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    attempt_id = (await start(api, token, task["id"])).body["id"]
    await answer_all(api, token, attempt_id, right=3)

    open_read = await api.call("GET", f"/api/v1/quiz-attempts/{attempt_id}", token=token)
    assert open_read.status == 200 and open_read.body["results"] is None and len(open_read.body["choices"]) == 3
    assert "explanation" not in json.dumps(open_read.body)

    await past_deadline(attempt_id)
    read = await api.call("GET", f"/api/v1/quiz-attempts/{attempt_id}", token=token)
    assert read.status == 200
    assert read.body["finished_at"] is not None and read.body["score"] == 100.0 and read.body["points_awarded"] == 7
    assert len(read.body["results"]) == 3
    assert (await User.get(id=user_id)).points == 7


async def test_a_pass_awards_once_a_day(api, tree, staff):
    await bank(tree.east.id, 3)
    token, user_id = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    first = (await start(api, token, task["id"])).body["id"]
    await answer_all(api, token, first, right=3)
    result = await finish(api, token, first, key="finish-1")
    assert result.body["passed"] is True and result.body["points_awarded"] == 7
    assert (await finish(api, token, first)).body == result.body  # finishing twice: the same result
    assert (await finish(api, token, first, key="finish-1")).body == result.body

    second = (await start(api, token, task["id"])).body["id"]
    await answer_all(api, token, second, right=3)
    other = (await finish(api, token, second)).body
    assert other["passed"] is True and other["points_awarded"] == 0

    entries = await LedgerEntry.filter(user_id=user_id)
    assert len(entries) == 1 and entries[0].points == 7 and entries[0].reason.startswith("网络普法答题通过")
    assert entries[0].org_id == tree.east_village.id and entries[0].campaign_id
    assert (await User.get(id=user_id)).points == 7
    points = await api.call("GET", "/api/v1/me/points", token=token)
    assert [e["points"] for e in points.body["items"]] == [7]
    board = await api.call("GET", "/api/v1/leaderboard", token=token)
    assert [(i["user"]["id"], i["points"]) for i in board.body["items"]] == [(str(user_id), 7)]


async def test_an_attempt_is_its_owners(api, tree, staff):
    await bank(tree.east.id, 3)
    token, _ = await api.person("volunteer", tree.east_village.id)
    other, _ = await api.person("volunteer", tree.east_village.id)
    west_staff, _ = await api.person("staff", tree.west.id)
    task = await quiz_task(api, staff, tree.east.id)
    attempt_id = (await start(api, token, task["id"])).body["id"]
    qid = (await QuizAttempt.get(id=int(attempt_id))).question_ids[0]

    assert (await put(api, other, attempt_id, qid, [0])).status == 404
    assert (await finish(api, other, attempt_id)).status == 404
    assert (await api.call("GET", f"/api/v1/quiz-attempts/{attempt_id}", token=other)).status == 404
    assert (await api.call("GET", f"/api/v1/quiz-attempts/{attempt_id}", token=west_staff)).status == 404
    assert (await api.call("GET", f"/api/v1/quiz-attempts/{attempt_id}", token=staff)).status == 200
    assert not await QuizAnswer.filter(attempt_id=int(attempt_id)).exists()


async def test_staff_see_the_worst_question_first(api, tree, staff):
    await bank(tree.east.id, 3)
    task = await quiz_task(api, staff, tree.east.id)
    people = [await api.person("volunteer", tree.east_village.id) for _ in range(2)]
    west = await api.person("volunteer", tree.west_village.id)
    for (token, _), right in zip([*people, west], (3, 1, 0), strict=True):
        attempt_id = (await start(api, token, task["id"])).body["id"]
        await answer_all(api, token, attempt_id, right=right)
        assert (await finish(api, token, attempt_id)).status == 200

    volunteer = await api.call("GET", f"{TASKS}/{task['id']}/quiz/stats", token=people[0][0])
    assert volunteer.status == 403
    reply = await api.call("GET", f"{TASKS}/{task['id']}/quiz/stats", token=staff)
    assert reply.status == 200, reply.body
    stats = reply.body
    assert (stats["attempts"], stats["people"], stats["pass_rate"]) == (3, 3, 33.3)
    rates = [q["correct_rate"] for q in stats["questions"]]
    assert rates == sorted(rates) and all(q["answered"] == 3 for q in stats["questions"])
    assert rates[0] == 0.0 or rates[0] == 33.3
    by_org = {o["org_name"]: (o["people"], o["passed"]) for o in stats["orgs"]}
    assert by_org == {"东村": (2, 1), "西村": (1, 0)}


async def test_export_lists_attempts_without_answers(api, tree, staff):
    await bank(tree.east.id, 3)
    token, _ = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    attempt_id = (await start(api, token, task["id"])).body["id"]
    await answer_all(api, token, attempt_id, right=2)
    await finish(api, token, attempt_id)
    export = await api.call("GET", "/api/v1/me/export", token=token)
    (row,) = export.body["quiz_attempts"]
    assert row["id"] == attempt_id and row["score"] == 66.7 and row["passed"] is True
    assert "解析" not in json.dumps(export.body, ensure_ascii=False)


# -- races ---------------------------------------------------------------------------------------


async def test_racing_finishes_award_once(api, tree, staff):
    """8 finishes of one attempt and 2 attempts finished together: one ledger entry (PostgreSQL or SQLite)."""
    await bank(tree.east.id, 3)
    token, user_id = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id, quiz={**QUIZ, "attempts_per_day": 3})
    first = (await start(api, token, task["id"])).body["id"]
    await answer_all(api, token, first, right=3)
    replies = await asyncio.gather(*(finish(api, token, first) for _ in range(8)))
    assert {r.status for r in replies} == {200}
    assert len({json.dumps(r.body, sort_keys=True) for r in replies}) == 1
    assert await LedgerEntry.filter(user_id=user_id).count() == 1

    # Two attempts of another person, both passing, finished at once.
    other, other_id = await api.person("volunteer", tree.east_village.id)
    pair = [(await start(api, other, task["id"])).body["id"] for _ in range(2)]
    for attempt_id in pair:
        await answer_all(api, other, attempt_id, right=3)
    results = await asyncio.gather(*(finish(api, other, a) for a in pair))
    assert sorted(r.body["points_awarded"] for r in results) == [0, 7]
    assert await LedgerEntry.filter(user_id=other_id).count() == 1
    assert (await User.get(id=other_id)).points == 7


async def test_two_starts_at_once_keep_the_daily_limit(api, tree, staff):
    await bank(tree.east.id, 3)
    token, user_id = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id, quiz={**QUIZ, "attempts_per_day": 1})
    replies = await asyncio.gather(*(start(api, token, task["id"]) for _ in range(4)))
    assert sorted(r.status for r in replies) == [201, 409, 409, 409]
    assert await QuizAttempt.filter(user_id=user_id).count() == 1


async def test_choices_are_not_logged(api, tree, staff, caplog):
    await bank(tree.east.id, 3)
    token, _ = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    attempt_id = (await start(api, token, task["id"])).body["id"]
    caplog.clear()
    with caplog.at_level(logging.INFO):  # production's level
        await answer_all(api, token, attempt_id, right=3)
        await finish(api, token, attempt_id)
    lines = [record.getMessage() for record in caplog.records]
    assert any("/quiz-attempts/<attempt_id:id>/answers/<question_id:id> 204" in line for line in lines)
    for line in lines:
        assert "choice" not in line and f"/quiz-attempts/{attempt_id}/" not in line and "解析" not in line, line


async def test_an_erased_person_s_attempts_stay_anonymous(api, tree, staff):
    await bank(tree.east.id, 3)
    token, user_id = await api.person("volunteer", tree.east_village.id)
    task = await quiz_task(api, staff, tree.east.id)
    attempt_id = (await start(api, token, task["id"])).body["id"]
    await answer_all(api, token, attempt_id, right=3)
    await finish(api, token, attempt_id)
    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204

    assert await QuizAttempt.filter(id=int(attempt_id), user_id=user_id).exists()
    assert (await User.get(id=user_id)).deleted_at is not None
    stats = (await api.call("GET", f"{TASKS}/{task['id']}/quiz/stats", token=staff)).body
    assert (stats["attempts"], stats["people"], stats["pass_rate"]) == (1, 1, 100.0)
