"""The question bank (题库): staff write, list, retire and import the questions quizzes draw from."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.question_schemas import (
    ImportQuery,
    QuestionCreate,
    QuestionImportResult,
    QuestionList,
    QuestionQuery,
    QuestionRead,
    QuestionRowError,
    QuestionUpdate,
)
from models.question_bank import (
    BankFileRejected,
    DuplicateQuestion,
    QuestionInUse,
    create_question,
    retire_or_delete,
    update_question,
)
from models.users import STAFF_ROLES, User
from server.kernel.errors import NotFound, PayloadTooLarge, RateLimited, RequestTimeout
from server.web.endpoint import endpoint, json_response, no_content
from server.web.permissions import bank_org, managed_question
from server.web.questions import find_questions, import_bank_upload
from server.web.services import Services
from server.web.tables import TABLE_TYPES

bp = Blueprint("questions", url_prefix="/questions")
# Which way DELETE went: "retired" (the question was used in an attempt) or "deleted".
OUTCOME_HEADER = "X-Question-Outcome"


@bp.post("")
@endpoint(
    summary="新建题目",
    roles=STAFF_ROLES,
    body=QuestionCreate,
    response=QuestionRead,
    status=201,
    errors=(DuplicateQuestion,),
    tag="questions",
)
async def post_question(request: Request, user: User, body: QuestionCreate) -> HTTPResponse:
    """A question in the bank of the caller's org, or of ``org_id`` inside their subtree."""
    org = await bank_org(user, int(body.org_id) if body.org_id else None)
    question = await create_question(body.model_dump(exclude={"org_id"}), org, user)
    return json_response(QuestionRead.of(question), status=201)


@bp.get("")
@endpoint(summary="题目列表", roles=STAFF_ROLES, query=QuestionQuery, response=QuestionList, tag="questions")
async def list_questions(request: Request, user: User, query: QuestionQuery) -> HTTPResponse:
    """Newest first, the caller's subtree's banks; filters by tag, type and words of the stem."""
    rows, next_cursor = await find_questions(
        user,
        tag=query.tag or None,
        kind=query.type,
        q=query.q or None,
        retired=query.retired in ("1", "true"),
        cursor=query.cursor,
        limit=query.limit,
    )
    return json_response(QuestionList(items=[QuestionRead.of(q) for q in rows], next_cursor=next_cursor))


@bp.get("/<question_id:int>")
@endpoint(summary="题目详情", roles=STAFF_ROLES, response=QuestionRead, errors=(NotFound,), tag="questions")
async def get_question_detail(request: Request, question_id: int, user: User) -> HTTPResponse:
    """One question of the caller's subtree's banks."""
    return json_response(QuestionRead.of(await managed_question(question_id, user)))


@bp.patch("/<question_id:int>")
@endpoint(
    summary="修改题目",
    roles=STAFF_ROLES,
    body=QuestionUpdate,
    response=QuestionRead,
    errors=(NotFound, DuplicateQuestion, QuestionInUse),
    tag="questions",
)
async def patch_question(request: Request, question_id: int, user: User, body: QuestionUpdate) -> HTTPResponse:
    """Only the fields given change; the whole question is checked again."""
    question = await managed_question(question_id, user)
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return json_response(QuestionRead.of(await update_question(question, changes, user)))


@bp.delete("/<question_id:int>")
@endpoint(summary="停用或删除题目", roles=STAFF_ROLES, status=204, errors=(NotFound,), tag="questions")
async def delete_question(request: Request, question_id: int, user: User) -> HTTPResponse:
    """Retired when an attempt drew it, else deleted; the X-Question-Outcome header says which."""
    outcome = await retire_or_delete(await managed_question(question_id, user), user)
    response = no_content()
    response.headers[OUTCOME_HEADER] = outcome
    return response


@bp.post("/import", stream=True)
@endpoint(
    summary="导入题库",
    roles=STAFF_ROLES,
    query=ImportQuery,
    response=QuestionImportResult,
    errors=(BankFileRejected, PayloadTooLarge, RateLimited, RequestTimeout),
    tag="questions",
    upload_field="file",
    upload_types=TABLE_TYPES,
)
async def import_bank(request: Request, user: User, query: ImportQuery, services: Services) -> HTTPResponse:
    """An .xlsx or .csv table of questions; good rows created, bad rows listed by number with why."""
    org_id = int(query.org_id) if query.org_id else None
    result = await import_bank_upload(request, user, services, field="file", org_id=org_id)
    errors = [QuestionRowError(row=e.row, reason=e.reason) for e in result.errors]
    return json_response(QuestionImportResult(created=result.created, errors=errors))
