"""Task feed query: ``GET /tasks``' page query before and after dropping its ``DISTINCT``, side by side.

Run from the repository root (either form works)::

    python -m bench.feed [--write]          # sizes 1k, 10k and 100k, about a minute on a 2-core VM
    python bench/feed.py --sizes 1k         # a quick look

Needs PostgreSQL (``--postgres``, a database to connect to for CREATE/DROP DATABASE); no Redis. For each size N
of ``--sizes`` (default 1,000, 10,000 and 100,000) one run:

1. generates the rows with ``bench.api``'s generator (same seed and token count, so the same orgs, users,
   campaigns, tasks and enrollments as ``bench.api`` at that size; only ``--ledger-per-user`` ledger rows, which
   the feed never reads, instead of 10), creates a fresh database, migrates it (``server.runtime.db.apply_migrations``)
   and fills it with ``bench.api.fill_postgres`` (COPY, ``VACUUM ANALYZE``);
2. initialises Tortoise on it (``server.runtime.db.init_db``) and takes the volunteer among the token holders with the
   most enrollments (signed in as the service loads a user: with their org);
3. for the default feed and for ``mine=1``, builds the page query two ways:

   - A, *before*: ``before_base`` / ``before_feed`` below, a copy of ``models/feed.py`` as of commit ``ab9c468``
     (``mine`` joined through ``enrollments``; ``.distinct()`` before ``order_by("-id").limit(...)``);
   - B, *after*: ``models.feed._base`` and ``models.feed.task_feed`` themselves, so the benchmark follows the code;

   checks that A and B return the same page (task ids, the caller's enrollments, the cursor), and that the SQL
   each ``task_feed`` sends is the SQL the benchmark explains (captured from Tortoise's query log);
4. times, with default settings and then with ``max_parallel_workers_per_gather = 0`` (set on the database, so
   the ORM's pooled connections get it too): ``EXPLAIN (ANALYZE, FORMAT JSON)`` of each query's SQL and
   parameters on one asyncpg connection, ``--repeats`` (7) rounds alternating A, B, A, B after one warm-up each
   (median Execution Time, and the plan's top node below ``Limit``); then ``--calls`` (21) whole feed calls
   (``before_feed`` / ``task_feed``, page query plus the caller's enrollments) alternating A, B, median wall time;
5. drops the database, also when it fails or is stopped with Ctrl-C or SIGTERM.

The Markdown section goes to stdout (progress to stderr); ``--write`` also puts it into ``bench/RESULTS.md``,
replacing an earlier run's section of the same title and leaving the others alone. The exit status is 1 if A and
B disagree anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import secrets
import signal
import statistics
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
from tortoise.connection import connections
from tortoise.expressions import Q
from tortoise.log import db_client_logger
from tortoise.queryset import QuerySet

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import Dataset, _size, _sizes, fill_postgres, generate
from bench.common import log, write_results
from bench.ingest import _command, _cpu_model
from bench.leaderboard import _interrupted, admin_sql, tree_fingerprint
from bench.uploads import code_version
from models import feed
from models.campaigns import Enrollment, Task
from models.feed import FeedPage, FeedQuery
from models.tasks import audience_filter, enrollments_of
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.pagination import decode_id_cursor, split_page
from server.runtime.db import apply_migrations, close_db, init_db

TITLE = "## Task feed query: before and after dropping DISTINCT (`GET /tasks`)"
BEFORE_COMMIT = "ab9c468"  # the last commit with the DISTINCT feed query
FIX_COMMIT = "72c8558"  # "Feed: no SELECT DISTINCT; mine=1 filters with a subquery"
QUERIES = ("feed", "mine=1")
SETTINGS = ("default", "no parallel")
SETTING_TEXT = {
    "default": "default settings",
    "no parallel": "`max_parallel_workers_per_gather = 0`",
}


# --- A: the previous code -----------------------------------------------------------------------------------------
# A copy of models/feed.py as of commit ab9c468, the parent of the fix (72c8558): `mine` joins through
# `enrollments`, and the page query ends with `.distinct()`. Only the list branch of `task_feed` is copied (the
# benchmark has no `near`).


def before_base(user: User, query: FeedQuery, scope_path: str | None) -> QuerySet[Task]:
    """The previous ``models.feed._base`` (commit ab9c468), unchanged."""
    now = now_utc()
    rows = Task.all().select_related("campaign__org")
    if user.is_staff:
        if scope_path is not None:
            rows = rows.filter(campaign__org__path__startswith=scope_path)
    else:
        rows = rows.exclude(campaign__status="draft").filter(audience_filter(user))
    if query.campaign_id:
        rows = rows.filter(campaign_id=int(query.campaign_id))
    if query.mine in ("1", "true"):
        rows = rows.filter(enrollments__user_id=user.id).exclude(enrollments__status="withdrawn")
    if query.status == "cancelled":
        rows = rows.filter(cancelled_at__isnull=False)
    elif query.status == "ended":
        rows = rows.filter(cancelled_at__isnull=True).filter(Q(ends_at__lte=now) | Q(campaign__status="closed"))
    elif query.status == "open":
        rows = rows.filter(cancelled_at__isnull=True, ends_at__gt=now).exclude(campaign__status="closed")
    return rows


async def before_feed(user: User, query: FeedQuery, scope_path: str | None) -> FeedPage:
    """The previous ``models.feed.task_feed`` (commit ab9c468), its list branch unchanged."""
    rows = before_base(user, query, scope_path)
    if query.near:
        raise NotImplementedError("only the list branch of the previous task_feed is copied")
    before = decode_id_cursor(query.cursor)
    if before:
        rows = rows.filter(id__lt=before)
    tasks, next_cursor = split_page(await rows.distinct().order_by("-id").limit(query.limit + 1), query.limit)
    mine = await enrollments_of(user, [t.id for t in tasks])
    return FeedPage(tasks, mine, next_cursor, {})


def before_rows(user: User, query: FeedQuery) -> QuerySet[Task]:
    """The page query ``before_feed`` sends for a first page (checked against what it sends)."""
    return before_base(user, query, None).distinct().order_by("-id").limit(query.limit + 1)


# --- B: the code as it is -----------------------------------------------------------------------------------------


def after_rows(user: User, query: FeedQuery) -> QuerySet[Task]:
    """The page query ``models.feed.task_feed`` sends for a first page (checked against what it sends)."""
    return feed._base(user, query, None).order_by("-id").limit(query.limit + 1)


# --- measuring ----------------------------------------------------------------------------------------------------


@dataclass
class Page:
    """A ``GET /tasks`` query as the handler passes it to ``task_feed`` (a ``FeedQuery``): the first page."""

    mine: str | None = None
    limit: int = 20
    campaign_id: str | None = None
    status: str | None = None
    near: str | None = None
    cursor: str | None = None


@dataclass
class Case:
    """One size, query and setting: A and B side by side."""

    size: int
    query: str
    setting: str
    page_ids: list[int] = field(default_factory=list)
    explain_ms: dict[str, list[float]] = field(default_factory=lambda: {"A": [], "B": []})
    plans: dict[str, dict[str, list[int]]] = field(default_factory=lambda: {"A": {}, "B": {}})  # shape -> rows
    spills: dict[str, int] = field(default_factory=lambda: {"A": 0, "B": 0})  # kB a Sort wrote to disk, max
    wall_s: dict[str, list[float]] = field(default_factory=lambda: {"A": [], "B": []})


@dataclass
class SizeInfo:
    size: int
    counts: dict[str, int]
    generate_s: float
    fill_s: float = 0.0
    db_size: str = ""
    user_id: int = 0
    user_org: str = ""
    user_enrollments: int = 0


@dataclass
class Outcome:
    started: float = field(default_factory=time.perf_counter)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    postgres: str = ""
    parallel_default: str = ""
    code_at_start: str = ""
    sizes: list[SizeInfo] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _QueryLog(logging.Handler):
    """Collects (sql, values) from Tortoise's debug line ``"%s: %s", query, values`` of every query it sends."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            self.queries.append((str(record.args[0]), list(record.args[1] or [])))


