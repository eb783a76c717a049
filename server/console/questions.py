"""题库: the question bank of the staff member's subtree — list and filters, the question form,
停用/删除, and the file import.

Every step is the API's own: ``server.web.questions`` (list, import) and ``models.question_bank``
(create, update, retire or delete) with the scope rules of ``server.web.permissions``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from handlers.question_schemas import QuestionQuery
from models.console import ConsoleSession
from models.question_bank import (
    TYPE_NAMES,
    DuplicateQuestion,
    QuestionInUse,
    answer_letters,
    create_question,
    retire_or_delete,
    update_question,
)
from models.quiz import Question
from models.users import User
from server.console.forms import field_errors, form_values, org_choices, upload_outcome, validate
from server.console.guard import console_page
from server.console.question_forms import (
    DIFFICULTY_OPTIONS,
    JUDGE_OPTIONS,
    OPTION_FIELDS,
    TYPE_OPTIONS,
    question_data,
    question_values,
)
from server.console.render import page
from server.kernel.errors import ApiError, InvalidRequest
from server.web.permissions import bank_org, managed_question
from server.web.questions import BANK_MAX_BYTES, find_questions, import_bank_upload
from server.web.services import services_of

bp = Blueprint("console_questions", url_prefix="/console/questions")
PAGE_SIZE = 20
FILTERS = ("tag", "type", "q", "retired")
NO_FILE = "请先选择题库文件（.xlsx 或 .csv）"
FORM_MESSAGE = "请修改标红的内容后再保存"
DONE = {
    "created": "题目已添加",
    "saved": "题目已保存",
    "retired": "该题已被答题使用过，已停用（不再被抽取，答题记录保留）",
    "deleted": "题目已删除",
}
FILTER_ERRORS = {"type": "请从列表中选择题型", "tag": "标签最多 20 字", "q": "搜索内容最多 100 字"}


def _args(request: Request) -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in (*FILTERS, "cursor")}


def _url(args: dict[str, str], **changes: str | None) -> str:
    wanted = {**args, **changes}
    query = urlencode({k: v for k, v in wanted.items() if v})
    return f"/console/questions?{query}" if query else "/console/questions"


@bp.get("")
@console_page
async def question_list(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    args = _args(request)
    errors: dict[str, str] = {}
    rows: list[Question] = []
    next_cursor = None
    try:
        query = validate(QuestionQuery, {k: v for k, v in args.items() if v})
        rows, next_cursor = await find_questions(
            user,
            tag=query.tag or None,
            kind=query.type,
            q=query.q or None,
            retired=query.retired in ("1", "true"),
            cursor=query.cursor,
            limit=PAGE_SIZE,
        )
    except InvalidRequest as exc:
        fields = field_errors(exc) or {"q": exc.message}
        errors = {name: FILTER_ERRORS.get(name, reason) for name, reason in fields.items()}
    return await page(
        request,
        "questions.html",
        status=400 if errors else 200,
        title="题库",
        args=args,
        errors=errors,
        questions=rows,
        types=TYPE_NAMES,
        answers={q.id: answer_letters(q.answer) for q in rows},
        done=DONE.get(request.args.get("done", ""), ""),
        next_url=_url(args, cursor=next_cursor) if next_cursor else None,
        first_url=_url(args, cursor=None) if args["cursor"] else None,
        max_mb=BANK_MAX_BYTES // (1024 * 1024),
    )


async def _form(
    request: Request,
    user: User,
    values: dict[str, str],
    letters: list[str],
    *,
    question: Question | None = None,
    **extra: Any,
) -> HTTPResponse:
    return await page(
        request,
        "question_form.html",
        status=extra.pop("status", 200),
        question=question,
        values=values,
        letters=letters,
        errors=extra.pop("errors", {}),
        message=extra.pop("message", ""),
        types=TYPE_OPTIONS,
        difficulties=DIFFICULTY_OPTIONS,
        judges=JUDGE_OPTIONS,
        option_fields=OPTION_FIELDS,
        orgs=await org_choices(user) if question is None else [],
    )


def _letters(request: Request) -> list[str]:
    return [letter.strip().upper() for letter in (request.form or {}).getlist("answer", [])]


def _conflict(exc: ApiError) -> dict[str, str]:
    """A refused save, beside the field it concerns."""
    return {"stem": exc.message} if isinstance(exc, DuplicateQuestion) else {}


@bp.get("/new")
@console_page
async def new_question(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    values = {"type": "single", "difficulty": "1", "org_id": str(user.org_id) if user.org_id else ""}
    return await _form(request, user, values, [])


@bp.post("/new")
@console_page
async def post_question(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    values, letters = form_values(request), _letters(request)
    try:
        data = question_data(values, letters)
        org_id = values.get("org_id", "")
        if org_id and not org_id.isdigit():
            raise InvalidRequest.fields({"org_id": "请选择所属组织"})
        org = await bank_org(user, int(org_id) if org_id else None)
        await create_question(data, org, user)
    except InvalidRequest as exc:
        return await _form(request, user, values, letters, status=400, errors=field_errors(exc), message=FORM_MESSAGE)
    except DuplicateQuestion as exc:
        return await _form(request, user, values, letters, status=409, errors=_conflict(exc), message=exc.message)
    return redirect("/console/questions?done=created", status=303)


@bp.get("/<question_id:int>/edit")
@console_page
async def edit_question(request: Request, question_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    question = await managed_question(question_id, user)
    values, letters = question_values(question)
    return await _form(request, user, values, letters, question=question)


@bp.post("/<question_id:int>/edit")
@console_page
async def save_question(request: Request, question_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    question = await managed_question(question_id, user)
    values, letters = form_values(request), _letters(request)
    try:
        await update_question(question, question_data(values, letters), user)
    except InvalidRequest as exc:
        errors = field_errors(exc)
        return await _form(
            request, user, values, letters, question=question, status=400, errors=errors, message=FORM_MESSAGE
        )
    except (DuplicateQuestion, QuestionInUse) as exc:
        errors = _conflict(exc)
        return await _form(
            request, user, values, letters, question=question, status=409, errors=errors, message=exc.message
        )
    return redirect("/console/questions?done=saved", status=303)


@bp.post("/<question_id:int>/delete")
@console_page
async def delete_question(request: Request, question_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    outcome = await retire_or_delete(await managed_question(question_id, user), user)
    return redirect(f"/console/questions?done={outcome}", status=303)


@bp.post("/import", stream=True)
@console_page
async def import_bank(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """导入题库: the API's import (same checks, same audit entry); the answer lists each bad row.

    Streamed like the API's upload, so the CSRF token comes in the htmx header, not the body."""
    upload = import_bank_upload(request, user, services_of(request), field="file", org_id=None)
    result, failure = await upload_outcome(upload, NO_FILE)
    response = await page(request, "_bank_result.html", result=result, failure=failure)
    if result is not None and result.created:
        response.headers["HX-Trigger"] = "questions-changed"
    return response
