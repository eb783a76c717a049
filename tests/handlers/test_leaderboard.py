"""Rankings of people and orgs: ranks, scopes, privacy, and Redis equal to the ledger."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from models.ledger import LedgerEntry
from models.rankings import WATERMARK, Rankings, parse_scope
from models.submissions import Submission
from models.users import User
from tests.factories import approved_online_work, online_body, published_task, record_reach
from tests.handlers.test_review import hand_in, review_path
from tests.support import counting_queries, run_cli, service_env

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


# -- reach: the latest views of approved online work ----------------------------------------------


@pytest.fixture
async def online_task(api, staff, tree) -> dict:
    return await published_task(api, staff, tree.east.id, points=5, quota=50, online=online_body())


async def test_reach_ranks_people_by_the_latest_views_of_their_approved_work(api, staff, online_task, tree) -> None:
    a, a_id = await api.person("volunteer", tree.east_village.id)
    b, b_id = await api.person("volunteer", tree.east_village.id)
    c, c_id = await api.person("volunteer", tree.west_village.id)
    second = await published_task(api, staff, tree.east.id, title="第二条", online=online_body())
    await approved_online_work(api, staff, online_task, a, seed=1, views=1200)
    await approved_online_work(api, staff, second, a, seed=2, views=300)
    await approved_online_work(api, staff, online_task, b, seed=3, views=2000)
    await approved_online_work(api, staff, online_task, c, seed=4, views=900)
    later = await approved_online_work(api, staff, second, c, seed=5, views=100)
    await record_reach(api, later, views=600)  # the latest snapshot counts, not the sum of snapshots

    board = await api.call("GET", f"{BOARD}?scope=reach", token=c)

    assert board.status == 200, board.body
    assert board.body["scope"] == "reach"
    assert rows(board.body) == [(1, str(b_id), 2000), (2, str(a_id), 1500), (2, str(c_id), 1500)]
    assert [item["views"] for item in board.body["items"]] == [2000, 1500, 1500]
    assert board.body["me"] == {"rank": 2, "points": 1500, "views": 1500}
    points = await api.call("GET", BOARD, token=c)
    assert all("views" not in item for item in points.body["items"]), "a points board grew a field"
    assert "views" not in points.body["me"]


async def test_reach_counts_approved_work_only_and_hides_whom_it_should(api, staff, online_task, tree) -> None:
    shy, _ = await api.person("volunteer", tree.east_village.id)
    other, _ = await api.person("volunteer", tree.east_village.id)
    await approved_online_work(api, staff, online_task, shy, seed=1, views=5000)
    rejected = await approved_online_work(api, staff, online_task, other, seed=2, views=9000)
    reply = await api.call("POST", review_path(rejected), token=staff, json={"decision": "reject", "reason": "刷量"})
    assert reply.status == 200, reply.body
    await api.call("PATCH", "/api/v1/me", token=shy, json={"leaderboard_visible": False})

    board = await api.call("GET", f"{BOARD}?scope=reach", token=other)

    assert rows(board.body) == [(1, None, 5000)]
    assert board.body["me"] is None


async def test_reach_week_and_month_go_by_when_the_work_was_approved(api, staff, online_task, tree) -> None:
    old, old_id = await api.person("volunteer", tree.east_village.id)
    new, new_id = await api.person("volunteer", tree.east_village.id)
    await approved_online_work(api, staff, online_task, old, seed=1, views=800)
    await approved_online_work(api, staff, online_task, new, seed=2, views=300)
    await Submission.filter(user_id=old_id).update(reviewed_at=datetime.now(UTC) - timedelta(days=45))

    for scope in ("reach:week", "reach:month"):
        board = await api.call("GET", f"{BOARD}?scope={scope}", token=old)
        assert board.body["scope"] == scope
        assert rows(board.body) == [(1, str(new_id), 300)], scope
        assert board.body["me"] is None
    everything = await api.call("GET", f"{BOARD}?scope=reach", token=old)
    assert rows(everything.body) == [(1, str(old_id), 800), (2, str(new_id), 300)]


def test_reach_periods_start_on_monday_and_the_first_in_shanghai() -> None:
    now = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # Monday 2026-11-30 01:00 in Shanghai
    assert parse_scope("reach:week", now, reach=True).since == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
    assert parse_scope("reach:month", now, reach=True).since == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert parse_scope("reach", now, reach=True).since is None


@pytest.mark.parametrize("scope", ["reach:year", "reach:", "reach:week ", "reachweek", "reach:campaign:1"])
async def test_a_bad_reach_scope_is_400(api, scope) -> None:
    token, _ = await api.person("volunteer")
    reply = await api.call("GET", f"{BOARD}?scope={scope}", token=token)
    assert reply.status == 400 and "reach:week" in reply.body["error"]["details"]["fields"]["scope"]


async def test_the_org_board_has_no_reach_scope(api) -> None:
    token, _ = await api.person("volunteer")
    reply = await api.call("GET", f"{ORGS}?scope=reach", token=token)
    assert reply.status == 400 and "scope" in reply.body["error"]["details"]["fields"]


async def test_a_reach_board_costs_the_same_statements_for_few_people_or_many(api, staff, online_task, tree) -> None:
    token, _ = await api.person("volunteer", tree.east_village.id)
    await approved_online_work(api, staff, online_task, token, seed=0, views=10)
    with counting_queries() as few:
        first = await api.call("GET", f"{BOARD}?scope=reach", token=token)
    for n in range(1, 6):
        other, _ = await api.person("volunteer", tree.east_village.id)
        await approved_online_work(api, staff, online_task, other, seed=n, views=10 + n)
    with counting_queries() as many:
        reply = await api.call("GET", f"{BOARD}?scope=reach", token=token)

    assert len(first.body["items"]) == 1 and len(reply.body["items"]) == 6
    assert len(many.statements) == len(few.statements) > 0
