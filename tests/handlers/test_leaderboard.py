"""Rankings of people and orgs: ranks, scopes, privacy, and Redis equal to the ledger."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from models.ledger import LedgerEntry
from models.rankings import WATERMARK, Rankings, parse_scope
from models.users import User
from tests.factories import published_task
from tests.handlers.test_review import hand_in, review_path
from tests.support import run_cli, service_env

BOARD = "/api/v1/leaderboard"
ORGS = "/api/v1/leaderboard/orgs"


async def earn(api, staff: str, task: dict, token: str, points: int, seed: int = 0) -> str:
    sid = await hand_in(api, token, task, seed=seed)
    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve", "points": points})
    assert reply.status == 200, reply.body
    return sid


async def rebuild_if_redis(api) -> None:
    rankings = api.service.services.rankings
    if rankings.redis is not None:
        await rankings.rebuild(datetime.now(UTC))


def rows(board: dict) -> list[tuple[int, str | None, int]]:
    return [(item["rank"], item["user"]["id"], item["points"]) for item in board["items"]]


@pytest.fixture
async def task(api, staff, tree) -> dict:
    return await published_task(api, staff, tree.east.id, points=30, quota=50)


async def test_ties_share_a_rank_and_me_is_told_far_down(api, staff, task, tree) -> None:
    people = [await api.person("volunteer", tree.east_village.id) for _ in range(5)]
    for (token, _), points in zip(people, (30, 20, 20, 10, 5), strict=True):
        await earn(api, staff, task, token, points)
    ids = [str(uid) for _, uid in people]

    top = await api.call("GET", f"{BOARD}?limit=3", token=people[4][0])

    assert top.status == 200, top.body
    assert top.body["scope"] == "all"
    assert rows(top.body) == [(1, ids[0], 30), (2, ids[1], 20), (2, ids[2], 20)]
    assert top.body["me"] == {"rank": 5, "points": 5}
    full = await api.call("GET", BOARD, token=people[3][0])
    assert [r for r, _, _ in rows(full.body)] == [1, 2, 2, 4, 5]
    assert full.body["me"] == {"rank": 4, "points": 10}
    assert [item["is_me"] for item in full.body["items"]] == [False, False, False, True, False]
    nobody = await api.call("GET", BOARD, token=staff)
    assert nobody.body["me"] is None


async def test_hidden_people_are_counted_but_anonymous(api, staff, task, tree) -> None:
    shy, shy_id = await api.person("volunteer", tree.east_village.id)
    other, _ = await api.person("volunteer", tree.east_village.id)
    await earn(api, staff, task, shy, 50)
    await earn(api, staff, task, other, 10)
    await api.call("PATCH", "/api/v1/me", token=shy, json={"leaderboard_visible": False})

    seen_by_other = await api.call("GET", BOARD, token=other)
    seen_by_self = await api.call("GET", BOARD, token=shy)

    first = seen_by_other.body["items"][0]
    assert first["rank"] == 1 and first["points"] == 50
    assert first["user"] == {"id": None, "nickname": "匿名用户", "avatar_url": None, "org": None}
    assert seen_by_other.body["me"] == {"rank": 2, "points": 10}
    assert seen_by_self.body["items"][0]["user"]["id"] == str(shy_id)  # people see themselves


async def test_a_reversal_takes_the_points_off_the_board(api, staff, task, tree) -> None:
    token, _ = await api.person("volunteer", tree.east_village.id)
    sid = await earn(api, staff, task, token, 10)
    await api.call("POST", review_path(sid), token=staff, json={"decision": "reject", "reason": "作假"})
    board = await api.call("GET", BOARD, token=token)
    assert board.body["items"] == [] and board.body["me"] is None


async def test_campaign_and_org_scopes(api, staff, task, tree) -> None:
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_staff, tree.west.id, points=10)
    east, east_id = await api.person("volunteer", tree.east_village.id)
    west, west_id = await api.person("volunteer", tree.west_village.id)
    await earn(api, staff, task, east, 10)
    await earn(api, west_staff, west_task, west, 15)

    campaign = await api.call("GET", f"{BOARD}?scope=campaign:{task['campaign_id']}", token=east)
    east_org = await api.call("GET", f"{BOARD}?scope=org:{tree.east.id}", token=west)
    county = await api.call("GET", f"{BOARD}?scope=org:{tree.county.id}", token=west)

    assert rows(campaign.body) == [(1, str(east_id), 10)]
    assert rows(east_org.body) == [(1, str(east_id), 10)] and east_org.body["me"] is None
    assert rows(county.body) == [(1, str(west_id), 15), (2, str(east_id), 10)]
    assert county.body["me"] == {"rank": 1, "points": 15}


async def test_week_and_month_count_only_the_current_period(api, staff, task, tree) -> None:
    old, old_id = await api.person("volunteer", tree.east_village.id)
    new, new_id = await api.person("volunteer", tree.east_village.id)
    await earn(api, staff, task, old, 40)
    await earn(api, staff, task, new, 10)
    await LedgerEntry.filter(user_id=old_id).update(created_at=datetime.now(UTC) - timedelta(days=45))
    await rebuild_if_redis(api)

    for scope in ("week", "month"):
        board = await api.call("GET", f"{BOARD}?scope={scope}", token=old)
        assert rows(board.body) == [(1, str(new_id), 10)], scope
        assert board.body["me"] is None
    everything = await api.call("GET", BOARD, token=old)
    assert rows(everything.body) == [(1, str(old_id), 40), (2, str(new_id), 10)]


def test_week_starts_on_monday_in_shanghai() -> None:
    # Sunday 2026-11-29 17:00 UTC is Monday 01:00 in Shanghai: a new week there.
    scope = parse_scope("week", datetime(2026, 11, 29, 17, 0, tzinfo=UTC))
    assert scope.key == "week:2026-11-30"
    assert scope.since == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
    month = parse_scope("month", datetime(2026, 11, 30, 16, 30, tzinfo=UTC))  # Dec 1st, 00:30 local
    assert month.key == "month:2026-12"


@pytest.mark.parametrize("scope", ["year", "campaign:", "campaign:x", "org:-1", "org:99999999999", "all "])
async def test_unknown_scope_is_400(api, scope) -> None:
    token, _ = await api.person("volunteer")
    reply = await api.call("GET", f"{BOARD}?scope={scope}", token=token)
    assert reply.status == 400 and "scope" in reply.body["error"]["details"]["fields"]
    assert (await api.call("GET", f"{ORGS}?scope={scope}", token=token)).status == 400


async def test_org_ranking_in_total_and_per_volunteer(api, staff, task, tree) -> None:
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_staff, tree.west.id, points=10, quota=50)
    east_people = [await api.person("volunteer", tree.east_village.id) for _ in range(4)]
    west_one, _ = await api.person("volunteer", tree.west_village.id)
    for i, (token, _) in enumerate(east_people[:2]):
        await earn(api, staff, task, token, 10, seed=i)
    await earn(api, west_staff, west_task, west_one, 15)

    total = await api.call("GET", ORGS, token=west_one)
    per_head = await api.call("GET", f"{ORGS}?per_capita=1", token=west_one)

    assert total.status == 200, total.body
    assert total.body["parent"]["id"] == str(tree.county.id)
    assert [(i["rank"], i["org"]["id"], i["points"], i["members"]) for i in total.body["items"]] == [
        (1, str(tree.east.id), 20, 4),
        (2, str(tree.west.id), 15, 1),
    ]
    assert [(i["org"]["id"], i["per_capita"]) for i in per_head.body["items"]] == [
        (str(tree.west.id), 15.0),
        (str(tree.east.id), 5.0),
    ]
    villages = await api.call("GET", f"{ORGS}?scope=org:{tree.east.id}", token=west_one)
    assert [(i["org"]["id"], i["points"]) for i in villages.body["items"]] == [(str(tree.east_village.id), 20)]
    missing = await api.call("GET", f"{ORGS}?parent_id=99999", token=west_one)
    assert missing.status == 404


# --- Redis equals the ledger ------------------------------------------------------------------------


async def snapshot(rankings: Rankings, scopes: list[str], org_ids: list[int]) -> dict:
    now = datetime.now(UTC)
    out = {}
    for text in scopes:
        scope = parse_scope(text, now)
        users = await User.all().values_list("id", flat=True)
        out[text] = {
            "top": (await rankings.board(scope, 100, None)).items,
            "me": {uid: (await rankings.board(scope, 1, uid)).me for uid in users},
            "orgs": await rankings.org_points(scope, org_ids),
        }
    return out


async def test_redis_boards_never_drift_from_the_ledger_and_rebuild_equals_live(api, staff, task, tree, redis) -> None:
    live = api.service.services.rankings
    assert live.redis is not None
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_staff, tree.west.id, points=10, quota=50)
    people = [await api.person("volunteer", org) for org in [tree.east_village.id] * 4 + [tree.west_village.id] * 3]
    rng = random.Random(20261128)
    for i, (token, _) in enumerate(people):
        reviewer, t = (staff, task) if i < 4 else (west_staff, west_task)
        sid = await earn(api, reviewer, t, token, rng.randint(0, 20), seed=i)
        if rng.random() < 0.35:
            reply = await api.call(
                "POST", review_path(sid), token=reviewer, json={"decision": "reject", "reason": "复核"}
            )
            assert reply.status == 200
    scopes = ["all", "week", "month", f"campaign:{task['campaign_id']}", f"org:{tree.east.id}", f"org:{tree.county.id}"]
    orgs = [tree.east.id, tree.west.id, tree.east_village.id, tree.west_village.id]

    from_redis = await snapshot(live, scopes, orgs)
    from_sql = await snapshot(Rankings(None), scopes, orgs)
    assert from_redis == from_sql
    assert from_redis["all"]["top"], "the mix should leave someone with points"

    await live.redis.flushdb()  # Redis restarted empty: cold boards are not trusted, SQL answers
    assert await live.redis.exists(WATERMARK) == 0
    assert await snapshot(live, scopes, orgs) == from_sql
    await live.rebuild(datetime.now(UTC))
    assert await live.redis.exists(WATERMARK) == 1
    assert await snapshot(live, scopes, orgs) == from_sql


async def test_an_entry_counts_once_however_often_it_is_recorded(api, staff, task, tree, redis) -> None:
    live = api.service.services.rankings
    token, uid = await api.person("volunteer", tree.east_village.id)
    await earn(api, staff, task, token, 7)
    entry = await LedgerEntry.get(user_id=uid)
    await live.record([entry])
    await live.record([entry])
    assert (await live.board(parse_scope("all", datetime.now(UTC)), 10, uid)).me == (1, 7)


async def test_cold_boards_heal_themselves(api, staff, task, tree, redis) -> None:
    token, uid = await api.person("volunteer", tree.east_village.id)
    await earn(api, staff, task, token, 9)
    await redis.flushdb()
    spawned = []
    healing = Rankings(redis, spawn=lambda coro, name: spawned.append(coro))
    board = await healing.board(parse_scope("all", datetime.now(UTC)), 10, uid)
    assert board.me == (1, 9)  # from SQL meanwhile
    assert len(spawned) == 1
    await spawned[0]
    assert await redis.exists(WATERMARK) == 1
    assert await redis.zscore("wenming:rank:all", str(uid)) is not None


async def test_ranking_rebuild_command(api, staff, task, tree, database_url, wechat, redis, redis_url) -> None:
    token, uid = await api.person("volunteer", tree.east_village.id)
    await earn(api, staff, task, token, 12)
    await redis.flushdb()
    env = service_env(database_url, wechat, WENMING_REDIS_URL=redis_url)

    status, out, err = await run_cli("ranking", "rebuild", env=env)

    assert status == 0, err
    assert "rebuilt rankings from 1 ledger entries" in out
    assert "rebuilding rankings [" in err and "100%" in err
    board = await api.call("GET", BOARD, token=token)
    assert rows(board.body) == [(1, str(uid), 12)]


async def test_ranking_rebuild_without_redis_says_there_is_nothing_to_do(api, database_url, wechat) -> None:
    env = service_env(database_url, wechat)
    env.pop("WENMING_REDIS_URL", None)
    status, out, _ = await run_cli("ranking", "rebuild", env=env)
    assert status == 0 and "nothing to rebuild" in out


@pytest.mark.parametrize("scope", ["campaign:%D9%A7", "org:%EF%BC%91", "all%0A", "week%0A", "campaign:07", "org:0"])
async def test_a_scope_has_one_spelling(api, scope) -> None:
    """Other spellings of a board (Unicode digits, a trailing newline, leading zeros) are refused,
    not read as another, empty board."""
    token, _ = await api.person("volunteer")
    reply = await api.call("GET", f"{BOARD}?scope={scope}", token=token)
    assert reply.status == 400, reply.body
    assert "取值无效" in reply.body["error"]["details"]["fields"]["scope"]
