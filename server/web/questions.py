"""Staff work on the question bank, one code path for the API (handlers/questions.py) and the console (题库)."""

from __future__ import annotations

from sanic import Request

from media.spreadsheets import NotASpreadsheet
from models.question_bank import BankFileRejected, BankImport, import_questions, questions_page
from models.quiz import Question
from models.users import User
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.permissions import bank_org, staff_scope
from server.web.services import Services
from server.web.tables import receive_table

BANK_MAX_BYTES = 5 * 1024 * 1024


async def find_questions(
    user: User,
    *,
    tag: str | None,
    kind: str | None,
    q: str | None,
    retired: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[Question], str | None]:
    """Questions of the caller's subtree's banks, newest first (one page and the next cursor)."""
    scope = staff_scope(user)
    rows = await questions_page(
        scope_path=scope.path if scope else None,
        tag=tag,
        kind=kind,
        q=q,
        retired=retired,
        before_id=decode_id_cursor(cursor),
        limit=limit,
    )
    return split_page(rows, limit)


async def import_bank_upload(
    request: Request, user: User, services: Services, *, field: str, org_id: int | None
) -> BankImport:
    """The question table in the upload's ``field`` into the bank of ``org_id`` (default: the caller's own)."""
    org = await bank_org(user, org_id)  # refused before the body is read
    try:
        table = await receive_table(request, user, services, field=field, max_bytes=BANK_MAX_BYTES, noun="题库文件")
    except NotASpreadsheet as exc:
        raise BankFileRejected(str(exc)) from None
    source = table.filename or "questions"
    return await import_questions(table.header, table.rows, org, user, source=source)
