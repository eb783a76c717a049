"""审核: the pending queue of the staff member's subtree as cards, decided one by one or in a batch.

Decisions go through ``server.web.reviewing`` (rate limit, scope, ``models.review.review``), the same code
as the API. A decision answers with the card as it is now (the page swaps it in, without reloading); a
refused one answers with the card and the reason in Chinese on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from handlers.media_schemas import SubmissionRead
from handlers.review_schemas import BatchIn, QueueQuery, ReviewIn
from media.storage import Storage
from models.console import ConsoleSession
from models.makeup import pending_count
from models.review import Decision
from models.submissions import RiskDetails, Submission, pending_by_campaign, review_queue, risk_details
from models.users import User
from server.console.forms import form_values, validate
from server.console.guard import console_page, is_htmx
from server.console.render import page
from server.kernel.errors import ApiError, InvalidRequest, NotFound, RateLimited
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.permissions import reviewable, staff_scope
from server.web.reviewing import decide, decide_many
from server.web.services import services_of

bp = Blueprint("console_review", url_prefix="/console/review")

PAGE_SIZE = 24
# What reviewers most often say; keys 1–6 pick them on the focused card.
REJECT_REASONS = (
    "照片与任务无关",
    "照片不清晰",
    "重复提交",
    "不在活动现场",
    "拍摄时间不在活动期间",
    "内容不完整",
)
STATUS_NAMES = {
    "pending": "待审核",
    "flagged": "待审核",
    "approved": "已通过",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
}


@dataclass
class Card:
    """One submission as its card shows it."""

    s: Submission
    read: SubmissionRead  # the API's rendering: signed photo URLs
    risk: RiskDetails
    error: str = ""
    fields: dict[str, str] | None = None
    open_reject: bool = False

    @property
    def pending(self) -> bool:
        return self.s.status in ("pending", "flagged")


def _scope_path(user: User) -> str | None:
    scope = staff_scope(user)
    return scope.path if scope else None


async def _cards(user: User, rows: list[Submission], storage: Storage) -> list[Card]:
    risks = await risk_details(rows, _scope_path(user))
    return [Card(s, SubmissionRead.of(s, storage, staff=True), risks[s.id]) for s in rows]


def _context(**extra: Any) -> dict[str, Any]:
    return {"reasons": REJECT_REASONS, "status_names": STATUS_NAMES, **extra}


def _queue_query(request: Request) -> QueueQuery:
    args = {name: request.args.get(name) for name in ("campaign_id", "cursor", "limit") if request.args.get(name)}
    args.setdefault("limit", str(PAGE_SIZE))
    return validate(QueueQuery, args)


def _next_url(query: QueueQuery, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = {"campaign_id": query.campaign_id or "", "cursor": cursor}
    if query.limit != PAGE_SIZE:
        params["limit"] = str(query.limit)
    return "/console/review?" + urlencode({k: v for k, v in params.items() if v})


@bp.get("")
@console_page
async def queue(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    query = _queue_query(request)
    campaign_id = int(query.campaign_id) if query.campaign_id else None
    rows = await review_queue(
        scope_path=_scope_path(user),
        campaign_id=campaign_id,
        status=None,
        after_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    rows, cursor = split_page(rows, query.limit)
    cards = await _cards(user, rows, services_of(request).storage)
    context = _context(cards=cards, next_url=_next_url(query, cursor))
    if is_htmx(request) and query.cursor:
        return await page(request, "review_more.html", **context)  # "下一页" appended to the grid
    campaigns = await pending_by_campaign(_scope_path(user))
    return await page(
        request,
        "review.html",
        title="审核",
        campaigns=campaigns,
        campaign_id=campaign_id,
        total=sum(n for cid, _, n in campaigns if campaign_id in (None, cid)),
        hour_requests_pending=await pending_count(_scope_path(user)),
        first_url="/console/review" + (f"?campaign_id={campaign_id}" if campaign_id else "") if query.cursor else None,
        **context,
    )


@bp.get("/<submission_id:int>")
@console_page
async def one(request: Request, submission_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """One submission (pending or decided): where a 重复照片 badge links to."""
    found = await reviewable(user, [submission_id])
    if submission_id not in found:
        raise NotFound("提交不存在或不在您的管辖范围内")
    (card,) = await _cards(user, [found[submission_id]], services_of(request).storage)
    return await page(request, "review_one.html", title=f"提交 #{submission_id}", **_context(card=card))


def _decision(values: dict[str, str]) -> Decision:
    """The form's decision as the API's ReviewIn checks it; a reject's reason is a picked one plus free text."""
    choice, text = values.get("reason_choice", ""), values.get("reason_text", "")
    if choice and choice not in REJECT_REASONS:
        raise InvalidRequest.fields({"reason": "请从列出的原因中选择"})
    reason = "：".join(part for part in (choice, text) if part) or None
    decision = values.get("decision", "")
    if decision == "reject" and reason is None:
        raise InvalidRequest.fields({"reason": "驳回须说明原因：请选择一个常见原因或填写说明"})
    body: ReviewIn = validate(ReviewIn, {"decision": decision, "reason": reason})
    return Decision(body.decision, body.reason if body.decision == "reject" else None)


@bp.post("/<submission_id:int>/decide")
@console_page
async def decide_one(request: Request, submission_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    services = services_of(request)
    values = form_values(request)
    try:
        fresh = await decide(user, submission_id, _decision(values), services)
    except (NotFound, RateLimited):
        raise  # nothing to show on the card: a page or the notice says it
    except ApiError as exc:
        return await _refused_card(request, user, submission_id, exc, values)
    (card,) = await _cards(user, [fresh], services.storage)
    if not is_htmx(request):
        return redirect("/console/review", status=303)
    return await page(request, "_review_card.html", **_context(card=card))


async def _refused_card(
    request: Request, user: User, submission_id: int, exc: ApiError, values: dict[str, str]
) -> HTTPResponse:
    found = await reviewable(user, [submission_id])
    if submission_id not in found:
        raise NotFound("提交不存在或不在您的管辖范围内")
    (card,) = await _cards(user, [found[submission_id]], services_of(request).storage)
    card.error = exc.message
    card.fields = dict((exc.details or {}).get("fields", {})) if exc.details else {}
    card.open_reject = values.get("decision") == "reject" and card.pending
    template = "_review_card.html" if is_htmx(request) else "review_one.html"
    return await page(request, template, status=exc.status, **_context(card=card))


def _batch_ids(request: Request) -> list[int]:
    ids = [value.strip() for value in (request.form.getlist("ids") if request.form else []) if value.strip()]
    if not ids:
        raise InvalidRequest.fields({"ids": "请先勾选要通过的提交"})
    body: BatchIn = validate(BatchIn, {"decision": "approve", "ids": ids})
    return [int(i) for i in body.ids]


@bp.post("/batch")
@console_page
async def batch(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """批量通过: each checked submission approved or its failure named, then their cards as they are now."""
    services = services_of(request)
    ids = _batch_ids(request)
    outcome = await decide_many(user, ids, Decision("approve"), services)
    found = await reviewable(user, ids)
    cards = await _cards(user, [found[i] for i in ids if i in found], services.storage)
    by_id = {card.s.id: card for card in cards}
    for submission_id, exc in outcome.failed.items():
        if submission_id in by_id:
            by_id[submission_id].error = exc.message
    failures = [(i, by_id.get(i), exc.message) for i, exc in outcome.failed.items()]
    template = "review_batch.html" if is_htmx(request) else "review_batch_page.html"
    return await page(request, template, **_context(cards=cards, done=outcome.done, failures=failures))
