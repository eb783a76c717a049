"""Campaigns (活动): staff create, edit, publish and close; everyone reads published ones."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.task_schemas import (
    CampaignCreate,
    CampaignList,
    CampaignQuery,
    CampaignRead,
    CampaignSummary,
    CampaignUpdate,
    TaskCreate,
    TaskRead,
)
from models.audit import record
from models.campaigns import (
    Campaign,
    campaign_summary,
    create_campaign,
    get_campaign,
    open_task_ids,
    set_campaign_status,
    update_campaign,
)
from models.media import MediaNotYours, picture_columns
from models.orgs import find_org, org_path
from models.tasks import audience_fields, create_task, now_utc
from models.users import STAFF_ROLES, User
from server.kernel.errors import Conflict, Forbidden, InvalidRequest, NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.auth import in_scope, may_view, staff_scope
from server.web.endpoint import endpoint, json_response

bp = Blueprint("campaigns", url_prefix="/campaigns")


async def _visible_campaign(campaign_id: int, user: User) -> Campaign:
    """The campaign if the caller may see it: published for everyone, all in scope for staff."""
    campaign = await get_campaign(campaign_id)
    if not may_view(user, campaign.org, campaign.status):
        raise NotFound("活动不存在")
    return campaign


async def managed_campaign(campaign_id: int, user: User) -> Campaign:
    """The campaign if the caller manages it (staff of its org subtree, or admin)."""
    campaign = await get_campaign(campaign_id)
    scope = staff_scope(user)
    if not in_scope(scope, campaign.org):
        # Staff may know it exists (published) but not change it.
        if campaign.status == "draft":
            raise NotFound("活动不存在")
        raise Forbidden("只能管理本组织及下级组织的活动")
    return campaign


@bp.post("")
@endpoint(
    summary="新建活动",
    roles=STAFF_ROLES,
    body=CampaignCreate,
    response=CampaignRead,
    status=201,
    errors=(MediaNotYours,),
    tag="campaigns",
)
async def post_campaign(request: Request, user: User, body: CampaignCreate) -> HTTPResponse:
    """Create a draft campaign owned by an org inside the caller's subtree."""
    org = await find_org(int(body.org_id))
    if org is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    if not in_scope(staff_scope(user), org):
        raise Forbidden("只能在本组织及下级组织发布活动")
    data = body.model_dump(exclude={"org_id", "cover_media_id"})
    data.update(await picture_columns(user, body.cover_media_id, "cover"))
    campaign = await create_campaign(data, org, user)
    return json_response(CampaignRead.of(campaign, request.app.ctx.storage), status=201)


@bp.patch("/<campaign_id:id>")
@endpoint(
    summary="修改活动",
    roles=STAFF_ROLES,
    body=CampaignUpdate,
    response=CampaignRead,
    errors=(NotFound, Conflict, MediaNotYours),
    tag="campaigns",
)
async def patch_campaign(request: Request, campaign_id: int, user: User, body: CampaignUpdate) -> HTTPResponse:
    """Edit title, kind, description or dates of a campaign the caller manages."""
    campaign = await managed_campaign(campaign_id, user)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name not in ("cover_media_id",):
            raise InvalidRequest.fields({name: "不能为 null"})
    if "cover_media_id" in changes:
        changes.update(await picture_columns(user, changes["cover_media_id"], "cover"))
    return json_response(CampaignRead.of(await update_campaign(campaign, changes), request.app.ctx.storage))


@bp.post("/<campaign_id:id>/publish")
@endpoint(summary="发布活动", roles=STAFF_ROLES, response=CampaignRead, errors=(NotFound, Conflict), tag="campaigns")
async def publish(request: Request, campaign_id: int, user: User) -> HTTPResponse:
    """Make a draft visible to volunteers and influencers."""
    campaign = await managed_campaign(campaign_id, user)
    was_draft = campaign.status == "draft"
    campaign = await set_campaign_status(campaign, "published")
    if was_draft:
        await record(user, "publish", f"campaign:{campaign.id}", {"title": campaign.title})
        for task_id in await open_task_ids(campaign):
            await request.app.ctx.jobs.enqueue("notify_task_new", task_id)
    return json_response(CampaignRead.of(campaign, request.app.ctx.storage))


