"""The question bank (题库): write, list, retire, and the rules a question must meet, in one place.

Every way a question comes in (the API's body, the console's form, a row of an imported file)
goes through ``clean_question``; a stem alike to another of the same org but for spaces and
punctuation is the same question (``stem_key``) and is refused, naming the one already there.
A question ever drawn in an attempt is retired, never deleted, so past attempts stay readable;
its wording and answer are then fixed (tags, difficulty and explanation may still change).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.audit import record
from models.orgs import Org
from models.quiz import QUESTION_TYPES, Question, QuizAnswer, QuizAttempt
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.errors import Conflict, InvalidRequest

MIN_OPTIONS, MAX_OPTIONS = 2, 6
MAX_STEM, MAX_OPTION, MAX_EXPLANATION = 500, 200, 1000
MAX_TAGS, MAX_TAG = 10, 20
DIFFICULTIES = (1, 2, 3)
TYPE_NAMES = {"single": "单选", "multi": "多选", "judge": "判断"}
LETTERS = "ABCDEF"
# What a used question may still change: its wording and answer are part of past attempts.
CHANGEABLE_WHEN_USED = frozenset({"explanation", "tags", "difficulty"})


class DuplicateQuestion(Conflict):
    code, message = "duplicate_question", "题库中已有相同题干的题目"

    @classmethod
    def of(cls, existing_id: int) -> DuplicateQuestion:
        return cls(f"题库中已有相同题干的题目（编号 {existing_id}）", details={"question_id": str(existing_id)})


class QuestionInUse(Conflict):
    code, message = "question_in_use", "题目已被答题使用，只能修改解析、标签和难度"


def stem_key(stem: str) -> str:
    """sha256 (hex) of the stem with width, case, whitespace and punctuation folded away."""
    folded = unicodedata.normalize("NFKC", stem).casefold()
    kept = "".join(ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith("P"))
    return hashlib.sha256(kept.encode()).hexdigest()


# -- the rules ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _answer_errors(kind: str, options: list[str], answer: Any) -> str | None:
    if kind == "judge":
        return None if isinstance(answer, bool) else "判断题的答案须为“对”或“错”（true/false）"
    if not isinstance(answer, list) or not answer or any(type(i) is not int for i in answer):
        return "请选择正确答案"
    if len(set(answer)) != len(answer):
        return "答案中有重复的选项"
    if any(not 0 <= i < len(options) for i in answer):
        return "答案中的选项超出了已填写的选项"
    if kind == "single" and len(answer) != 1:
        return "单选题只能有一个正确答案"
    return None  # a multi-choice question may have one right option: people must still not tick others


def clean_question(data: dict[str, Any]) -> dict[str, Any]:
    """A whole question, checked and tidied (texts stripped, answer sorted, tags unique), or
    InvalidRequest naming each bad field in Chinese. The one place these rules live."""
    errors: dict[str, str] = {}
    kind = data.get("type")
    if kind not in QUESTION_TYPES:
        errors["type"] = "题型须为单选、多选或判断"
    stem = _text(data.get("stem"))
    if not stem:
        errors["stem"] = "请填写题干"
    elif len(stem) > MAX_STEM:
        errors["stem"] = f"题干不能超过 {MAX_STEM} 字"
    options = [_text(o) for o in data.get("options") or []]
    if kind == "judge" and options:
        errors["options"] = "判断题不设选项"
    elif kind in ("single", "multi"):
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            errors["options"] = f"选择题须有 {MIN_OPTIONS}–{MAX_OPTIONS} 个选项"
        elif any(not o for o in options):
            errors["options"] = "选项不能为空"
        elif any(len(o) > MAX_OPTION for o in options):
            errors["options"] = f"每个选项不能超过 {MAX_OPTION} 字"
        elif len(set(options)) != len(options):
            errors["options"] = "选项不能重复"
    answer = data.get("answer")
    if isinstance(answer, list):
        answer = sorted(answer) if all(type(i) is int for i in answer) else answer
    if kind in QUESTION_TYPES and "options" not in errors and (reason := _answer_errors(kind, options, answer)):
        errors["answer"] = reason
    explanation = _text(data.get("explanation"))
    if len(explanation) > MAX_EXPLANATION:
        errors["explanation"] = f"解析不能超过 {MAX_EXPLANATION} 字"
    tags = list(dict.fromkeys(t for t in (_text(t) for t in data.get("tags") or []) if t))
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"标签最多 {MAX_TAGS} 个"
    elif any(len(t) > MAX_TAG for t in tags):
        errors["tags"] = f"每个标签不能超过 {MAX_TAG} 字"
    difficulty = data.get("difficulty", 1)
    if type(difficulty) is not int or difficulty not in DIFFICULTIES:
        errors["difficulty"] = "难度须为 1（易）、2（中）或 3（难）"
    if errors:
        raise InvalidRequest.fields(errors)
    return {
        "type": kind,
        "stem": stem,
        "options": options,
        "answer": answer,
        "explanation": explanation,
        "tags": tags,
        "difficulty": difficulty,
    }


# -- reading --------------------------------------------------------------------------------------


async def _json_holds(model: type[Any], column: str, value: Any) -> Q:
    """Rows whose JSON list ``column`` holds ``value``: jsonb containment on PostgreSQL, json_each on SQLite."""
    conn = model._meta.db
    if conn.capabilities.dialect == "postgres":
        return Q(**{f"{column}__contains": [value]})
    table = model._meta.db_table
    sql = f"SELECT id FROM {table} WHERE EXISTS (SELECT 1 FROM json_each({table}.{column}) WHERE value = ?)"
    rows = await conn.execute_query_dict(sql, [value])
    return Q(id__in=[row["id"] for row in rows])


async def get_question(question_id: int) -> Question | None:
    return await Question.get_or_none(id=question_id).select_related("org")


async def questions_page(
    *,
    scope_path: str | None,
    tag: str | None,
    kind: str | None,
    q: str | None,
    retired: bool,
    before_id: int | None,
    limit: int,
) -> list[Question]:
    """Newest first, ``limit + 1`` rows (``server.kernel.pagination.split_page``), orgs joined.

    ``scope_path`` keeps staff to their subtree; retired questions only with ``retired``."""
    rows = Question.all().select_related("org")
    if scope_path is not None:
        rows = rows.filter(org__path__startswith=scope_path)
    if not retired:
        rows = rows.filter(status="active")
    if tag:
        rows = rows.filter(await _json_holds(Question, "tags", tag))
    if kind:
        rows = rows.filter(type=kind)
    if q:
        rows = rows.filter(stem__icontains=q)
    if before_id:
        rows = rows.filter(id__lt=before_id)
    return await rows.order_by("-id").limit(limit + 1)


async def is_used(question: Question) -> bool:
    """Answered in, or drawn by, any attempt."""
    if await QuizAnswer.filter(question_id=question.id).exists():
        return True
    return await QuizAttempt.filter(await _json_holds(QuizAttempt, "question_ids", question.id)).exists()


async def _same_stem(org_id: int, key: str, but: int | None = None) -> Question | None:
    rows = Question.filter(org_id=org_id, stem_key=key)
    if but is not None:
        rows = rows.exclude(id=but)
    return await rows.first()


# -- writing --------------------------------------------------------------------------------------


async def _insert(data: dict[str, Any], org: Org, actor: User | None) -> Question:
    key = stem_key(data["stem"])
    if existing := await _same_stem(org.id, key):
        raise DuplicateQuestion.of(existing.id)
    try:
        async with in_transaction():  # a savepoint: PostgreSQL reads on after a refused insert
            question = await Question.create(**data, stem_key=key, org=org, created_by=actor)
    except IntegrityError:  # the same stem, written meanwhile
        existing = await _same_stem(org.id, key)
        raise DuplicateQuestion.of(existing.id if existing else 0) from None
    question.org = org
    return question


async def create_question(data: dict[str, Any], org: Org, actor: User) -> Question:
    """A new active question of ``org``'s bank; audited."""
    clean = clean_question(data)
    async with in_transaction():
        question = await _insert(clean, org, actor)
        await record(actor, "question_create", f"question:{question.id}", {"stem": clean["stem"][:50]})
    return question


