"""补录审核: the make-up requests awaiting review in the staff member's subtree, decided one by one.

Decisions go through ``server.web.reviewing.decide_hours`` (rate limit, scope, ``models.makeup.review_hours``),
the same code as the API. A decision answers with the list again (303 back to it, the outcome named); a
refused one answers with the list and the reason in Chinese on that request's card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from handlers.hour_request_schemas import HourRequestQuery, HourRequestRead, HourReviewIn
from models.console import ConsoleSession
from models.hour_requests import HourRequest
from models.makeup import Verdict, hour_requests_page
from models.users import User
from server.console.forms import form_values, validate
from server.console.guard import console_page
from server.console.render import page
from server.kernel.errors import ApiError, NotFound, RateLimited
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.permissions import staff_scope
from server.web.reviewing import decide_hours
from server.web.services import services_of

bp = Blueprint("console_hour_requests", url_prefix="/console/hour-requests")

PAGE_SIZE = 20
OUTCOMES = {"approved": "已通过", "rejected": "已驳回"}


@dataclass
class Refusal:
    """Why a decision was refused, shown on its request's card with what the reviewer typed."""

    request_id: int
    error: str
    fields: dict[str, str] = field(default_factory=dict)
    reason: str = ""


@dataclass
class Card:
    """One request as its card shows it: the API's rendering (signed photo URLs) and a refusal if any."""

    r: HourRequest
    read: HourRequestRead
    error: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    reason: str = ""


async def _cards(request: Request, user: User) -> tuple[list[Card], str | None]:
    args = {name: request.args.get(name) for name in ("cursor", "task_id") if request.args.get(name)}
    query: HourRequestQuery = validate(HourRequestQuery, {**args, "limit": str(PAGE_SIZE)})
    scope = staff_scope(user)
    rows = await hour_requests_page(
        user_id=None,
        scope_path=scope.path if scope else None,
        status="pending",
        task_id=int(query.task_id) if query.task_id else None,
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    rows, cursor = split_page(rows, query.limit)
    storage = services_of(request).storage
    next_url = "/console/hour-requests?" + urlencode({**args, "cursor": cursor}) if cursor else None
    return [Card(r, HourRequestRead.of(r, storage, staff=True)) for r in rows], next_url


async def _page(
    request: Request, user: User, *, message: str = "", refusal: Refusal | None = None, status: int = 200
) -> HTTPResponse:
    cards, next_url = await _cards(request, user)
    for card in cards:
        if refusal is not None and card.r.id == refusal.request_id:
            card.error, card.fields, card.reason = refusal.error, refusal.fields, refusal.reason
    context: dict[str, Any] = {"cards": cards, "next_url": next_url, "message": message}
    if refusal is not None and not any(card.error for card in cards):
        context["message"] = refusal.error  # decided meanwhile by someone else: no card to put it on
    return await page(request, "hour_requests.html", status=status, title="补录审核", **context)


@bp.get("")
@console_page
async def queue(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    done = request.args.get("done", "")
    outcome = OUTCOMES.get(request.args.get("outcome", ""), "")
    message = f"补录申请 #{done} {outcome}" if done.isdigit() and outcome else ""
    return await _page(request, user, message=message)


@bp.post("/<request_id:int>/decide")
@console_page
async def decide_one(request: Request, request_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    values = form_values(request)
    reason = values.get("reason", "").strip()
    try:
        body: HourReviewIn = validate(HourReviewIn, {"decision": values.get("decision", ""), "reason": reason or None})
        fresh = await decide_hours(user, request_id, Verdict(body.decision, body.reason), services_of(request))
    except (NotFound, RateLimited):
        raise  # nothing to show on a card: the error page says it
    except ApiError as exc:
        fields = dict((exc.details or {}).get("fields", {})) if exc.details else {}
        refusal = Refusal(request_id, exc.message, fields, reason)
        return await _page(request, user, refusal=refusal, status=exc.status)
    return redirect(f"/console/hour-requests?done={fresh.id}&outcome={fresh.status}", status=303)