@bp.post("/<campaign_id:id>/close")
@endpoint(summary="结束活动", roles=STAFF_ROLES, response=CampaignRead, errors=(NotFound, Conflict), tag="campaigns")
async def close(request: Request, campaign_id: int, user: User) -> HTTPResponse:
    """Close a campaign: its tasks accept no new enrollments."""
    campaign = await managed_campaign(campaign_id, user)
    if campaign.status != "closed":
        await record(user, "close", f"campaign:{campaign.id}", {"title": campaign.title})
    return json_response(CampaignRead.of(await set_campaign_status(campaign, "closed"), request.app.ctx.storage))


@bp.get("")
@endpoint(summary="活动列表", query=CampaignQuery, response=CampaignList, tag="campaigns")
async def list_campaigns(request: Request, user: User, query: CampaignQuery) -> HTTPResponse:
    """Newest first; volunteers see published and closed ones, staff everything in their subtree."""
    rows = Campaign.all().select_related("org")
    if user.is_staff:
        scope = staff_scope(user)
        if scope is not None:
            rows = rows.filter(org__path__startswith=scope.path)
    else:
        rows = rows.exclude(status="draft")
    if query.status:
        rows = rows.filter(status=query.status)
    if query.kind:
        rows = rows.filter(kind=query.kind)
    if query.org_id:
        path = await org_path(int(query.org_id))
        if path is None:
            raise InvalidRequest.fields({"org_id": "组织不存在"})
        rows = rows.filter(org__path__startswith=path)
    before = decode_id_cursor(query.cursor)
    if before:
        rows = rows.filter(id__lt=before)
    page, next_cursor = split_page(await rows.order_by("-id").limit(query.limit + 1), query.limit)
    return json_response(
        {
            "items": [CampaignRead.of(c, request.app.ctx.storage).model_dump(mode="json") for c in page],
            "next_cursor": next_cursor,
        }
    )


@bp.get("/<campaign_id:id>")
@endpoint(summary="活动详情", response=CampaignRead, errors=(NotFound,), tag="campaigns")
async def get_campaign_detail(request: Request, campaign_id: int, user: User) -> HTTPResponse:
    """One campaign the caller may see."""
    return json_response(CampaignRead.of(await _visible_campaign(campaign_id, user), request.app.ctx.storage))


@bp.get("/<campaign_id:id>/summary")
@endpoint(summary="活动参与统计", roles=STAFF_ROLES, response=CampaignSummary, errors=(NotFound,), tag="campaigns")
async def summary(request: Request, campaign_id: int, user: User) -> HTTPResponse:
    """Enrolled, checked-in, submitted, withdrawn, approved and rejected counts over the campaign's tasks."""
    campaign = await managed_campaign(campaign_id, user)
    return json_response(await campaign_summary(campaign))


@bp.post("/<campaign_id:id>/tasks")
@endpoint(
    summary="新建任务",
    roles=STAFF_ROLES,
    body=TaskCreate,
    response=TaskRead,
    status=201,
    errors=(NotFound, Conflict),
    tag="tasks",
)
async def post_task(request: Request, campaign_id: int, user: User, body: TaskCreate) -> HTTPResponse:
    """Add a task (time window, quota, points, hours, photos, location, audience) to a campaign."""
    campaign = await managed_campaign(campaign_id, user)
    data = task_columns(body.model_dump())
    data.update(await audience_fields(body.audience.model_dump() if body.audience else None))
    task = await create_task(campaign, data)
    if campaign.status == "published":
        await request.app.ctx.jobs.enqueue("notify_task_new", task.id)
    return json_response(TaskRead.of(task, now_utc()), status=201)


def task_columns(fields: dict) -> dict:
    """Flatten the API's nested task fields into columns (location → lat/lng/radius)."""
    data = {k: v for k, v in fields.items() if k not in ("location", "audience")}
    if "location" in fields:
        loc = fields["location"]
        data.update(
            location_name=loc["name"] if loc else None,
            lat=loc["lat"] if loc else None,
            lng=loc["lng"] if loc else None,
            radius_m=loc["radius_m"] if loc else None,
        )
    return data