@contextlib.contextmanager
def sent_queries() -> Iterator[list[tuple[str, list[Any]]]]:
    """The queries Tortoise sends inside the block (debug logging is on only here, never while timing)."""
    handler = _QueryLog()
    level, propagate = db_client_logger.level, db_client_logger.propagate
    db_client_logger.addHandler(handler)
    db_client_logger.setLevel(logging.DEBUG)
    db_client_logger.propagate = False
    try:
        yield handler.queries
    finally:
        db_client_logger.removeHandler(handler)
        db_client_logger.setLevel(level)
        db_client_logger.propagate = propagate


def _node(plan: dict[str, Any]) -> str:
    kind = ("Parallel " if plan.get("Parallel Aware") else "") + str(plan["Node Type"])
    if plan.get("Scan Direction") == "Backward":
        kind += " Backward"
    if kind.startswith("Gather"):
        kind += f" ({plan.get('Workers Launched', 0)} of {plan.get('Workers Planned', 0)} workers)"
    return kind


def _find(plan: dict[str, Any], match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    if match(plan):
        return plan
    return next((found for child in plan.get("Plans", []) if (found := _find(child, match))), None)


def plan_shape(plan: dict[str, Any]) -> tuple[str, int]:
    """The plan's top node below ``Limit`` (every page query has one), how it reads ``tasks``, and the rows read.

    E.g. ``("Unique; tasks: Seq Scan", 9500)`` or ``("Nested Loop; tasks: Index Scan Backward", 21)``, with a
    Gather below the top node named too; rows are the ``tasks`` scan's actual rows times its loops (in a parallel
    plan, the leader's and the workers' together; they vary from run to run).
    """
    top = plan
    while top["Node Type"] == "Limit" and top.get("Plans"):
        top = top["Plans"][0]
    shape = _node(top)
    gather = _find(top, lambda n: str(n["Node Type"]).startswith("Gather"))
    if gather is not None and gather is not top:
        shape += f" over {_node(gather)}"
    scan = _find(plan, lambda n: n.get("Relation Name") == "tasks")
    if scan is None:
        return shape, 0
    return f"{shape}; tasks: {_node(scan)}", round(float(scan.get("Actual Rows", 0)) * int(scan.get("Actual Loops", 1)))


def disk_sort_kb(plan: dict[str, Any]) -> int:
    """The most any Sort of the plan (its workers included) wrote to disk, in kB."""
    worst = int(plan.get("Sort Space Used", 0)) if plan.get("Sort Space Type") == "Disk" else 0
    for worker in plan.get("Workers", []):
        if worker.get("Sort Space Type") == "Disk":
            worst = max(worst, int(worker.get("Sort Space Used", 0)))
    return max([worst, *(disk_sort_kb(child) for child in plan.get("Plans", []))])


async def explain(conn: asyncpg.Connection, sql: str, values: list[Any]) -> tuple[float, dict[str, Any]]:
    """``EXPLAIN (ANALYZE, FORMAT JSON)`` of the statement with its parameters: Execution Time (ms) and the plan."""
    doc = json.loads(await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *values))[0]
    return float(doc["Execution Time"]), doc["Plan"]


