"""活动: the campaigns of the staff member's subtree (drafts included), their forms, publishing and closing.

Every step is the API's: the same list query and scope, the same request models, the same
domain operations (audited where the API audits).
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from handlers.schemas import PageQuery
from handlers.task_schemas import TaskQuery, campaign_changes, campaign_columns
from models.campaigns import (
    CAMPAIGN_STATUSES,
    Campaign,
    campaigns_page,
    close_campaign,
    create_campaign,
    publish_campaign,
    update_campaign,
)
from models.console import ConsoleSession
from models.feed import task_feed
from models.participation import campaign_summary
from models.users import User
from server.console.campaign_forms import (
    CAMPAIGN_LABELS,
    CAMPAIGN_STATUS_NAMES,
    KIND_OPTIONS,
    campaign_body,
    campaign_values,
)
from server.console.forms import field_errors, form_values, org_choices
from server.console.guard import console_page
from server.console.render import page
from server.kernel.clock import now_utc
from server.kernel.errors import InvalidRequest
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.glossary import label
from server.web.permissions import managed_campaign, org_in_scope, staff_scope
from server.web.services import services_of

bp = Blueprint("console_campaigns", url_prefix="/console/campaigns")
PAGE_SIZE = 20
TASKS_PAGE_SIZE = 50
FORM_MESSAGE = "请修改标红的内容后再保存"
# What the page says after a step succeeded (``?done=``: the step redirects there).
DONE = {
    "created": "活动已创建（草稿）。添加任务后点击“发布”，志愿者即可看到。",
    "saved": "已保存",
    "published": "活动已发布",
    "closed": "活动已结束，其任务不再接受报名",
    "task_created": "任务已创建",
    "cancelled": "任务已取消",
}


def done_message(request: Request) -> str:
    return DONE.get(request.args.get("done", ""), "")


def _page_query(request: Request) -> PageQuery:
    return PageQuery(limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)


@bp.get("")
@console_page
async def campaign_list(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    scope = staff_scope(user)
    status = request.args.get("status", "")
    status = status if status in CAMPAIGN_STATUSES else ""
    query = _page_query(request)
    rows = await campaigns_page(
        scope_path=scope.path if scope else None,
        drafts=True,
        status=status or None,
        kind=None,
        org_path=None,
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    campaigns, next_cursor = split_page(rows, query.limit)
    here = f"/console/campaigns?status={status}" if status else "/console/campaigns"
    joiner = "&" if status else "?"
    return await page(
        request,
        "campaigns.html",
        campaigns=campaigns,
        current=status,
        statuses=CAMPAIGN_STATUS_NAMES,
        kinds=dict(KIND_OPTIONS),
        next_url=f"{here}{joiner}cursor={next_cursor}" if next_cursor else None,
        first_url=here if query.cursor else None,
    )


async def _form(
    request: Request, user: User, values: dict[str, str], *, campaign: Campaign | None = None, **extra: Any
) -> HTTPResponse:
    return await page(
        request,
        "campaigns_form.html",
        status=extra.pop("status", 200),
        campaign=campaign,
        values=values,
        errors=extra.pop("errors", {}),
        labels=CAMPAIGN_LABELS,
        kinds=KIND_OPTIONS,
        orgs=await org_choices(user),
        **extra,
    )


@bp.get("/new")
@console_page
async def new_campaign(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    org = str(user.org_id) if user.org_id else ""
    return await _form(request, user, {"org_id": org, "kind": KIND_OPTIONS[0][0]})


@bp.post("/new")
@console_page
async def post_campaign(request: Request, user: User, session: ConsoleSession) -> HTTPResponse:
    values = form_values(request)
    try:
        body = campaign_body(values, new=True)
        org = await org_in_scope(user, int(body.org_id), "只能在本组织及下级组织发布活动")
        campaign = await create_campaign(await campaign_columns(body, user), org, user)
    except InvalidRequest as exc:
        return await _form(request, user, values, status=400, errors=field_errors(exc), message=FORM_MESSAGE)
    return redirect(f"/console/campaigns/{campaign.id}?done=created", status=303)


@bp.get("/<campaign_id:int>/edit")
@console_page
async def edit_campaign(request: Request, campaign_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    campaign = await managed_campaign(campaign_id, user)
    return await _form(request, user, campaign_values(campaign), campaign=campaign)


@bp.post("/<campaign_id:int>/edit")
@console_page
async def post_edit(request: Request, campaign_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    campaign = await managed_campaign(campaign_id, user)
    values = form_values(request)
    try:
        changes = await campaign_changes(campaign_body(values, new=False), user)
        await update_campaign(campaign, changes)
    except InvalidRequest as exc:
        values["org_id"] = str(campaign.org_id)
        return await _form(
            request, user, values, campaign=campaign, status=400, errors=field_errors(exc), message=FORM_MESSAGE
        )
    return redirect(f"/console/campaigns/{campaign.id}?done=saved", status=303)


@bp.get("/<campaign_id:int>")
@console_page
async def campaign_page(request: Request, campaign_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    campaign = await managed_campaign(campaign_id, user)
    scope = staff_scope(user)
    query = TaskQuery(campaign_id=str(campaign.id), limit=TASKS_PAGE_SIZE, cursor=request.args.get("cursor") or None)
    feed = await task_feed(user, query, scope.path if scope else None)
    now = now_utc()
    here = f"/console/campaigns/{campaign.id}"
    return await page(
        request,
        "campaigns_detail.html",
        campaign=campaign,
        kind=label(campaign.kind),
        statuses=CAMPAIGN_STATUS_NAMES,
        tasks=[(t, t.status_at(now)) for t in feed.tasks],
        task_statuses={s: label(s) for s in ("open", "ended", "cancelled")},
        summary=await campaign_summary(campaign),
        done=done_message(request),
        next_url=f"{here}?cursor={feed.next_cursor}" if feed.next_cursor else None,
        first_url=here if query.cursor else None,
    )


@bp.post("/<campaign_id:int>/publish")
@console_page
async def publish(request: Request, campaign_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    campaign = await managed_campaign(campaign_id, user)
    await publish_campaign(campaign, user, services_of(request).effects)
    return redirect(f"/console/campaigns/{campaign.id}?done=published", status=303)


@bp.post("/<campaign_id:int>/close")
@console_page
async def close(request: Request, campaign_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    campaign = await managed_campaign(campaign_id, user)
    await close_campaign(campaign, user)
    return redirect(f"/console/campaigns/{campaign.id}?done=closed", status=303)
