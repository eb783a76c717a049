"""留言: the netizen messages a staff member may read, overdue first; one message with every move it allows.

Each button posts a small form to /console/messages/<id>/<action>, checked by the API's own body
schema and applied by ``models.messages.move`` (its transaction, event, audit entry and
notifications). A refusal (409 ``bad_transition``, a field error, 403) is shown on the message's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect
from tortoise.expressions import Case, Q, When
from tortoise.functions import Count

from handlers.media_schemas import MediaRead
from handlers.message_schemas import AssignIn, DraftIn, ExtendIn, NoteIn, ReasonIn
from models.console import ConsoleSession
from models.messages import (
    ACTION_NAMES,
    MAX_EXTENSION_DAYS,
    OPEN,
    STATUS_NAMES,
    Message,
    Move,
    get_message,
    handles,
    may_move,
    may_read,
    move,
    staff_filter,
    todo_filter,
    with_relations,
)
from models.orgs import Org, org_forest
from models.users import User
from server.console.forms import field_errors, form_values, indented, validate
from server.console.guard import console_page
from server.console.render import page
from server.kernel.clock import now_utc
from server.kernel.errors import ApiError, Conflict, Forbidden, InvalidRequest, NotFound
from server.web.permissions import staff_scope
from server.web.services import services_of

bp = Blueprint("console_messages", url_prefix="/console/messages")
PAGE_SIZE = 20
# The tab of what waits for the staff member's own org (``models.messages.todo_filter``).
TODO, TODO_NAME = "todo", "待我办理"
CATEGORY_NAMES = {"consult": "咨询", "suggest": "建议", "complain": "投诉", "help": "求助", "clue": "线索"}
KIND_NAMES = {"jiaoban": "交办", "zhuanban": "转办"}
RATING_NAMES = {"satisfied": "满意", "basically": "基本满意", "unsatisfied": "不满意"}
EVENT_NAMES = {**ACTION_NAMES, "submit": "提交留言", "rate": "评价", "reopen": "重新办理", "close": "办结"}
# The moves staff make here, each checked by the API's body schema (``rate`` is the writer's).
FORMS: dict[str, type[BaseModel]] = {
    "accept": NoteIn,
    "reject": ReasonIn,
    "assign": AssignIn,
    "return": ReasonIn,
    "extend": ExtendIn,
    "approve-extension": NoteIn,
    "draft-reply": DraftIn,
    "approve-reply": NoteIn,
    "supervise": NoteIn,
}
FIELD_LABELS = {
    "reason": "原因",
    "note": "说明",
    "org_id": "承办单位",
    "kind": "方式",
    "co_org_ids": "协办单位",
    "days": "延期天数",
    "content": "答复内容",
}


def _late() -> Q:
    """Overdue: marked by supervision, or open and past its deadline before the daily job has run."""
    return Q(overdue=True) | Q(status__in=OPEN, due_at__lt=now_utc())


def _queue_rank() -> Case:
    """Overdue first; then work running against a deadline; then work waiting to be handed on; then done."""
    return Case(
        # Strings: PostgreSQL binds a CASE's values by the type of the column its condition reads.
        When(_late(), then="0"),
        When(Q(status__in=OPEN, due_at__isnull=False), then="1"),
        When(Q(status__in=("submitted", *OPEN)), then="2"),
        default="3",
    )


def _readable_rows(user: User) -> Any:
    # staff_scope first: staff without an org are refused (staff_filter would read them as everyone).
    staff_scope(user)
    return Message.filter(staff_filter(user))


@bp.get("")
@console_page
async def message_list(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """The queue: one status (or all), overdue first, then by deadline, waiting work, finished work."""
    status = request.args.get("status") or ""
    todo = todo_filter(user)
    status = status if status in STATUS_NAMES or (status == TODO and todo is not None) else ""
    number = request.args.get("page") or "1"
    page_no = int(number) if number.isdigit() and 0 < len(number) < 6 and int(number) > 0 else 1
    rows = _readable_rows(user)
    counts = await _status_counts(rows)
    tabs = [("", "全部", sum(counts.values()))]
    if todo is not None:
        tabs.append((TODO, TODO_NAME, await rows.filter(todo).count()))
    if status == TODO:
        rows = rows.filter(todo)
    elif status:
        rows = rows.filter(status=status)
    ordered = rows.annotate(rank=_queue_rank(), undated=Case(When(due_at__isnull=True, then="1"), default="0"))
    ordered = ordered.order_by("rank", "undated", "due_at", "-id")
    found = await with_relations(ordered.offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    link = f"/console/messages?status={status}&page=" if status else "/console/messages?page="
    now = now_utc()
    return await page(
        request,
        "messages.html",
        title="留言",
        current=status,
        tabs=tabs + [(s, n, counts.get(s, 0)) for s, n in STATUS_NAMES.items()],
        current_name=TODO_NAME if status == TODO else STATUS_NAMES.get(status, ""),
        rows=[(m, m.is_overdue(now)) for m in found[:PAGE_SIZE]],
        categories=CATEGORY_NAMES,
        statuses=STATUS_NAMES,
        next_url=f"{link}{page_no + 1}" if len(found) > PAGE_SIZE else None,
        first_url=f"{link}1" if page_no > 1 else None,
    )


async def _status_counts(rows: Any) -> dict[str, int]:
    grouped = await rows.annotate(n=Count("id")).group_by("status").values("status", "n")
    return {row["status"]: row["n"] for row in grouped}


@dataclass
class MessageFigures:
    accepted: int
    closed: int
    overdue: int
    waiting: int
    todo: int  # waiting for the staff member's own org (待我办理)


async def message_figures(user: User) -> MessageFigures:
    """The 首页 card: messages accepted (all but those waiting or declined), closed, overdue, waiting, to do."""
    rows = _readable_rows(user)
    counts = await _status_counts(rows)
    overdue = await rows.filter(_late()).count()
    todo = todo_filter(user)
    mine = await rows.filter(todo).count() if todo is not None else 0
    accepted = sum(n for s, n in counts.items() if s not in ("submitted", "rejected"))
    return MessageFigures(accepted, counts.get("closed", 0), overdue, counts.get("submitted", 0), mine)


async def _readable(user: User, message_id: int) -> Message:
    staff_scope(user)
    message = await get_message(message_id)
    if not may_read(user, message):
        raise NotFound("留言不存在")
    return message


@bp.get("/<message_id:int>")
@console_page
async def message_detail(request: Request, message_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    message = await _readable(user, message_id)
    done = request.args.get("done") or ""
    return await _detail(request, user, message, done=ACTION_NAMES.get(done, ""))


@bp.post("/<message_id:int>/<action:str>")
@console_page
async def message_move(
    request: Request, message_id: int, action: str, user: User, session: ConsoleSession
) -> HTTPResponse:
    """One move from its form; on success back to the message (303), else the message with the refusal."""
    message = await _readable(user, message_id)
    if action not in FORMS:
        raise NotFound("没有这个操作")
    values = form_values(request)
    services = services_of(request)
    try:
        step = _step(action, values, request)
        await move(message, user, step, services.effects, days_by_category=dict(services.config.message_days))
    except InvalidRequest as exc:
        return await _detail(
            request, user, message, 400, failed=action, values=values, errors=field_errors(exc), error=exc
        )
    except (Conflict, Forbidden) as exc:
        # Someone else may have moved it meanwhile: show it as it now is.
        fresh = await get_message(message.id)
        return await _detail(request, user, fresh, exc.status, failed=action, values=values, error=exc)
    return redirect(f"/console/messages/{message.id}?done={action}", status=303)


def _step(action: str, values: dict[str, str], request: Request) -> Move:
    """The form as the API's body (same checks), then as the domain's move."""
    schema = FORMS[action]
    data: dict[str, Any] = {k: v for k, v in values.items() if k in schema.model_fields}
    if action == "assign":
        data["co_org_ids"] = [v for v in (request.form or {}).getlist("co_org_ids", []) if v]
    body = validate(schema, data)
    if isinstance(body, AssignIn):
        co = [int(i) for i in body.co_org_ids]
        return Move(action, note=body.note, org_id=int(body.org_id), kind=body.kind, co_org_ids=co)
    if isinstance(body, ExtendIn):
        return Move(action, reason=body.reason, days=body.days)
    if isinstance(body, DraftIn):
        return Move(action, content=body.content)
    if isinstance(body, ReasonIn):
        return Move(action, reason=body.reason)
    return Move(action, note=body.note)


async def _assign_choices(user: User) -> list[tuple[str, str]]:
    """Orgs a message may go to: 交办 down the caller's subtree, 转办 across the county or to another county.

    Not the caller's own org: a message is not handed to the org that holds it.
    """
    scope = staff_scope(user)
    if scope is None:
        return indented(await org_forest(None))
    county_path = "/" + scope.path.strip("/").split("/")[0] + "/"
    others = await Org.filter(kind="county").exclude(path=county_path).order_by("id")
    county = [(value, name) for value, name in indented(await org_forest(county_path)) if value != str(scope.id)]
    return county + [(str(o.id), f"{o.name}（外县，转办）") for o in others]


async def _detail(
    request: Request,
    user: User,
    message: Message,
    status: int = 200,
    *,
    failed: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: ApiError | None = None,
    done: str = "",
) -> HTTPResponse:
    actions = [a for a in FORMS if may_move(message, user, a)]
    if not message.extension_asked and "approve-extension" in actions:
        actions.remove("approve-extension")
    storage = services_of(request).storage
    handler = handles(user, message)
    return await page(
        request,
        "message.html",
        status=status,
        title=f"留言 {message.number}",
        m=message,
        overdue=message.is_overdue(now_utc()),
        handler=handler,
        photos=[MediaRead.of(p.media, storage) for p in message.photos],
        events=[e for e in message.events if handler or e.public],
        actions=actions,
        action_names=ACTION_NAMES,
        event_names=EVENT_NAMES,
        categories=CATEGORY_NAMES,
        statuses=STATUS_NAMES,
        kinds=KIND_NAMES,
        ratings=RATING_NAMES,
        org_options=await _assign_choices(user) if "assign" in actions else [],
        kind_options=list(KIND_NAMES.items()),
        max_days=MAX_EXTENSION_DAYS - message.extension_days,
        failed=failed,
        values=values or {},
        errors=errors or {},
        error=error,
        fields=errors or {},
        labels=FIELD_LABELS,
        done=done,
    )
