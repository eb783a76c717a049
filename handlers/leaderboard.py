"""Rankings of people and of orgs, from the points ledger."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handlers.review_schemas import (
    BoardItem,
    BoardOut,
    BoardQuery,
    MyRank,
    OrgBoardItem,
    OrgBoardOut,
    OrgBoardQuery,
    RankedUser,
)
from handlers.schemas import OrgRead
from models.rankings import board_parent, org_board, parse_scope
from models.users import User, profiles
from server.kernel.clock import now_utc
from server.kernel.errors import NotFound
from server.web.endpoint import endpoint, json_response
from server.web.services import Services

bp = Blueprint("leaderboard", url_prefix="/leaderboard")


@bp.get("")
@endpoint(summary="排行榜", query=BoardQuery, response=BoardOut, tag="leaderboard")
async def people(request: Request, user: User, query: BoardQuery, services: Services) -> HTTPResponse:
    """Top people by points (`reach` scopes: views) in a scope (ties share a rank: 1, 2, 2, 4) and the caller's rank."""
    scope = parse_scope(query.scope, now_utc(), reach=True)
    reach = scope.kind == "reach"
    board = await services.rankings.board(scope, query.limit, user.id)
    people = await profiles([uid for _, uid, _ in board.items])
    storage = services.storage
    items = []
    for rank, uid, points in board.items:
        person = people.get(uid)
        shown = person is not None and (person.id == user.id or person.public)
        ranked_user = RankedUser.of(person, storage, shown=shown)
        views = points if reach else None
        items.append(BoardItem(rank=rank, user=ranked_user, points=points, views=views, is_me=uid == user.id))
    me = MyRank(rank=board.me[0], points=board.me[1], views=board.me[1] if reach else None) if board.me else None
    return json_response(BoardOut(scope=scope.text, items=items, me=me))


@bp.get("/orgs")
@endpoint(summary="组织排行榜", query=OrgBoardQuery, response=OrgBoardOut, errors=(NotFound,), tag="leaderboard")
async def orgs(request: Request, user: User, query: OrgBoardQuery, services: Services) -> HTTPResponse:
    """The sub-orgs of a parent (default: the county) by points, or per registered volunteer (`per_capita=1`)."""
    scope = parse_scope(query.scope, now_utc())
    parent = await board_parent(user, scope.org_id or (int(query.parent_id) if query.parent_id else None))
    per_capita = query.per_capita in ("1", "true")
    standings = await org_board(services.rankings, scope, parent, per_capita)
    items = [
        OrgBoardItem(rank=s.rank, org=OrgRead.of(s.org), points=s.points, members=s.members, per_capita=s.per_capita)
        for s in standings
    ]
    return json_response(OrgBoardOut(scope=scope.text, parent=OrgRead.of(parent), per_capita=per_capita, items=items))
