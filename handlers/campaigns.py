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
    campaign_changes,
    campaign_columns,
    new_task_columns,
)
from models.campaigns import (
    campaigns_page,
    close_campaign,
    create_campaign,
    publish_campaign,
    update_campaign,
)
from models.media import MediaNotYours
from models.orgs import org_path
from models.participation import campaign_summary
from models.tasks import create_task
from models.users import STAFF_ROLES, User
from server.kernel.clock import now_utc
from server.kernel.errors import Conflict, InvalidRequest, NotFound
from server.kernel.pagination import decode_id_cursor, split_page
from server.web.endpoint import endpoint, json_response
from server.web.permissions import managed_campaign, org_in_scope, staff_scope, visible_campaign
from server.web.services import Services

bp = Blueprint("campaigns", url_prefix="/campaigns")


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
async def post_campaign(request: Request, user: User, body: CampaignCreate, services: Services) -> HTTPResponse:
    """Create a draft campaign owned by an org inside the caller's subtree."""
    org = await org_in_scope(user, int(body.org_id), "只能在本组织及下级组织发布活动")
    campaign = await create_campaign(await campaign_columns(body, user), org, user)
    return json_response(CampaignRead.of(campaign, services.storage), status=201)


@bp.patch("/<campaign_id:id>")
@endpoint(
    summary="修改活动",
    roles=STAFF_ROLES,
    body=CampaignUpdate,
    response=CampaignRead,
    errors=(NotFound, Conflict, MediaNotYours),
    tag="campaigns",
)
async def patch_campaign(
    request: Request, campaign_id: int, user: User, body: CampaignUpdate, services: Services
) -> HTTPResponse:
    """Edit title, kind, description or dates of a campaign the caller manages."""
    campaign = await managed_campaign(campaign_id, user)
    changes = await campaign_changes(body, user)
    return json_response(CampaignRead.of(await update_campaign(campaign, changes), services.storage))


@bp.post("/<campaign_id:id>/publish")
@endpoint(summary="发布活动", roles=STAFF_ROLES, response=CampaignRead, errors=(NotFound, Conflict), tag="campaigns")
async def publish(request: Request, campaign_id: int, user: User, services: Services) -> HTTPResponse:
    """Make a draft visible to volunteers and influencers."""
    campaign = await publish_campaign(await managed_campaign(campaign_id, user), user, services.effects)
    return json_response(CampaignRead.of(campaign, services.storage))


@bp.post("/<campaign_id:id>/close")
@endpoint(summary="结束活动", roles=STAFF_ROLES, response=CampaignRead, errors=(NotFound, Conflict), tag="campaigns")
async def close(request: Request, campaign_id: int, user: User, services: Services) -> HTTPResponse:
    """Close a campaign: its tasks accept no new enrollments."""
    campaign = await close_campaign(await managed_campaign(campaign_id, user), user)
    return json_response(CampaignRead.of(campaign, services.storage))


@bp.get("")
@endpoint(summary="活动列表", query=CampaignQuery, response=CampaignList, tag="campaigns")
async def list_campaigns(request: Request, user: User, query: CampaignQuery, services: Services) -> HTTPResponse:
    """Newest first; volunteers see published and closed ones, staff everything in their subtree."""
    scope = staff_scope(user) if user.is_staff else None
    path = await org_path(int(query.org_id)) if query.org_id else None
    if query.org_id and path is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    rows = await campaigns_page(
        scope_path=scope.path if scope else None,
        drafts=user.is_staff,
        status=query.status,
        kind=query.kind,
        org_path=path,
        before_id=decode_id_cursor(query.cursor),
        limit=query.limit,
    )
    page, next_cursor = split_page(rows, query.limit)
    return json_response(
        CampaignList(items=[CampaignRead.of(c, services.storage) for c in page], next_cursor=next_cursor)
    )


@bp.get("/<campaign_id:id>")
@endpoint(summary="活动详情", response=CampaignRead, errors=(NotFound,), tag="campaigns")
async def get_campaign_detail(request: Request, campaign_id: int, user: User, services: Services) -> HTTPResponse:
    """One campaign the caller may see."""
    return json_response(CampaignRead.of(await visible_campaign(campaign_id, user), services.storage))


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
async def post_task(
    request: Request, campaign_id: int, user: User, body: TaskCreate, services: Services
) -> HTTPResponse:
    """Add a task (time window, quota, points, hours, photos, location, audience) to a campaign."""
    campaign = await managed_campaign(campaign_id, user)
    task = await create_task(campaign, await new_task_columns(body), services.effects)
    return json_response(TaskRead.of(task, now_utc()), status=201)
