"""Rankings computed from the ledger: Redis sorted sets when there is Redis, SQL otherwise.

Both give the same answers. In Redis a member's score carries the points and,
below them, the tie-break: ``points * 2**31 + (2**31 - 1 - id)``, exact in a
double for ids below 2**31 and points below 2**21, so the board's own order is
"points down, then id up", a rank is one ZCOUNT, and a top list one ZREVRANGE
however many people share a score. Redis boards are updated after the ledger commits
(``record``), can lag by a crash, and are rebuilt from the ledger by
``wenming ranking rebuild`` (``rebuild``). Ranks are standard competition ranks
(1, 2, 2, 4); equal points are listed by user id.

Scopes: ``all``, ``week`` and ``month`` (the current ones, Asia/Shanghai, weeks
from Monday), ``campaign:<id>``, ``org:<id>`` (entries earned inside that org's
subtree, by where people were when they earned). The people board also has
``reach``, ``reach:week`` and ``reach:month``: the latest views of people's approved
submissions (reviewed in the period), summed in SQL, never in Redis.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.expressions import RawSQL
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from models.ledger import LedgerEntry
from models.orgs import Org
from models.submissions import Submission
from models.users import User, members_by_org
from server.kernel.clock import LOCAL_TZ, now_utc
from server.kernel.errors import InvalidRequest, NotFound
from server.kernel.ids import is_id

log = logging.getLogger("wenming.rankings")
PREFIX = "wenming:rank:"
ORG_PREFIX = "wenming:orgrank:"
# Week and month boards outlive their period a little, then Redis drops them.
PERIOD_TTL_S = 40 * 86400
# ASCII digits without leading zeros, matched whole (\d takes "٧" and "１", and $ a trailing
# newline): each board has one spelling, since the spelling names its Redis key.
_SCOPE = re.compile(r"all|week|month|campaign:([1-9][0-9]{0,9})|org:([1-9][0-9]{0,9})|reach(?::(week|month))?")
ID_SPAN = 2**31
# The rebuild's watermark: boards hold every ledger entry up to this id. Missing = the
# boards are cold (a fresh or restarted Redis): reads go to SQL until a rebuild.
WATERMARK = PREFIX + "upto"
APPLIED_PREFIX = "wenming:rank-applied:"
APPLIED_TTL_S = 7 * 86400
REBUILD_LOCK = "wenming:rank-rebuilding"
# Applies one committed ledger entry to all its boards, atomically and at most once:
# entries the rebuild already counted (id <= watermark) and entries applied before are
# skipped. KEYS: watermark, applied marker, boards...; ARGV: entry id, points, members...
_APPLY_ENTRY = """
local upto = redis.call('GET', KEYS[1])
if not upto or tonumber(ARGV[1]) <= tonumber(upto) then return 0 end
if not redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[3]) then return 0 end
local delta = tonumber(ARGV[2]) * 2147483648
for i = 3, #KEYS do
  local member = ARGV[i + 1]
  if redis.call('ZSCORE', KEYS[i], member) then
    redis.call('ZINCRBY', KEYS[i], delta, member)
  else
    redis.call('ZADD', KEYS[i], delta + 2147483647 - tonumber(member), member)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', 2147483647)
end
return 1
"""

# A board read in one round trip: None when the boards are cold (no watermark), else the top
# ``limit`` members with their scores and, when the caller has a score, that score and how many
# have more points (the caller's rank - 1). A script and not a pipeline, since the count is
# keyed on the caller's score, which a pipeline cannot feed forward; being atomic, the top list
# and the rank also come from the same state. Scores pass as text, formatted exactly (%.0f):
# Lua's own number-to-text keeps 14 digits. KEYS: watermark, board; ARGV: limit, caller or "".
_READ_BOARD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local top = redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if ARGV[2] == '' then return {top} end
local score = redis.call('ZSCORE', KEYS[2], ARGV[2])
if not score then return {top} end
local floor = math.floor(tonumber(score) / 2147483648)
return {top, score, redis.call('ZCOUNT', KEYS[2], string.format('%.0f', (floor + 1) * 2147483648), '+inf')}
"""