async def check_pair(case: Case, user: User, query: Page) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]] | None:
    """A and B give the same page, and each feed call sends the page query the benchmark builds: their SQL."""
    problems: list[str] = []
    a_ids = [t.id for t in await before_rows(user, query)]
    b_ids = [t.id for t in await after_rows(user, query)]
    if a_ids != b_ids:
        problems.append(f"page queries differ: before {a_ids}, after {b_ids}")
    with sent_queries() as a_sent:
        a_page = await before_feed(user, query, None)
    with sent_queries() as b_sent:
        b_page = await feed.task_feed(user, query, None)
    a_got = ([t.id for t in a_page.tasks], sorted(a_page.mine), a_page.next_cursor)
    b_got = ([t.id for t in b_page.tasks], sorted(b_page.mine), b_page.next_cursor)
    if a_got != b_got:
        problems.append(f"feed pages differ (ids, enrollments, cursor): before {a_got}, after {b_got}")
    for label, sent, rows in (("before", a_sent, before_rows(user, query)), ("after", b_sent, after_rows(user, query))):
        if not sent or sent[0][0] != rows.sql():
            first = sent[0][0] if sent else "nothing"
            problems.append(f"the {label} feed sent {first!r}, not the page query the benchmark explains")
    if not b_got[0]:
        problems.append("the page is empty: nothing to compare")
    where = f"{_size(case.size)} {case.query} ({case.setting})"
    if problems:
        for problem in problems:
            log(f"FAILURE: {where}: {problem}")
        return None
    case.page_ids = b_got[0]
    log(f"  {where}: A and B agree on a page of {len(b_got[0])} tasks ({b_got[0][0]} .. {b_got[0][-1]})")
    return a_sent[0], b_sent[0]


async def time_calls(
    case: Case, calls: int, a: Callable[[], Awaitable[FeedPage]], b: Callable[[], Awaitable[FeedPage]]
) -> None:
    for fn in (a, b, a, b):  # warm-up (asyncpg prepares and caches each statement on first use)
        await fn()
    for _ in range(calls):
        for label, fn in (("A", a), ("B", b)):
            started = time.perf_counter()
            await fn()
            case.wall_s[label].append(time.perf_counter() - started)


