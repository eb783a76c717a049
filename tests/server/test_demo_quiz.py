"""The demo's 网络普法 bank is well formed, covers each law area, and seeds a campaign with a quiz task."""

from __future__ import annotations

from collections import Counter

import pytest

from models.campaigns import Campaign, Task
from models.question_bank import clean_question, stem_key
from models.quiz import Question
from server.demo import COUNTY, seed_orgs
from server.demo_quiz import LAW_AREAS, QUESTIONS, QUIZ, DemoQuestion
from server.kernel.clock import now_utc


def problems(q: DemoQuestion) -> list[str]:
    """What is wrong with one question, by the bank's rules."""
    found = []
    if q.type == "single":
        if not 2 <= len(q.options) <= 6:
            found.append("single: 2–6 options")
        if isinstance(q.answer, bool) or len(q.answer) != 1 or not 0 <= q.answer[0] < len(q.options):
            found.append("single: exactly one answer within the options")
    elif q.type == "multi":
        if not 3 <= len(q.options) <= 6:
            found.append("multi: 3–6 options")
        if isinstance(q.answer, bool) or len(set(q.answer)) < 2 or len(set(q.answer)) != len(q.answer):
            found.append("multi: two or more distinct answers")
        elif not all(0 <= i < len(q.options) for i in q.answer):
            found.append("multi: answers within the options")
    elif q.type == "judge":
        if q.options or not isinstance(q.answer, bool):
            found.append("judge: no options, a true/false answer")
    else:
        found.append(f"unknown type {q.type}")
    if len(set(q.options)) != len(q.options) or not all(o.strip() for o in q.options):
        found.append("options distinct and non-empty")
    if not q.stem.strip() or not q.explanation.strip():
        found.append("stem and explanation non-empty")
    if not q.tags or not 1 <= q.difficulty <= 3:
        found.append("tags and difficulty 1–3")
    return found


def test_the_bank_is_large_enough_and_mixes_the_three_types():
    assert len(QUESTIONS) >= 36
    types = Counter(q.type for q in QUESTIONS)
    assert set(types) == {"single", "multi", "judge"} and min(types.values()) >= 5


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.stem[:20])
def test_every_question_is_valid(question):
    assert problems(question) == []


def test_the_rules_catch_bad_questions():
    bad = (
        DemoQuestion("single", "题", ("甲", "乙"), (0, 1), "解析", ("宪法",)),
        DemoQuestion("single", "题", ("甲", "乙"), (2,), "解析", ("宪法",)),
        DemoQuestion("multi", "题", ("甲", "乙", "丙"), (0,), "解析", ("宪法",)),
        DemoQuestion("multi", "题", ("甲", "乙"), (0, 1), "解析", ("宪法",)),
        DemoQuestion("judge", "题", ("对", "错"), True, "解析", ("宪法",)),
        DemoQuestion("judge", "题", (), (0,), "解析", ("宪法",)),
        DemoQuestion("single", "题", ("甲", "乙"), (0,), " ", ("宪法",)),
    )
    assert all(problems(q) for q in bad)


def test_no_two_stems_are_the_same():
    keys = Counter(stem_key(q.stem) for q in QUESTIONS)
    assert [k for k, n in keys.items() if n > 1] == []


def test_each_law_area_has_six_questions_or_more():
    per_area = {area: sum(area in q.tags for q in QUESTIONS) for area in LAW_AREAS}
    assert min(per_area.values()) >= 6, per_area


def test_explanations_cite_their_source():
    for q in QUESTIONS:
        assert "《" in q.explanation or "专线" in q.explanation, q.stem


def test_every_question_passes_the_banks_own_rules():
    for q in QUESTIONS:
        clean_question(q.as_dict())  # raises InvalidRequest naming the field


async def test_seeding_creates_the_bank_campaign_and_quiz_task(api):
    from server.demo_quiz import seed_quiz

    orgs = await seed_orgs()
    ids = await seed_quiz(orgs, orgs[COUNTY])

    stored = await Question.filter(org_id=orgs[COUNTY]).order_by("id")
    assert len(stored) == len(QUESTIONS)
    assert {q.stem_key for q in stored} == {stem_key(q.stem) for q in QUESTIONS}
    first = stored[0]
    assert (first.type, first.options, first.answer, first.status) == (
        QUESTIONS[0].type,
        list(QUESTIONS[0].options),
        list(QUESTIONS[0].answer),
        "active",
    )
    judges = [q for q in stored if q.type == "judge"]
    assert judges and all(isinstance(q.answer, bool) and q.options == [] for q in judges)

    campaign = await Campaign.get(id=ids["quiz_campaign"])
    assert (campaign.title, campaign.kind, campaign.status, campaign.org_id) == (
        "网络普法进万家·宪法宣传周",
        "law_outreach",
        "published",
        orgs[COUNTY],
    )
    task = await Task.get(id=ids["quiz_task"])
    assert task.campaign_id == campaign.id and task.title == "宪法与网络法律知识答题"
    assert task.quota is None and not task.checkin_required and task.points == 5
    now = now_utc()
    assert task.starts_at <= now and 29 < (task.ends_at - now).total_seconds() / 86400 <= 30
    assert task.ends_at <= campaign.ends_at
    assert (
        task.quiz
        == QUIZ
        == {
            "count": 10,
            "tags": None,
            "types": None,
            "time_limit_s": 600,
            "attempts_per_day": 3,
            "pass_score": 60,
            "points": 5,
        }
    )
    # the quiz can be drawn: enough active questions for its count
    assert len(stored) >= task.quiz["count"]
