"""The rebuild's sums in the database give exactly the boards that adding each entry gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from models.ledger import LedgerEntry
from models.orgs import create_org
from models.rankings import ORG_PREFIX, PREFIX, REBUILD_STEPS, WATERMARK, Rankings, period_keys, period_start
from models.users import User
from server.kernel.clock import LOCAL_TZ
from tests.support import counting_queries

Boards = dict[str, dict[str, float]]


async def boards_in(redis: Redis) -> Boards:
    """Every board in Redis, member by member with its score (the watermark is not a board)."""
    out: Boards = {}
    for pattern in (PREFIX + "*", ORG_PREFIX + "*"):
        async for raw in redis.scan_iter(match=pattern):
            key = raw.decode()
            if key != WATERMARK:
                out[key] = {m.decode(): s for m, s in await redis.zrange(key, 0, -1, withscores=True)}
    return out


def is_past_period(key: str, now: datetime) -> bool:
    name = key.removeprefix(PREFIX).removeprefix(ORG_PREFIX)
    return name.startswith(("week:", "month:")) and name not in period_keys(now)


async def entry(user: User, points: int, org_path: str, at: datetime | None, campaign: int | None = None) -> None:
    await LedgerEntry.create(
        user_id=user.id,
        kind="award" if points >= 0 else "reversal",
        points=points,
        reason="测试",
        campaign_id=campaign,
        org_id=int(org_path.strip("/").split("/")[-1]),
        org_path=org_path,
        **({"created_at": at} if at is not None else {}),
    )


async def test_rebuild_gives_exactly_the_boards_that_recording_each_entry_gives(api, redis) -> None:
    now = datetime.now(UTC)
    county = await create_org("县", "county", None)
    east, west = await create_org("东镇", "township", county.id), await create_org("西镇", "township", county.id)
    villages = [await create_org(f"村{i}", "village", town.id) for i, town in enumerate((east, east, west))]
    paths = [v.path for v in villages] + [east.path, county.path]
    people = [await User.create(openid=f"rebuild-{i}", org_id=villages[i % 3].id) for i in range(12)]
    week_start, month_start = period_start("week", now), period_start("month", now)
    second = timedelta(seconds=1)
    rng = random.Random(20261206)
    moments = [
        None,
        now - timedelta(hours=2),
        now - timedelta(days=9),
        now - timedelta(days=40),
        now - timedelta(days=400),
    ]
    for i, person in enumerate(people[:8]):
        # Awards in several campaigns and periods, where the person was (moved between two orgs).
        for n in range(6):
            path = paths[(i + (n >= 3)) % len(paths)]
            at = rng.choice(moments)
            if isinstance(at, datetime) and n % 2:
                at = at.astimezone(LOCAL_TZ)  # stored with its own offset on SQLite
            points = rng.randint(0, 40)
            campaign = rng.choice([None, 1, 2, 3])
            await entry(person, points, path, at, campaign)
            if points and rng.random() < 0.3:  # a reversal of that award: same org, campaign and time
                await entry(person, -points, path, at, campaign)
    # A second either side of this week's start and of this month's start, in UTC and in local time.
    edge = people[8:12]
    await entry(edge[0], 5, paths[0], (week_start - second).astimezone(UTC), 1)
    await entry(edge[1], 6, paths[1], week_start.astimezone(UTC), 1)
    await entry(edge[2], 7, paths[2], month_start - second, 2)
    await entry(edge[3], 8, paths[2], (month_start + second).astimezone(UTC), 2)
    await entry(edge[3], 3, paths[0], week_start + second, None)
    # Moved by an update, which writes the offset it is given (UTC) where create() writes local time.
    await entry(edge[1], 2, paths[1], None, None)
    await LedgerEntry.filter(id=await LedgerEntry.all().order_by("-id").first().values_list("id", flat=True)).update(
        created_at=(week_start + second).astimezone(UTC)
    )
    # A reversal left alone in a later week than its award: below zero there, so on no board.
    await entry(edge[0], 20, paths[3], now - timedelta(days=9), 3)
    await entry(edge[0], -20, paths[3], now - timedelta(hours=1), 3)

    recorded = Rankings(redis)
    await redis.set(WATERMARK, 0)
    await recorded.record(await LedgerEntry.all().order_by("id"))
    per_entry = await boards_in(redis)
    await redis.flushdb()
    steps: list[tuple[int, int]] = []

    with counting_queries() as queries:
        counted = await Rankings(redis).rebuild(now, progress=lambda done, total: steps.append((done, total)))
    rebuilt = await boards_in(redis)

    entries = await LedgerEntry.all().count()
    assert counted == entries
    assert int(await redis.get(WATERMARK)) == await LedgerEntry.all().order_by("-id").first().values_list(
        "id", flat=True
    )
    # Past weeks and months are kept by record() for a while and never rebuilt: nobody asks for them.
    assert rebuilt == {key: board for key, board in per_entry.items() if not is_past_period(key, now)}
    assert any(is_past_period(key, now) for key in per_entry), "the ledger should reach past periods"
    week, month = period_keys(now)
    this_week = rebuilt.get(PREFIX + week, {})
    assert str(edge[0].id) not in this_week and str(edge[1].id) in this_week and str(edge[3].id) in this_week
    this_month = rebuilt.get(PREFIX + month, {})
    assert str(edge[3].id) in this_month
    assert (str(edge[2].id) in this_month) == (month_start - second >= week_start)
    assert {PREFIX + "campaign:1", PREFIX + "campaign:3", ORG_PREFIX + "campaign:2", PREFIX + f"org:{east.id}"} <= set(
        rebuilt
    )
    assert steps[-1] == (REBUILD_STEPS, REBUILD_STEPS) and [d for d, _ in steps] == sorted(d for d, _ in steps)
    # One query per board kind however long the ledger, plus the watermark and the entries after it.
    assert queries.selects <= REBUILD_STEPS + 2, queries.statements


async def test_entries_after_the_watermark_are_added_once(api, redis) -> None:
    county = await create_org("县", "county", None)
    person = await User.create(openid="rebuild-late", org_id=county.id)
    await entry(person, 4, county.path, None, 1)
    live = Rankings(redis)
    await live.rebuild(datetime.now(UTC))
    upto = int(await redis.get(WATERMARK))
    await entry(person, 5, county.path, None, 1)  # committed after the watermark, not yet recorded
    await live.record(await LedgerEntry.filter(id__gt=upto))
    assert await redis.zscore(PREFIX + "all", str(person.id)) == float(9 * 2**31 + 2**31 - 1 - person.id)