async def update_question(question: Question, changes: dict[str, Any], actor: User) -> Question:
    """PATCH: the given fields over the stored ones, checked as a whole; audited."""
    current = {
        name: getattr(question, name)
        for name in ("type", "stem", "options", "answer", "explanation", "tags", "difficulty")
    }
    if changes.get("type") == "judge" and "options" not in changes:
        changes = {**changes, "options": []}
    clean = clean_question({**current, **changes})
    changed = {name: value for name, value in clean.items() if value != current[name]}
    if not changed:
        return question
    if set(changed) - CHANGEABLE_WHEN_USED and await is_used(question):
        raise QuestionInUse()
    key = stem_key(clean["stem"])
    if "stem" in changed and (existing := await _same_stem(question.org_id, key, but=question.id)):
        raise DuplicateQuestion.of(existing.id)
    async with in_transaction():
        try:
            async with in_transaction():  # a savepoint, as in _insert
                await Question.filter(id=question.id).update(**changed, stem_key=key, updated_at=now_utc())
        except IntegrityError:
            raise DuplicateQuestion.of(
                (await _same_stem(question.org_id, key, but=question.id) or question).id
            ) from None
        await record(actor, "question_update", f"question:{question.id}", {"fields": sorted(changed)})
    fresh = await get_question(question.id)
    assert fresh is not None
    return fresh


