"""Share links and the opens they bring: a ref for the share card, opens counted on the server."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.sharing_schemas import ShareLinkIn, ShareLinkRead, ShareOpenIn, ShareStatsRead
from models.sharing import BadRef, link_of_ref, record_open, ref_for, share_link, share_stats
from models.users import STAFF_ROLES, User
from server.kernel.errors import NotFound
from server.web.endpoint import endpoint, json_response, no_content
from server.web.permissions import managed_task, visible_task
from server.web.services import Services

bp = Blueprint("sharing")


@bp.post("/share-links")
@endpoint(summary="分享任务", body=ShareLinkIn, response=ShareLinkRead, status=201, errors=(NotFound,), tag="sharing")
async def create_link(request: Request, user: User, body: ShareLinkIn, services: Services) -> HTTPResponse:
    """The caller's signed ref for a task they can see; the same ref each time they share it."""
    link = await share_link(await visible_task(int(body.task_id), user), user)
    return json_response(ShareLinkRead(ref=ref_for(link.id, services.share_key)), status=201)


@bp.post("/share-opens")
@endpoint(summary="打开分享卡片", body=ShareOpenIn, status=204, errors=(BadRef,), tag="sharing")
async def record(request: Request, user: User, body: ShareOpenIn, services: Services) -> HTTPResponse:
    """Counts the caller's open of a shared card once; the sharer's own opens and repeats count nothing."""
    await record_open(link_of_ref(body.ref, services.share_key), user, services.effects)
    return no_content()


@bp.get("/tasks/<task_id:id>/share-stats")
@endpoint(summary="任务分享统计", roles=STAFF_ROLES, response=ShareStatsRead, errors=(NotFound,), tag="sharing")
async def stats(request: Request, task_id: int, user: User) -> HTTPResponse:
    """How many people shared a task of the caller's subtree and how many opens their cards brought."""
    links, opens = await share_stats((await managed_task(task_id, user)).id)
    return json_response(ShareStatsRead(links=links, opens=opens))
