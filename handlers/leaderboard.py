"""Rankings of people and of orgs, from the points ledger.

The people's boards are read from ``server.web.caches`` (``board``): the top rows as anyone sees
them, and each caller's rank, both emptied when points or people change.
"""

from __future__ import annotations

from typing import Any

import orjson
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
from models.rankings import Scope, board_parent, org_board, parse_scope
from models.users import Profile, User, profiles
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
    if scope.kind == "reach":
        return json_response(await _reach(scope, query.limit, user, services))
    cache = services.caches.board
    top, me = cache.get((scope.key, query.limit)), cache.get((scope.key, "me", user.id))
    if top is None or me is None:
        ticket = cache.ticket()
        board = await services.rankings.board(scope, query.limit, user.id)
        people = await profiles([uid for _, uid, _ in board.items])
        top = _Top([(rank, uid, pts, people.get(uid)) for rank, uid, pts in board.items], services)
        me = (_mine(board.me),)  # in a tuple: None is an answer too (no points here yet)
        cache.put((scope.key, query.limit), top, ticket)
        cache.put((scope.key, "me", user.id), me, ticket)
    return json_response({"scope": scope.text, "items": top.seen_by(user.id, services), "me": me[0]})


class _Top:
    """A board's top rows as anyone sees them, serialised once: the whole list, and each row for the
    answer to a person who is among them (their row is marked and shows them even when hidden)."""

    __slots__ = ("items", "people", "rows")

    def __init__(self, shown: list[tuple[int, int, int, Profile | None]], services: Services) -> None:
        rows = [(uid, person, _item(rank, person, pts, services)) for rank, uid, pts, person in shown]
        self.rows = [(uid, person, orjson.Fragment(orjson.dumps(item)), item) for uid, person, item in rows]
        self.people = {uid for uid, _, _ in rows}
        self.items = orjson.Fragment(orjson.dumps([item for _, _, item in rows]))

    def seen_by(self, user_id: int, services: Services) -> Any:
        if user_id not in self.people:
            return self.items
        return [_item_of_me(item, person, services) if uid == user_id else row for uid, person, row, item in self.rows]


def _item(rank: int, person: Profile | None, points: int, services: Services) -> dict[str, Any]:
    """A board row as anyone but the person sees it (``BoardItem``, ``is_me`` false)."""
    shown = person is not None and person.public
    row = BoardItem(rank=rank, user=RankedUser.of(person, services.storage, shown=shown), points=points, is_me=False)
    return row.model_dump(mode="json")


def _item_of_me(item: dict[str, Any], person: Profile | None, services: Services) -> dict[str, Any]:
    """The caller's own row: marked, and shown to them even when hidden from the others."""
    return {**item, "user": RankedUser.of(person, services.storage, shown=True).model_dump(mode="json"), "is_me": True}


def _mine(me: tuple[int, int] | None) -> dict[str, Any] | None:
    return MyRank(rank=me[0], points=me[1]).model_dump(mode="json") if me else None


async def _reach(scope: Scope, limit: int, user: User, services: Services) -> BoardOut:
    """The influence boards (views of approved online works), read on every request."""
    board = await services.rankings.board(scope, limit, user.id)
    people = await profiles([uid for _, uid, _ in board.items])
    items = []
    for rank, uid, views in board.items:
        person = people.get(uid)
        shown = person is not None and (person.id == user.id or person.public)
        ranked_user = RankedUser.of(person, services.storage, shown=shown)
        items.append(BoardItem(rank=rank, user=ranked_user, points=views, views=views, is_me=uid == user.id))
    me = MyRank(rank=board.me[0], points=board.me[1], views=board.me[1]) if board.me else None
    return BoardOut(scope=scope.text, items=items, me=me)


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