async def retire_or_delete(question: Question, actor: User) -> str:
    """ "retired" when any attempt drew or answered it (it stays for them), else "deleted"; audited."""
    used = await is_used(question)
    async with in_transaction():
        if used:
            await Question.filter(id=question.id).update(status="retired", updated_at=now_utc())
        else:
            await Question.filter(id=question.id).delete()
        outcome = "retired" if used else "deleted"
        details = {"outcome": outcome, "stem": question.stem[:50]}
        await record(actor, "question_retire", f"question:{question.id}", details)
    return outcome


# -- import ---------------------------------------------------------------------------------------

COLUMNS = ("题型", "题干", *(f"选项{letter}" for letter in LETTERS), "答案", "解析", "标签", "难度")
TYPE_WORDS = {
    "单选": "single",
    "单选题": "single",
    "single": "single",
    "多选": "multi",
    "多选题": "multi",
    "multi": "multi",
    "判断": "judge",
    "判断题": "judge",
    "judge": "judge",
}
JUDGE_WORDS = {
    "对": True,
    "正确": True,
    "√": True,
    "true": True,
    "错": False,
    "错误": False,
    "×": False,
    "x": False,
    "false": False,
}
DIFFICULTY_WORDS = {"": 1, "1": 1, "2": 2, "3": 3, "易": 1, "中": 2, "难": 3}
TAG_SEPARATORS = "、,，;；"
FIELD_NAMES = {
    "type": "题型",
    "stem": "题干",
    "options": "选项",
    "answer": "答案",
    "explanation": "解析",
    "tags": "标签",
    "difficulty": "难度",
}


class BankFileRejected(InvalidRequest):
    """The file is not a question table (no rows created)."""

    code = "invalid_question_file"


@dataclass
class RowError:
    row: int  # as the spreadsheet numbers it (the header is row 1)
    reason: str


@dataclass
class BankImport:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)