def encode_score(points: int, member_id: int) -> int:
    return points * ID_SPAN + (ID_SPAN - 1 - member_id)


def points_of(score: float) -> int:
    return int(score // ID_SPAN)


@dataclass(frozen=True)
class Scope:
    text: str  # as asked: all, week, month, campaign:7, org:3
    kind: str  # all | week | month | campaign | org | reach
    key: str  # the Redis board's name after the prefix: all, week:2026-11-23, month:2026-11, campaign:7, org:3
    since: datetime | None = None  # week and month, reach:week and reach:month
    campaign_id: int | None = None
    org_id: int | None = None


def period_keys(moment: datetime) -> tuple[str, str]:
    """The week board (its Monday) and month board a moment belongs to, in local time."""
    local = moment.astimezone(LOCAL_TZ)
    monday = local.date() - timedelta(days=local.weekday())
    return f"week:{monday.isoformat()}", f"month:{local:%Y-%m}"


def parse_scope(text: str | None, now: datetime, *, reach: bool = False) -> Scope:
    """A scope from ``?scope=``; anything else is 400. ``reach`` scopes only where ``reach`` (people's board)."""
    text = text or "all"
    match = _SCOPE.fullmatch(text)
    number = match and (match.group(1) or match.group(2))
    if not match or (number and not is_id(int(number))) or (text.startswith("reach") and not reach):
        choices = "all、week、month、campaign:<id>、org:<id>" + ("、reach、reach:week、reach:month" if reach else "")
        raise InvalidRequest.fields({"scope": f"取值无效（可选：{choices}）"})
    if text.startswith("reach"):
        period = match.group(3)
        return Scope(text, "reach", text, since=period_start(period, now) if period else None)
    if text == "week":
        return Scope(text, "week", period_keys(now)[0], since=period_start("week", now))
    if text == "month":
        return Scope(text, "month", period_keys(now)[1], since=period_start("month", now))
    if match.group(1):
        return Scope(text, "campaign", text, campaign_id=int(match.group(1)))
    if match.group(2):
        return Scope(text, "org", text, org_id=int(match.group(2)))
    return Scope(text, "all", "all")


def period_start(period: str, now: datetime) -> datetime:
    """The first moment of the current week (from Monday) or month, in local time."""
    local = now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return local - timedelta(days=local.weekday())
    return local.replace(day=1)


@dataclass
class Board:
    items: list[tuple[int, int, int]]  # (rank, user id, points)
    me: tuple[int, int] | None  # (rank, points) of the caller, None when they have none here


class Rankings:
    def __init__(self, redis: Redis | None, spawn: Callable[[Any, str], None] | None = None) -> None:
        self.redis = redis
        # Starts background work (server.runtime.background.Background.spawn): the self-healing rebuild.
        self._spawn = spawn
        if redis is not None:
            self._read_board = redis.register_script(_READ_BOARD)

    # -- reading ---------------------------------------------------------------------------

    async def board(self, scope: Scope, limit: int, me: int | None) -> Board:
        if scope.kind == "reach":
            return await _reach_board(scope, limit, me)
        if self.redis is not None:
            try:
                board = await self._redis_board(PREFIX + scope.key, limit, me)
                if board is not None:
                    return board
                await self._heal_cold()
            except (RedisError, OSError):
                log.warning("leaderboard read from SQL: Redis unavailable")
        return await _sql_board(scope, limit, me)

    async def org_points(self, scope: Scope, org_ids: list[int]) -> dict[int, int]:
        """Points earned inside each org's subtree in ``scope`` (an ``org:`` scope counts all time)."""
        if not org_ids:
            return {}
        key = "all" if scope.kind == "org" else scope.key
        if self.redis is not None:
            try:
                if await self._warm():
                    scores = await self.redis.zmscore(ORG_PREFIX + key, [str(i) for i in org_ids])
                    return {org_id: points_of(score or 0) for org_id, score in zip(org_ids, scores, strict=True)}
            except (RedisError, OSError):
                log.warning("org leaderboard read from SQL: Redis unavailable")
        return await _sql_org_points(scope, org_ids)

    async def _warm(self) -> bool:
        """Whether the Redis boards hold the ledger; if not, one worker starts rebuilding them."""
        assert self.redis is not None
        if await self.redis.exists(WATERMARK):
            return True
        await self._heal_cold()
        return False

    async def _heal_cold(self) -> None:
        """Cold boards: one worker starts rebuilding them (the others keep reading SQL)."""
        assert self.redis is not None
        if self._spawn is not None and await self.redis.set(REBUILD_LOCK, 1, nx=True, ex=600):
            log.warning("leaderboards are cold (Redis restarted or flushed): rebuilding from the ledger")
            self._spawn(self._heal(), "ranking-rebuild")

    async def _heal(self) -> None:
        assert self.redis is not None
        try:
            await self.rebuild(now_utc())
        finally:
            await self.redis.delete(REBUILD_LOCK)

    async def _redis_board(self, key: str, limit: int, me: int | None) -> Board | None:
        """The board from Redis in one round trip (``_READ_BOARD``), or None when the boards are cold."""
        assert self.redis is not None
        reply = await self._read_board(keys=[WATERMARK, key], args=[limit, "" if me is None else me])
        if reply is None:
            return None
        top, *own = reply
        items = _ranked([(int(m), points_of(float(s))) for m, s in zip(top[::2], top[1::2], strict=True)])
        mine = None
        if own:
            score, above = own
            mine = (int(above) + 1, points_of(float(score)))
        return Board(items, mine)

    # -- writing ---------------------------------------------------------------------------

    async def record(self, entries: Iterable[LedgerEntry]) -> None:
        """Add committed ledger entries to the Redis boards, each at most once (nothing to do without Redis)."""
        if self.redis is None:
            return
        apply = self.redis.register_script(_APPLY_ENTRY)
        for entry in entries:
            targets = _targets(entry)
            keys = [WATERMARK, f"{APPLIED_PREFIX}{entry.id}", *(key for key, _ in targets)]
            await apply(keys=keys, args=[entry.id, entry.points, APPLIED_TTL_S, *(m for _, m in targets)])
            for key, _ in targets:
                if _period(key):
                    await self.redis.expire(key, PERIOD_TTL_S, nx=True)

    async def rebuild(self, now: datetime, progress: Callable[[int, int], None] | None = None) -> int:
        """Recompute every Redis board from the ledger; returns the entries counted.

        The database sums the ledger (GROUP BY, one query per board kind, every one bounded by
        the watermark taken first: the highest ledger id then). Boards are written under
        temporary names and renamed into place; meanwhile the boards are marked cold, so readers
        use SQL. Then the watermark is set and the entries committed after it are added through
        ``record``; boards with no entries left go.
        """
        assert self.redis is not None, "rankings are read from SQL when there is no Redis"
        # Cold while rebuilding: reads use SQL and record() writes nothing that the swap would lose.
        await self.redis.delete(WATERMARK)
        upto = await LedgerEntry.all().order_by("-id").first().values_list("id", flat=True) or 0
        boards, entries = await summed_boards(now, upto, progress)
        await self._replace_all(boards)
        await self.redis.set(WATERMARK, upto)
        if progress:
            progress(REBUILD_STEPS, REBUILD_STEPS)
        # Entries committed while the sums ran were skipped by record() (cold boards): add them now.
        # record() is idempotent per entry, so one also recorded by its own request counts once.
        await self.record(await LedgerEntry.filter(id__gt=upto).order_by("id"))
        return entries

    async def _replace_all(self, boards: dict[str, dict[str, int]]) -> None:
        assert self.redis is not None
        existing = {k.decode() async for k in self.redis.scan_iter(match=PREFIX + "*")}
        existing |= {k.decode() async for k in self.redis.scan_iter(match=ORG_PREFIX + "*")}
        for key, scores in boards.items():
            positive = {m: encode_score(p, int(m)) for m, p in scores.items() if p > 0}
            temp = f"{key}:rebuilding"
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(temp)
                items = list(positive.items())
                for i in range(0, len(items), 1000):
                    pipe.zadd(temp, dict(items[i : i + 1000]))
                if positive:
                    pipe.rename(temp, key)
                    if _period(key):
                        pipe.expire(key, PERIOD_TTL_S)
                else:
                    pipe.delete(key)
                await pipe.execute()
        stale = existing - set(boards)
        if stale:
            await self.redis.delete(*stale)


def _period(key: str) -> str | None:
    """``week:…``/``month:…`` for a period board, else None."""
    name = key.removeprefix(PREFIX).removeprefix(ORG_PREFIX)
    return name if name.startswith(("week:", "month:")) else None


T = TypeVar("T")


def ranked(rows: list[tuple[T, float]]) -> list[tuple[int, T]]:
    """Standard competition ranks (1, 2, 2, 4) over (item, score) rows sorted highest first."""
    out: list[tuple[int, T]] = []
    previous: float | None = None
    for i, (item, score) in enumerate(rows):
        rank = out[-1][0] if out and score == previous else i + 1
        out.append((rank, item))
        previous = score
    return out


def _ranked(rows: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(rank, user id, points) of a top list sorted by points, highest first."""
    return [(rank, uid, points) for rank, (uid, points) in ranked([((u, p), p) for u, p in rows])]


def _targets(entry: LedgerEntry) -> list[tuple[str, str]]:
    """Every (board, member) an entry counts in."""
    week, month = period_keys(entry.created_at)
    user = str(entry.user_id)
    targets = [(PREFIX + "all", user), (PREFIX + week, user), (PREFIX + month, user)]
    if entry.campaign_id is not None:
        targets.append((PREFIX + f"campaign:{entry.campaign_id}", user))
    orgs = [int(part) for part in entry.org_path.strip("/").split("/") if part]
    for org_id in orgs:
        targets.append((PREFIX + f"org:{org_id}", user))
    for period in ("all", week, month, *([f"campaign:{entry.campaign_id}"] if entry.campaign_id else [])):
        targets.extend((ORG_PREFIX + period, str(org_id)) for org_id in orgs)
    return targets


# -- the rebuild's sums ------------------------------------------------------------------------

# The rebuild's steps as its progress reports them: all time, this week, this month, campaigns
# (people, then orgs), writing the boards.
REBUILD_STEPS = 6


def _orgs_of(org_path: str) -> list[int]:
    return [int(part) for part in org_path.strip("/").split("/") if part]


def _created_between(rows: QuerySet[LedgerEntry], start: datetime, end: datetime) -> QuerySet[LedgerEntry]:
    """Entries created in [start, end), compared as moments.

    SQLite stores datetimes as text with the offset they were written with (local time from
    ``auto_now_add``, UTC from code that sets them), so text comparison would be wrong across
    offsets: there julianday() reads the offset and compares instants, to the millisecond.
    The bounds are our own datetimes, never input, so they are spelt into the SQL."""
    if LedgerEntry._meta.db.capabilities.dialect != "sqlite":
        return rows.filter(created_at__gte=start, created_at__lt=end)
    low, high = (moment.astimezone(UTC).isoformat(" ") for moment in (start, end))
    inside = f"julianday(created_at) >= julianday('{low}') AND julianday(created_at) < julianday('{high}')"
    test = f"CASE WHEN {inside} THEN 1 ELSE 0 END"
    return rows.annotate(created_inside=RawSQL(test)).filter(created_inside=1)


async def summed_boards(
    now: datetime, upto: int, progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, dict[str, int]], int]:
    """Every board ``rebuild`` writes, summed in the database over the entries with ids up to
    ``upto``, and how many entries that is.

    The same boards and sums as adding each entry to its ``_targets``, of which the week and
    month boards are the current ones only. GROUP BY where people and orgs are summed, Python
    only to spread each org path's sum over the orgs on it.
    """
    covered = LedgerEntry.filter(id__lte=upto)
    boards: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    step = 0

    def advance() -> None:
        nonlocal step
        step += 1
        if progress:
            progress(step, REBUILD_STEPS)

    def spread(period: str, rows: Iterable[tuple[str, int, Any]]) -> None:
        """Rows of (org path, person, points) into the people's board ``period``, each org's
        people board (all time only) and the orgs' board ``period``."""
        people, orgs = boards[PREFIX + period], boards[ORG_PREFIX + period]
        for org_path, user_id, total in rows:
            points, user = int(total), str(user_id)
            people[user] += points
            for org_id in _orgs_of(org_path):
                if period == "all":
                    boards[PREFIX + f"org:{org_id}"][user] += points
                orgs[str(org_id)] += points

    def by_path_and_person(rows: QuerySet[LedgerEntry]) -> Any:
        return rows.group_by("org_path", "user_id").annotate(total=Sum("points"))

    entries = 0
    everything = (
        await by_path_and_person(covered)
        .annotate(entries=Count("id"))
        .values_list("org_path", "user_id", "total", "entries")
    )
    spread("all", ((path, user, total) for path, user, total, _ in everything))
    entries = sum(int(n) for *_, n in everything)
    del everything
    advance()
    week, month = period_keys(now)
    for period, key in (("week", week), ("month", month)):
        start = period_start(period, now)
        end = start + timedelta(days=7) if period == "week" else (start + timedelta(days=32)).replace(day=1)
        rows = await by_path_and_person(_created_between(covered, start, end)).values_list(
            "org_path", "user_id", "total"
        )
        spread(key, rows)
        advance()
    in_campaigns = covered.filter(campaign_id__isnull=False)
    people = (
        await in_campaigns.group_by("campaign_id", "user_id")
        .annotate(total=Sum("points"))
        .values_list("campaign_id", "user_id", "total")
    )
    for campaign_id, user_id, total in people:
        boards[PREFIX + f"campaign:{campaign_id}"][str(user_id)] += int(total)
    del people
    advance()
    paths = (
        await in_campaigns.group_by("campaign_id", "org_path")
        .annotate(total=Sum("points"))
        .values_list("campaign_id", "org_path", "total")
    )
    for campaign_id, org_path, total in paths:
        if campaign_id:
            orgs = boards[ORG_PREFIX + f"campaign:{campaign_id}"]
            for org_id in _orgs_of(org_path):
                orgs[str(org_id)] += int(total)
    advance()
    return boards, entries


# -- the same answers from SQL -------------------------------------------------------------------


async def _scoped(scope: Scope) -> QuerySet[LedgerEntry]:
    rows = LedgerEntry.all()
    if scope.since is not None:
        rows = rows.filter(created_at__gte=scope.since)
    if scope.campaign_id is not None:
        rows = rows.filter(campaign_id=scope.campaign_id)
    if scope.org_id is not None:
        path = await Org.filter(id=scope.org_id).first().values_list("path", flat=True)
        rows = rows.filter(org_path__startswith=path or "/none/")
    return rows


async def _sql_board(scope: Scope, limit: int, me: int | None) -> Board:
    if scope.kind == "all":
        return await _sql_all_time(limit, me)
    return await _sql_ledger_board(scope, limit, me)


async def _sql_ledger_board(scope: Scope, limit: int, me: int | None) -> Board:
    """A board summed from the ledger entries in ``scope`` (any scope; ``all`` only in the benchmark)."""
    return await _summed_board(await _scoped(scope), "points", limit, me)


async def _reach_board(scope: Scope, limit: int, me: int | None) -> Board:
    """People by the latest views of their approved submissions, reviewed in the scope's period."""
    rows = Submission.filter(status="approved", views__gt=0)
    if scope.since is not None:
        # In UTC, as reviews write reviewed_at: SQLite compares the stored text with the parameter's.
        rows = rows.filter(reviewed_at__gte=scope.since.astimezone(UTC))
    return await _summed_board(rows, "views", limit, me)


async def _summed_board(rows: QuerySet[Any], column: str, limit: int, me: int | None) -> Board:
    """A board of ``column`` summed per person over ``rows``: one grouped query, two more for ``me``."""
    totals = rows.group_by("user_id").annotate(total=Sum(column))
    top = await totals.filter(total__gt=0).order_by("-total", "user_id").limit(limit).values_list("user_id", "total")
    items = _ranked([(int(u), int(t)) for u, t in top])
    mine = None
    if me is not None:
        own = await rows.filter(user_id=me).annotate(total=Sum(column)).values_list("total")
        points = int(own[0][0] or 0) if own else 0
        if points > 0:
            above = await totals.filter(total__gt=points).values_list("user_id", flat=True)
            mine = (len(above) + 1, points)
    return Board(items, mine)


async def _sql_all_time(limit: int, me: int | None) -> Board:
    """The all-time board from people's totals, which move with the ledger in one transaction:
    an index walk and one count, where summing the ledger reads every row of it."""
    top = await User.filter(points__gt=0).order_by("-points", "id").limit(limit).values_list("id", "points")
    items = _ranked([(int(u), int(p)) for u, p in top])
    mine = None
    if me is not None:
        points = await User.filter(id=me).first().values_list("points", flat=True)
        if points is not None and points > 0:
            mine = (await User.filter(points__gt=points).count() + 1, int(points))
    return Board(items, mine)


async def _sql_org_points(scope: Scope, org_ids: list[int]) -> dict[int, int]:
    base = Scope("all", "all", "all") if scope.kind == "org" else scope
    paths = dict(await Org.filter(id__in=org_ids).values_list("id", "path"))
    rows = (
        await (await _scoped(base)).group_by("org_path").annotate(total=Sum("points")).values_list("org_path", "total")
    )
    points = dict.fromkeys(org_ids, 0)
    for org_path, total in rows:
        for org_id, path in paths.items():
            if org_path.startswith(path):
                points[org_id] += int(total or 0)
    return points


# -- orgs ------------------------------------------------------------------------------------


@dataclass
class OrgStanding:
    rank: int
    org: Org
    points: int
    members: int  # registered volunteers and influencers in its subtree
    per_capita: float


async def board_parent(user: User, org_id: int | None) -> Org:
    """Whose sub-orgs are ranked: the one asked for, else the caller's county, else the first county."""
    if org_id is None:
        path = user.org.path if user.org_id and user.org else ""
        root = int(path.strip("/").split("/")[0]) if path.strip("/") else None
        parent = await (Org.get_or_none(id=root) if root else Org.filter(parent_id=None).order_by("id").first())
    else:
        parent = await Org.get_or_none(id=org_id) if is_id(org_id) else None
    if parent is None:
        raise NotFound("组织不存在")
    return parent


async def org_board(rankings: Rankings, scope: Scope, parent: Org, per_capita: bool) -> list[OrgStanding]:
    """The sub-orgs of ``parent`` by points in ``scope``, or per registered member; ties share a rank."""
    children = await Org.filter(parent_id=parent.id).order_by("id")
    points = await rankings.org_points(scope, [c.id for c in children])
    members = await members_by_org(parent, children)

    def capita(org: Org) -> float:
        return round(points[org.id] / members[org.id], 2) if members[org.id] else 0.0

    def score(org: Org) -> float:
        return capita(org) if per_capita else points[org.id]

    rows = sorted(children, key=lambda c: (-score(c), c.id))
    return [
        OrgStanding(rank=rank, org=org, points=points[org.id], members=members[org.id], per_capita=capita(org))
        for rank, org in ranked([(c, score(c)) for c in rows])
    ]
