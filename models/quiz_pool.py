"""The questions a task's quiz draws from, and the draw itself (reproducible from its seed).

A quiz draws from the bank of its campaign's org and of that org's ancestors (the orgs on
the path from the root down to it): a county's bank serves every township's campaign, a
township's bank its own campaigns only, never a sibling's or a child's. Only active questions
are drawn; those matching the quiz's ``types`` (any, when null) and sharing at least one of
its ``tags`` (any, when null or empty).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from models.orgs import Org
from models.quiz import Question
from server.kernel.errors import InvalidRequest


def bank_org_ids(org: Org) -> list[int]:
    """The campaign's org and its ancestors, from its materialised path "/1/4/9/"."""
    return [int(part) for part in org.path.strip("/").split("/") if part]


def matches(quiz: dict[str, Any], qtype: str, tags: list[str]) -> bool:
    types, wanted = quiz.get("types"), quiz.get("tags")
    if types and qtype not in types:
        return False
    return not wanted or bool(set(wanted) & set(tags or []))


async def eligible_questions(org: Org, quiz: dict[str, Any]) -> list[Question]:
    """The active questions a quiz of ``org``'s campaign may draw, sorted by id (the draw's order)."""
    rows = await Question.filter(org_id__in=bank_org_ids(org), status="active").order_by("id")
    return [q for q in rows if matches(quiz, q.type, q.tags)]


async def check_bank(org: Org, quiz: dict[str, Any] | None) -> None:
    """A quiz asks for no more questions than its bank holds (400 naming ``quiz.count``)."""
    if not quiz:
        return
    found = len(await eligible_questions(org, quiz))
    if found < quiz["count"]:
        reason = f"题库中符合条件的有效题目只有 {found} 道，少于答题题数 {quiz['count']}"
        raise InvalidRequest.fields({"quiz.count": reason})


@dataclass(frozen=True)
class Draw:
    question_ids: list[int]  # in the order drawn (and shown)
    option_orders: dict[str, list[int]]  # str(question id) → stored option index shown 1st, 2nd, …


def draw(seed: int, pool: list[Question], count: int) -> Draw:
    """``count`` questions of ``pool`` (sorted by id) and each one's option order, all from one Random(seed)."""
    rng = random.Random(seed)
    chosen = rng.sample(pool, min(count, len(pool)))
    orders: dict[str, list[int]] = {}
    for question in chosen:
        order = list(range(len(question.options)))
        rng.shuffle(order)
        orders[str(question.id)] = order
    return Draw([q.id for q in chosen], orders)
