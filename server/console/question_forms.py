"""The 题库 form: what staff type (a box per option, ticks for the answer) as the bank's question.

The same rules as the API and the import (``models.question_bank.clean_question``); errors come back
under the form's field names."""

from __future__ import annotations

from typing import Any

from models.question_bank import LETTERS, TAG_SEPARATORS, TYPE_NAMES, clean_question, given_options
from models.quiz import Question
from server.kernel.errors import InvalidRequest

OPTION_FIELDS = tuple(f"option_{letter.lower()}" for letter in LETTERS)
TYPE_OPTIONS = list(TYPE_NAMES.items())
DIFFICULTY_OPTIONS = [("1", "易"), ("2", "中"), ("3", "难")]
JUDGE_OPTIONS = [("true", "对"), ("false", "错")]


def split_tags(text: str) -> list[str]:
    for separator in TAG_SEPARATORS:
        text = text.replace(separator, " ")
    return text.split()


def question_data(values: dict[str, str], letters: list[str]) -> dict[str, Any]:
    """The form as a checked question (``clean_question``), or InvalidRequest naming each bad field."""
    errors: dict[str, str] = {}
    kind = values.get("type", "")
    options: list[str] = []
    answer: Any = None
    if kind == "judge":
        answer = {"true": True, "false": False}.get(values.get("judge", ""))
        if any(values.get(name) for name in OPTION_FIELDS):
            errors["options"] = "判断题不填选项，请清空选项A–F"
    else:
        try:
            options = given_options([values.get(name, "") for name in OPTION_FIELDS])
        except ValueError as exc:
            errors["options"] = str(exc)
        answer = sorted(LETTERS.index(letter) for letter in set(letters) if letter in LETTERS)
    difficulty = values.get("difficulty", "1")
    data = {
        "type": kind,
        "stem": values.get("stem", ""),
        "options": options,
        "answer": answer,
        "explanation": values.get("explanation", ""),
        "tags": split_tags(values.get("tags", "")),
        "difficulty": int(difficulty) if difficulty.isdigit() else 0,
    }
    try:
        clean = clean_question(data)
    except InvalidRequest as exc:
        errors = {**(exc.details or {}).get("fields", {}), **errors}
        if kind == "judge" and "answer" in errors:
            errors["answer"] = "请选择判断题的答案：对或错"
        raise InvalidRequest.fields(errors, "请修改标红的内容后再保存") from None
    if errors:
        raise InvalidRequest.fields(errors, "请修改标红的内容后再保存")
    return clean


def question_values(question: Question) -> tuple[dict[str, str], list[str]]:
    """A stored question as its edit form shows it: (the fields, the ticked answer letters)."""
    values = {
        "type": question.type,
        "stem": question.stem,
        "explanation": question.explanation,
        "tags": "、".join(question.tags),
        "difficulty": str(question.difficulty),
        "org_id": str(question.org_id),
    }
    for name, text in zip(OPTION_FIELDS, question.options, strict=False):
        values[name] = text
    if isinstance(question.answer, bool):
        values["judge"] = "true" if question.answer else "false"
        return values, []
    return values, [LETTERS[i] for i in question.answer]
