"""通知: the notices sent to the staff member's subtree with their read rates, a form to send one,
and one notice with who has not read it yet.

The form is checked by the API's own body schema and sent by ``models.notices.send_notice`` (its
transaction, recipients, audit entry and subscribe message), under the API's per-person limit.
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from handlers.notice_schemas import NoticeIn
from models.campaigns import Campaign
from models.console import ConsoleSession
from models.notices import (
    ROLE_NAMES,
    Notice,
    NoticeDraft,
    get_notice,
    read_counts,
    send_notice,
    sent_page,
    unread_people,
)
from models.users import User
from server.console.forms import field_errors, form_values, org_choices, validate
from server.console.guard import console_page
from server.console.render import page
from server.kernel.errors import Forbidden, InvalidRequest, NotFound, RateLimited
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.permissions import in_scope, managed_campaign, org_in_scope, staff_scope
from server.web.services import services_of

bp = Blueprint("console_notices", url_prefix="/console/notices")
PAGE_SIZE = 20
UNREAD_PAGE_SIZE = 50
CAMPAIGN_CHOICES = 200
FORM_MESSAGE = "请修改标红的内容后再发布"
LABELS = {"title": "标题", "content": "内容", "org_id": "接收组织", "campaign_id": "活动", "roles": "身份"}


def rate(read: int, recipients: int) -> int:
    """The read rate in whole percent (0 when it reached nobody)."""
    return round(100 * read / recipients) if recipients else 0


@bp.get("")
@console_page
async def notice_list(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """Newest first, each with 接收人数, 已读人数 and a bar of the read rate."""
    scope = staff_scope(user)
    cursor = request.args.get("cursor") or None
    rows = await sent_page(scope.path if scope else None, decode_id_cursor(cursor), PAGE_SIZE)
    notices, next_cursor = split_page(rows, PAGE_SIZE)
    counts = await read_counts([n.id for n in notices])
    items = [(n, counts.get(n.id, 0), rate(counts.get(n.id, 0), n.recipients)) for n in notices]
    return await page(
        request,
        "notices.html",
        title="通知",
        items=items,
        sent=request.args.get("done") == "sent",
        next_url=f"/console/notices?cursor={next_cursor}" if next_cursor else None,
        first_url="/console/notices" if cursor else None,
    )


async def _campaign_choices(user: User) -> list[tuple[str, str]]:
    """Published and closed campaigns the caller manages, newest first (drafts have nobody enrolled)."""
    scope = staff_scope(user)
    rows = Campaign.exclude(status="draft")
    if scope is not None:
        rows = rows.filter(org__path__startswith=scope.path)
    found = await rows.order_by("-id").limit(CAMPAIGN_CHOICES).select_related("org")
    return [("", "（不限：发给接收组织的全部人员）")] + [(str(c.id), f"{c.title}（{c.org.name}）") for c in found]


async def _form(request: Request, user: User, values: dict[str, Any], status: int = 200, **extra: Any) -> HTTPResponse:
    response = await page(
        request,
        "notice_form.html",
        status=status,
        title="发布通知",
        values=values,
        errors=extra.pop("errors", {}),
        message=extra.pop("message", ""),
        labels=LABELS,
        orgs=await org_choices(user),
        campaigns=await _campaign_choices(user),
        role_names=ROLE_NAMES,
    )
    response.headers.update(extra.pop("headers", {}))
    return response


@bp.get("/new")
@console_page
async def new_notice(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    org = str(user.org_id) if user.org_id else ""
    return await _form(request, user, {"org_id": org, "campaign_id": "", "roles": list(ROLE_NAMES)})


@bp.post("/new")
@console_page
async def post_notice(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    """Send it; a refusal (a field, 403, 429, nobody to tell) is said on the form, which keeps what was typed."""
    values: dict[str, Any] = form_values(request)
    roles = [r for r in (request.form or {}).getlist("roles", []) if r]
    values["roles"] = roles
    services = services_of(request)
    try:
        data: dict[str, Any] = {k: v for k, v in values.items() if k in ("title", "content", "org_id")}
        if values.get("campaign_id"):
            data["campaign_id"] = values["campaign_id"]
        # Both roles ticked is everyone; none ticked is a mistake the form names.
        errors = {} if roles else {"roles": "请至少选择一种身份"}
        data["roles"] = roles if len(set(roles)) == 1 else None
        body = validate(NoticeIn, data, errors)
        org = await org_in_scope(user, int(body.org_id), "只能给本组织及下级组织发通知")
        campaign = await _campaign(int(body.campaign_id), user) if body.campaign_id else None
        await services.limiter.hit("notice", str(user.id), services.config.limit_notice)
        notice = await send_notice(
            user, NoticeDraft(body.title, body.content, org, campaign, body.roles), services.effects
        )
    except InvalidRequest as exc:
        errors = field_errors(exc)
        message = FORM_MESSAGE if set(errors) - {"org_id", "campaign_id"} else exc.message
        return await _form(request, user, values, 400, errors=errors, message=message)
    except (Forbidden, RateLimited) as exc:
        return await _form(request, user, values, exc.status, message=exc.message, headers=exc.headers)
    return redirect(f"/console/notices/{notice.id}?done=sent", status=303)


async def _campaign(campaign_id: int, user: User) -> Campaign:
    try:
        return await managed_campaign(campaign_id, user)
    except NotFound:
        raise InvalidRequest.fields({"campaign_id": "活动不存在"}) from None


async def _overseen(user: User, notice_id: int) -> Notice:
    notice = await get_notice(notice_id)
    if not in_scope(staff_scope(user), notice.org):
        raise NotFound("通知不存在")
    return notice


@bp.get("/<notice_id:int>")
@console_page
async def notice_detail(request: Request, notice_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """The notice, its read count and the recipients who have not read it (names on record, paged)."""
    notice = await _overseen(user, notice_id)
    number = request.args.get("page") or "1"
    page_no = int(number) if number.isdigit() and 0 < len(number) < 6 and int(number) > 0 else 1
    read = (await read_counts([notice.id])).get(notice.id, 0)
    unread = await unread_people(notice.id, (page_no - 1) * UNREAD_PAGE_SIZE, UNREAD_PAGE_SIZE)
    link = f"/console/notices/{notice.id}?page="
    return await page(
        request,
        "notice.html",
        title=notice.title,
        n=notice,
        read=read,
        pct=rate(read, notice.recipients),
        unread=unread[:UNREAD_PAGE_SIZE],
        offset=(page_no - 1) * UNREAD_PAGE_SIZE,
        roles_text="、".join(ROLE_NAMES[r] for r in notice.roles.split(",")) if notice.roles else "志愿者、网络达人",
        sent=request.args.get("done") == "sent",
        next_url=f"{link}{page_no + 1}" if len(unread) > UNREAD_PAGE_SIZE else None,
        first_url=f"{link}1" if page_no > 1 else None,
    )