def check_header(header: Iterable[Any]) -> None:
    """The first row must be exactly the template's header (trailing empty cells aside)."""
    names = [str(h).strip() if h is not None else "" for h in header]
    while names and not names[-1]:
        names.pop()
    if tuple(names) != COLUMNS:
        raise BankFileRejected(f"表头须为：{'、'.join(COLUMNS)}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _row_question(cells: list[Any]) -> dict[str, Any]:
    """One row as the body ``clean_question`` checks; ValueError says what is wrong with it."""
    values = [_cell(c) for c in cells] + [""] * (len(COLUMNS) - len(cells))
    kind = TYPE_WORDS.get(values[0].casefold())
    if kind is None:
        raise ValueError("题型须为单选、多选或判断")
    given = values[2:8]
    last = max((i for i, text in enumerate(given) if text), default=-1)
    if kind == "judge":
        if last >= 0:
            raise ValueError("判断题不填选项")
        options: list[str] = []
        answer: Any = JUDGE_WORDS.get(values[8].casefold())
        if answer is None:
            raise ValueError(f"判断题答案“{values[8]}”无效，须为 对/错")
    else:
        options = given_options(given)
        if len(options) < MIN_OPTIONS:
            raise ValueError(f"选项太少：选择题至少 {MIN_OPTIONS} 个选项")
        answer = _letters(values[8], len(options))
    difficulty = DIFFICULTY_WORDS.get(values[11])
    if difficulty is None:
        raise ValueError(f"难度“{values[11]}”无效，须为 1–3 或 易/中/难")
    tags = values[10]
    for separator in TAG_SEPARATORS:
        tags = tags.replace(separator, " ")
    return {
        "type": kind,
        "stem": values[1],
        "options": options,
        "answer": answer,
        "explanation": values[9],
        "tags": tags.split(),
        "difficulty": difficulty,
    }


def given_options(boxes: list[str]) -> list[str]:
    """The options typed in the boxes 选项A–F: from A on without a gap (ValueError naming what is missing)."""
    last = max((i for i, text in enumerate(boxes) if text), default=-1)
    gaps = [LETTERS[i] for i in range(last) if not boxes[i]]
    if gaps:
        raise ValueError(f"缺少选项{'、'.join(gaps)}（选项须从 A 起连续填写）")
    return boxes[: last + 1]


def answer_letters(answer: list[int] | bool) -> str:
    """A stored answer as staff write it: ``ACD``, or 对/错."""
    if isinstance(answer, bool):
        return "对" if answer else "错"
    return "".join(LETTERS[i] for i in answer if 0 <= i < len(LETTERS))


def _letters(text: str, count: int) -> list[int]:
    letters = text.replace(" ", "").replace("，", "").replace(",", "").upper()
    if not letters:
        raise ValueError("缺少答案")
    bad = sorted({ch for ch in letters if ch not in LETTERS})
    if bad:
        raise ValueError(f"答案“{text}”无效：只能填选项字母 A–F")
    if len(set(letters)) != len(letters):
        raise ValueError(f"答案“{text}”中有重复的字母")
    beyond = [ch for ch in letters if LETTERS.index(ch) >= count]
    if beyond:
        raise ValueError(f"答案中的 {'、'.join(beyond)} 超出了已填写的选项（共 {count} 个）")
    return sorted(LETTERS.index(ch) for ch in letters)


def _reason(exc: InvalidRequest) -> str:
    fields = (exc.details or {}).get("fields", {})
    return "；".join(f"{FIELD_NAMES.get(k, k)}：{v}" for k, v in fields.items()) or exc.message


async def import_questions(
    header: list[Any], rows: list[tuple[int, list[Any]]], org: Org, actor: User, *, source: str
) -> BankImport:
    """One question per good row of the file into ``org``'s bank; every bad row reported with why,
    none stops the rest, a duplicate is never merged. A wrong header: BankFileRejected, nothing made."""
    check_header(header)
    result = BankImport()
    seen: dict[str, int] = {}
    for number, cells in rows:
        try:
            clean = clean_question(_row_question(cells))
            key = stem_key(clean["stem"])
            if key in seen:
                raise ValueError(f"与第 {seen[key]} 行题干重复")
            seen[key] = number
            async with in_transaction():
                await _insert(clean, org, actor)
        except ValueError as exc:
            result.errors.append(RowError(number, str(exc)))
        except DuplicateQuestion as exc:
            existing = (exc.details or {}).get("question_id")
            result.errors.append(RowError(number, f"题库中已有相同题干的题目（编号 {existing}）"))
        except InvalidRequest as exc:
            result.errors.append(RowError(number, _reason(exc)))
        else:
            result.created += 1
    details = {"source": source[:100], "org_id": org.id, "created": result.created, "errors": len(result.errors)}
    await record(actor, "question_import", f"org:{org.id}", details)
    return result