async def measure_setting(
    setting: str, size: int, db_url: str, user: User, args: argparse.Namespace, outcome: Outcome
) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        shown = str(await conn.fetchval("SHOW max_parallel_workers_per_gather"))
        rows = await connections.get("default").execute_query_dict("SHOW max_parallel_workers_per_gather")
        pooled = str(rows[0]["max_parallel_workers_per_gather"])
        want = "0" if setting == "no parallel" else outcome.parallel_default
        if shown != want or pooled != want:
            raise SystemExit(f"max_parallel_workers_per_gather is {shown} (EXPLAIN) / {pooled} (ORM), not {want}")
        for name in QUERIES:
            query = Page(mine="1" if name == "mine=1" else None, limit=args.limit)
            case = Case(size, name, setting)
            outcome.cases.append(case)
            sent = await check_pair(case, user, query)
            if sent is None:
                outcome.failures.append(f"{_size(size)} {name} ({setting}): A and B disagree (see stderr)")
                continue
            statements = dict(zip(("A", "B"), sent, strict=True))
            for label in ("A", "B"):  # warm-up
                await explain(conn, *statements[label])
            for _ in range(args.repeats):
                for label in ("A", "B"):
                    ms, plan = await explain(conn, *statements[label])
                    case.explain_ms[label].append(ms)
                    shape, rows = plan_shape(plan)
                    case.plans[label].setdefault(shape, []).append(rows)
                    case.spills[label] = max(case.spills[label], disk_sort_kb(plan))
            await time_calls(
                case,
                args.calls,
                lambda q=query: before_feed(user, q, None),
                lambda q=query: feed.task_feed(user, q, None),
            )
            log(
                f"  {_size(size)} {name} ({setting}): EXPLAIN before {_f(_median(case.explain_ms['A']))} ms, "
                f"after {_f(_median(case.explain_ms['B']))} ms; feed call before {_f(_median(case.wall_s['A']) * 1e3)}"
                f" ms, after {_f(_median(case.wall_s['B']) * 1e3)} ms"
            )
    finally:
        await conn.close()


def _pick_user(data: Dataset) -> tuple[int, int]:
    """The token holder (a real volunteer the API benchmark signs in as) with the most enrollments."""
    enrollments = next(t for t in data.tables if t.name == "enrollments")
    per_user = Counter(row[9] for row in enrollments.rows if row[1] != "withdrawn")
    uid = max(data.token_users, key=lambda u: (per_user[u], -u))
    return uid, per_user[uid]


async def measure_size(size: int, args: argparse.Namespace, outcome: Outcome) -> None:
    log(f"== {size:,} users and tasks: generating rows ...")
    data = generate(size, args, datetime.now(UTC))
    info = SizeInfo(size, data.counts, data.generate_s)
    outcome.sizes.append(info)
    log(f"  {data.generate_s:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in data.counts.items()))
    db = f"wenming_bench_feed_{secrets.token_hex(4)}"
    db_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(args.postgres)._replace(path=f"/{db}"))
    await admin_sql(args.postgres, f'CREATE DATABASE "{db}"')
    try:
        await init_db(db_url)
        try:
            await apply_migrations()
            info.fill_s, info.db_size = await fill_postgres(db_url, data)
            log(f"  PostgreSQL {db}: COPY + VACUUM ANALYZE {info.fill_s:.1f} s, {info.db_size}")
            info.user_id, info.user_enrollments = _pick_user(data)
            user = await User.get(id=info.user_id).select_related("org")
            if user.is_staff:
                raise SystemExit(f"user {user.id} is staff ({user.role}), not a volunteer")
            info.user_org = user.org.path if user.org else ""
            held = await Enrollment.filter(user_id=user.id).exclude(status="withdrawn").count()
            if held != info.user_enrollments:
                raise SystemExit(f"user {user.id}: {held} enrollments in the database, {info.user_enrollments} made")
            await measure_setting("default", size, db_url, user, args, outcome)
        finally:
            await close_db()
        # Set on the database so every new session has it: the ORM's pool as well as the EXPLAIN connection.
        await admin_sql(args.postgres, f'ALTER DATABASE "{db}" SET max_parallel_workers_per_gather = 0')
        await init_db(db_url)
        try:
            user = await User.get(id=info.user_id).select_related("org")
            await measure_setting("no parallel", size, db_url, user, args, outcome)
        finally:
            await close_db()
    finally:
        await admin_sql(args.postgres, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        log(f"  dropped {db}")


async def measure(args: argparse.Namespace) -> Outcome:
    outcome = Outcome(load=os.getloadavg(), code_at_start=tree_fingerprint())
    conn = await asyncpg.connect(args.postgres)
    try:
        outcome.postgres = str(await conn.fetchval("SHOW server_version")).split(" ")[0]
        outcome.parallel_default = str(await conn.fetchval("SHOW max_parallel_workers_per_gather"))
    finally:
        await conn.close()
    for size in args.sizes:
        await measure_size(size, args, outcome)
    outcome.seconds = time.perf_counter() - outcome.started
    return outcome


# --- reporting ----------------------------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _f(ms: float) -> str:
    """Milliseconds with about three significant figures."""
    if ms != ms:  # nan: not measured
        return "–"
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def _ratio(before: float, after: float) -> str:
    if before != before or after != after or after <= 0:
        return "–"
    r = before / after
    return f"{r:,.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def _plan(case: Case, label: str) -> str:
    plans = case.plans[label]
    if not plans:
        return "–"
    total = sum(len(rows) for rows in plans.values())
    shown = []
    for shape, rows in sorted(plans.items(), key=lambda item: -len(item[1])):
        read = f"{min(rows):,}" if min(rows) == max(rows) else f"{min(rows):,}–{max(rows):,}"
        shown.append(f"{shape}, {read} rows" + (f" ({len(rows)} of {total} runs)" if len(plans) > 1 else ""))
    text = " / ".join(shown)
    if case.spills[label]:
        text += f"; Sort spilled {case.spills[label] / 1024:.0f} MB to disk"
    return text


def _libraries() -> str:
    found = []
    for name in ("tortoise-orm", "asyncpg", "pypika-tortoise"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def render(o: Outcome, args: argparse.Namespace) -> str:
    load = o.load[0]
    shared = (
        f"; **the machine was shared**: load average {load:.2f} at the start (other work on this VM), so absolute "
        "figures are noisy and the side-by-side ratios are the point"
        if load > 1
        else f"; load average {load:.2f} at the start"
    )
    changed = tree_fingerprint() != o.code_at_start
    lines = [
        TITLE,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d} (UTC); the run took {o.seconds / 60:.1f} min{shared}",
        f"- Machine: `{platform.machine()}`, {_cpu_model()}; {os.cpu_count()} logical cores; Python "
        f"{sys.version.split()[0]} ({_libraries()}); PostgreSQL {o.postgres}, local, default settings "
        f"(`max_parallel_workers_per_gather` = {o.parallel_default})",
        f"- Code: {code_version()}"
        + ("; **the service's code changed while the benchmark ran** (other work in the same tree)" if changed else ""),
        f"- Command: {_command()}",
        f"- Before (A): `models/feed.py` as of commit `{BEFORE_COMMIT}` (the parent of the fix, `{FIX_COMMIT}`), "
        "copied into `bench/feed.py` "
        "(`before_base`, `before_feed`): `mine=1` joins `enrollments` (`filter(enrollments__user_id=...)"
        '.exclude(enrollments__status="withdrawn")`) and the page is `rows.distinct().order_by("-id")'
        ".limit(limit + 1)`. After (B): `models.feed` itself (`_base`, `task_feed`): no `.distinct()`, `mine=1` "
        'as `id__in=Subquery(Enrollment...values("task_id"))`.',
        f"- Data: `bench.api`'s generator and filler (seed {args.seed}, {args.tokens} tokens, so the same orgs, "
        f"users, campaigns, tasks and enrollments as `bench.api` at each size; {args.ledger_per_user} ledger row(s) "
        "per person, which the feed does not read), in a fresh database per size (COPY, `VACUUM ANALYZE`), "
        "dropped afterwards. All N tasks are open; 15% have an audience.",
        "- Caller: the volunteer among the token holders with the most enrollments, loaded with their org as "
        f"the service does; the first page of `limit={args.limit}` with no filter (*feed*) and with `mine=1`.",
        "- Check: A and B return the same page (task ids, the caller's enrollments, cursor), and the SQL each feed "
        "call sends (captured from Tortoise's query log) is the SQL explained: "
        + (f"**failed in {len(o.failures)} case(s)**, listed below." if o.failures else "passed in every case."),
        f"- Method: per size and setting, on one asyncpg connection, `EXPLAIN (ANALYZE, FORMAT JSON)` of the exact "
        f"SQL and parameters (`.sql()` of the page query), one warm-up each, then {args.repeats} rounds "
        "alternating A, B; the table gives the median *Execution Time* and the plan's top node below `Limit`, "
        "the node that reads `tasks` and the rows it returned (actual rows x loops; a range if runs differ). "
        f"*Feed call*: the median wall time of {args.calls} whole calls (`before_feed` / `models.feed.task_feed`: "
        "the page query, building the Task, Campaign and Org models, and the caller's enrollments) through "
        "Tortoise's pool, alternating A, B after two warm-ups each. *No parallel* sets "
        "`max_parallel_workers_per_gather = 0` on the database (new sessions, the pool's included).",
        "- Reading it: `EXPLAIN ANALYZE` times every plan node, an overhead that grows with the rows a plan "
        "passes, so it inflates plans that de-duplicate every visible task more than page-sized ones; the feed-call "
        "table is the cost as the service sees it (and includes the ORM's work, the same for A and B).",
        "",
        "| N | users | tasks | enrollments | caller (user id, org, enrollments) | DB size | COPY + VACUUM |",
        "|---:|---:|---:|---:|---|---:|---:|",
    ]
    for s in o.sizes:
        lines.append(
            f"| {_size(s.size)} | {s.counts['users']:,} | {s.counts['tasks']:,} | {s.counts['enrollments']:,} | "
            f"{s.user_id}, `{s.user_org}`, {s.user_enrollments} | {s.db_size} | {s.fill_s:.1f} s |"
        )
    for setting in SETTINGS:
        lines += [
            "",
            f"`EXPLAIN ANALYZE` execution time, {SETTING_TEXT[setting]} (median of {args.repeats}):",
            "",
            "| size | query | before ms | after ms | ratio | plan before | plan after |",
            "|---:|---|---:|---:|---:|---|---|",
        ]
        for c in (c for c in o.cases if c.setting == setting):
            before, after = _median(c.explain_ms["A"]), _median(c.explain_ms["B"])
            lines.append(
                f"| {_size(c.size)} | {c.query} | {_f(before)} | {_f(after)} | {_ratio(before, after)} | "
                f"{_plan(c, 'A')} | {_plan(c, 'B')} |"
            )
    lines += [
        "",
        f"Whole feed call in Python (median wall ms of {args.calls}):",
        "",
        "| size | query | setting | before ms | after ms | ratio | page |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for c in o.cases:
        before, after = _median(c.wall_s["A"]) * 1e3, _median(c.wall_s["B"]) * 1e3
        lines.append(
            f"| {_size(c.size)} | {c.query} | {c.setting} | {_f(before)} | {_f(after)} | {_ratio(before, after)} | "
            f"{len(c.page_ids)} tasks |"
        )
    if o.failures:
        lines += ["", f"**FAILURES ({len(o.failures)}):**", "", *(f"- {f}" for f in o.failures)]
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=[1000, 10_000, 100_000], help="N (default 1k,10k,100k)")
    parser.add_argument("--repeats", type=int, default=7, help="EXPLAIN ANALYZE rounds of A, B (default 7)")
    parser.add_argument("--calls", type=int, default=21, help="timed feed calls of A, B (default 21)")
    parser.add_argument("--limit", type=int, default=20, help="page size, as `?limit=` (default 20)")
    parser.add_argument("--tokens", type=int, default=200, help="token holders, as bench.api (default 200)")
    parser.add_argument("--ledger-per-user", type=int, default=1, help="ledger rows per person (default 1)")
    parser.add_argument("--seed", type=int, default=20261129, help="random seed of the data, as bench.api")
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a database to connect to for CREATE/DROP DATABASE (default postgres://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument("--write", action="store_true", help="put the section into bench/RESULTS.md")
    args = parser.parse_args(argv)
    if not args.sizes or args.repeats < 1 or args.calls < 1 or not 1 <= args.limit <= 100 or args.tokens < 1:
        parser.error("--sizes must not be empty; --repeats, --calls, --tokens >= 1; --limit 1..100")
    if args.ledger_per_user < 1:
        parser.error("--ledger-per-user must be >= 1")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)

    outcome = asyncio.run(measure(args))
    section = render(outcome, args)
    print(section)
    if args.write:
        write_results(section, TITLE)
        log("written to bench/RESULTS.md")
    if outcome.failures:
        log("FAILURES:\n" + "\n".join(f"  {f}" for f in outcome.failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
