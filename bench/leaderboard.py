"""Leaderboard benchmark: ``GET /api/v1/leaderboard`` on a county-sized ledger, against a bare Sanic endpoint.

Run from the repository root (either form works)::

    python -m bench.leaderboard [--users 100000] [--entries 1000000] [--write]
    python bench/leaderboard.py [--users 100000] [--entries 1000000] [--write]

Needs PostgreSQL (``--postgres``, a database to connect to for CREATE/DROP DATABASE), Redis (``--redis``, a
numbered database other than 0: it is flushed before and after) and ``wrk``. One run:

1. creates a fresh PostgreSQL database ``wenming_bench_<random>``, runs ``wenming migrate`` on it and fills it
   with COPY (asyncpg ``copy_records_to_table``): a county of ``--townships`` townships with ``--villages``
   villages each (materialised paths as ``models.orgs.create_org`` builds them), ``--users`` volunteers in
   random villages, ``--entries`` ledger rows over the last 120 days (5% of them reversals of earlier
   awards, each award with its own submission id, org and path of the person's village), users' point and
   hour totals matching the ledger; then ``VACUUM ANALYZE``. The fill is timed;
2. runs ``wenming ranking rebuild`` as a child process and times it, then checks the Redis boards against
   SQL (``all`` and ``week``: size and top 20);
3. inserts ``--tokens`` bearer tokens for random people (the sha256 of each, as ``models.users.issue_token``
   stores them), so every request is a different caller asking for their own rank;
4. for each ``--workers`` count starts ``wenming serve --workers N`` (with Redis) and ``python -m bench.bare
   --workers N`` (one JSON endpoint answering wenming's own ``scope=all`` answer, re-serialised per request),
   checks one answer of each, and then runs ``wrk`` with a Lua script that rotates the ``Authorization``
   header over the tokens, alternating targets: bare, ``?limit=50``, ``?scope=week&limit=50``, bare, ...
   (``--rounds`` rounds of ``--duration`` seconds each, after a ``--warmup`` run of every target; before each
   timed run it waits up to ``--settle`` seconds for the shared machine to drop below ``--quiet`` cores busy);
5. unless ``--no-sql``: the same endpoint served without Redis (rankings computed in SQL on every request),
   one worker, a few timed single requests and a short low-concurrency ``wrk`` run;
6. stops everything, drops the database and flushes the Redis database.

The Markdown section goes to stdout (progress to stderr); ``--write`` also puts it into ``bench/RESULTS.md``,
replacing an earlier run's section of the same title.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import redis

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import API, REPO_ROOT, RESULTS_PATH, WENMING, _git, free_port, log, write_results
from bench.ingest import _command, _count, _cpu_model
from bench.uploads import code_version, thread_cpu
from models.rankings import PREFIX, parse_scope, period_keys, points_of
from models.users import hash_token

BARE = [sys.executable, "-m", "bench.bare"]
DAYS = 120  # ledger entries are spread over this many days before now
REVERSAL_SHARE = 0.05
CAMPAIGNS = 50
AWARD_POINTS = (5, 10, 10, 10, 15, 20, 20, 30, 50)
AWARD_HOURS = tuple(Decimal(h) for h in ("0.50", "1.00", "1.00", "2.00", "3.00", "4.00"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红梅文斌海燕云飞鹏辉丹晨宇欣怡子涵浩然"
TOKEN_TTL_S = 7 * 86400
ACTIVITY_CAP = 100.0  # the most active person earns at most this many times as often as the least


# --- filling the database -------------------------------------------------------------------------------------------


@dataclass
class Fill:
    orgs: int = 0
    users: int = 0
    awards: int = 0
    reversals: int = 0
    tokens: list[str] = field(default_factory=list)
    token_users: list[int] = field(default_factory=list)
    totals: dict[int, int] = field(default_factory=dict)  # user id -> points over all time
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds
    db_size: str = ""
    ledger_size: str = ""

    @property
    def seconds(self) -> float:
        return sum(self.steps.values())


def _nickname(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


async def fill(dsn: str, args: argparse.Namespace, now: datetime) -> Fill:
    """Orgs, people, the ledger and bearer tokens, by COPY; consistent by construction, checked after."""
    rng = random.Random(args.seed)
    out = Fill()
    conn = await asyncpg.connect(dsn)
    try:
        # Foreign keys hold by construction (checked below); skipping their per-row triggers halves the COPY.
        await conn.execute("SET session_replication_role = replica")

        started = time.perf_counter()
        # The tree as models.orgs.create_org builds it: path = parent's path + own id + "/".
        made = now - timedelta(days=400)
        orgs: list[tuple[int, str, str, str, datetime, int | None]] = [(1, "示范县", "county", "/1/", made, None)]
        villages: list[tuple[int, str]] = []  # (id, path)
        next_id = 2
        for t in range(args.townships):
            town_id, town_path = next_id, f"/1/{next_id}/"
            orgs.append((town_id, f"第{t + 1:02d}镇", "township", town_path, made, 1))
            next_id += 1
            for v in range(args.villages):
                path = f"{town_path}{next_id}/"
                orgs.append((next_id, f"第{t + 1:02d}镇第{v + 1:02d}村", "village", path, made, town_id))
                villages.append((next_id, path))
                next_id += 1
        out.orgs = len(orgs)

        # People: a random village each, activity heavy-tailed (a few very active, many occasional).
        user_org = [0] * (args.users + 1)
        weights = [0.0] * (args.users + 1)
        user_rows: list[list[Any]] = []
        for uid in range(1, args.users + 1):
            org_id, _ = villages[rng.randrange(len(villages))]
            user_org[uid] = org_id
            weights[uid] = min(rng.paretovariate(2.0), ACTIVITY_CAP)
            joined = now - timedelta(seconds=rng.uniform(DAYS * 86400, 3 * DAYS * 86400))
            visible = rng.random() >= 0.05
            user_rows.append([uid, f"o-bench-{uid:07d}", "volunteer", _nickname(rng), 0, 0, visible, joined, org_id])
        path_of = dict(villages)

        # The ledger: awards with distinct submission ids, then reversals of some of them a little later.
        reversals = round(args.entries * REVERSAL_SHARE)
        awards = args.entries - reversals
        titles = [f"网络文明志愿活动第{c:02d}期" for c in range(1, CAMPAIGNS + 1)]
        award_reason = [f"任务通过：{t}" for t in titles]
        reversal_reason = [f"撤销通过：{t}" for t in titles]
        cum: list[float] = []
        acc = 0.0
        for w in weights[1:]:
            acc += w
            cum.append(acc)
        who = rng.choices(range(1, args.users + 1), cum_weights=cum, k=awards)
        span = DAYS * 86400
        rows: list[tuple[Any, ...]] = []
        hundredths = [0] * (args.users + 1)
        points_of = [0] * (args.users + 1)
        for i, uid in enumerate(who):
            campaign = rng.randrange(CAMPAIGNS)
            org_id = user_org[uid]
            points, hours = rng.choice(AWARD_POINTS), rng.choice(AWARD_HOURS)
            at = now - timedelta(seconds=rng.random() * span)
            rows.append(
                (uid, "award", points, hours, award_reason[campaign], i + 1, campaign + 1, org_id, path_of[org_id], at)
            )
            points_of[uid] += points
            hundredths[uid] += int(hours * 100)
        for i in rng.sample(range(awards), reversals):
            uid, _, points, hours, _, submission, campaign, org_id, path, at = rows[i]
            later = min(now - timedelta(seconds=1), at + timedelta(hours=rng.uniform(1, 72)))
            rows.append(
                (
                    uid,
                    "reversal",
                    -points,
                    -hours,
                    reversal_reason[campaign - 1],
                    submission,
                    campaign,
                    org_id,
                    path,
                    later,
                )
            )
            points_of[uid] -= points
            hundredths[uid] -= int(hours * 100)
        rows.sort(key=lambda r: r[9])  # ids in the order entries were made, as in a live ledger
        ledger = [(n, *row) for n, row in enumerate(rows, start=1)]
        for row in user_rows:
            row[4], row[5] = points_of[row[0]], Decimal(hundredths[row[0]]) / 100
        out.users, out.awards, out.reversals = args.users, awards, reversals
        out.totals = {uid: points_of[uid] for uid in range(1, args.users + 1) if points_of[uid]}
        out.steps["generate rows (Python)"] = time.perf_counter() - started

        started = time.perf_counter()
        await conn.copy_records_to_table(
            "orgs",
            records=[(*org, "", "", "") for org in orgs],  # no certificate signers named
            columns=[
                "id",
                "name",
                "kind",
                "path",
                "created_at",
                "parent_id",
                "cert_leader",
                "cert_handler",
                "cert_contact",
            ],
        )
        await conn.copy_records_to_table(
            "users",
            records=[(*r, 0) for r in user_rows],  # no honour hours
            columns=[
                "id",
                "openid",
                "role",
                "nickname",
                "points",
                "service_hours",
                "leaderboard_visible",
                "created_at",
                "org_id",
                "honour_hours",
            ],
        )
        out.steps["COPY orgs + users"] = time.perf_counter() - started

        started = time.perf_counter()
        await conn.copy_records_to_table(
            "ledger_entries",
            records=[(*row, "credit") for row in ledger],
            columns=[
                "id",
                "user_id",
                "kind",
                "points",
                "service_hours",
                "reason",
                "submission_id",
                "campaign_id",
                "org_id",
                "org_path",
                "created_at",
                "hours_kind",
            ],
        )
        out.steps["COPY ledger_entries"] = time.perf_counter() - started

        # Bearer tokens for random people: the raw token for wrk, its sha256 in the table (as issue_token does).
        started = time.perf_counter()
        out.token_users = rng.sample(range(1, args.users + 1), min(args.tokens, args.users))
        out.tokens = [secrets.token_urlsafe(32) for _ in out.token_users]
        expires = now + timedelta(seconds=TOKEN_TTL_S)
        await conn.copy_records_to_table(
            "auth_tokens",
            records=[(hash_token(t), uid, now, expires) for t, uid in zip(out.tokens, out.token_users, strict=True)],
            columns=["token_hash", "user_id", "created_at", "expires_at"],
        )
        for table in ("orgs", "users", "ledger_entries", "auth_tokens"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        out.steps["COPY auth_tokens, sequences"] = time.perf_counter() - started

        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        out.steps["VACUUM ANALYZE"] = time.perf_counter() - started

        orphans = await conn.fetchval(
            """SELECT (SELECT count(*) FROM ledger_entries l LEFT JOIN users u ON u.id = l.user_id WHERE u.id IS NULL)
                    + (SELECT count(*) FROM users u LEFT JOIN orgs o ON o.id = u.org_id WHERE o.id IS NULL)
                    + (SELECT count(*) FROM orgs c LEFT JOIN orgs p ON p.id = c.parent_id
                       WHERE c.parent_id IS NOT NULL AND p.id IS NULL)"""
        )
        if orphans:
            raise SystemExit(f"the fill broke {orphans} foreign keys")
        out.db_size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        out.ledger_size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('ledger_entries'))")
    finally:
        await conn.close()
    return out


async def sql_top(dsn: str, since: datetime | None, limit: int) -> tuple[int, list[tuple[int, int]]]:
    """People with points > 0 in the scope, and the top ``limit`` (user id, points), straight from the ledger."""
    conn = await asyncpg.connect(dsn)
    try:
        where = "WHERE created_at >= $1" if since else ""
        params = [since] if since else []
        query = (
            f"SELECT user_id, sum(points) AS total FROM ledger_entries {where} GROUP BY user_id HAVING sum(points) > 0"
        )
        count = await conn.fetchval(f"SELECT count(*) FROM ({query}) t", *params)
        top = await conn.fetch(f"{query} ORDER BY total DESC, user_id LIMIT {limit}", *params)
        return count, [(r["user_id"], r["total"]) for r in top]
    finally:
        await conn.close()


async def admin_sql(admin_dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


# --- processes and CPU --------------------------------------------------------------------------------------------


@dataclass
class Measured:
    returncode: int
    wall: float
    cpu: float  # user + system seconds of the child and what it waited for
    max_rss_mb: float
    output: str


def run_measured(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 3600) -> Measured:
    """Run ``cmd`` to the end; wall time, CPU and peak RSS from ``wait4``."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is gone
        out.seek(0)
        text = out.read().decode(errors="replace")
    return Measured(proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text)


def cpu_by_name(names: tuple[str, ...]) -> dict[str, float]:
    """CPU seconds (user + system) of all processes whose name is one of ``names`` (PostgreSQL, Redis)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seen = dict.fromkeys(names, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        if comm in seen:
            rest = raw[raw.rindex(")") + 2 :].split()
            seen[comm] += (int(rest[11]) + int(rest[12])) / ticks
    return seen


def machine_busy() -> float:
    """CPU seconds all cores of the machine spent busy (not idle, not waiting for I/O), from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]  # user .. steal
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks) - idle - iowait) / os.sysconf("SC_CLK_TCK")


class Server:
    """A service in its own session (process group); its log goes to a file."""

    def __init__(self, label: str, cmd: list[str], env: dict[str, str], port: int, log_path: Path) -> None:
        self.label, self.cmd, self.env, self.port, self.log_path = label, cmd, env, port, log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as sink:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        for _ in range(600):
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.label} exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if get(f"{self.base_url}/healthz")[0] == 200:
                    return
            time.sleep(0.1)
        raise SystemExit(f"{self.label} did not answer /healthz within 60 s:\n{self.log_tail()}")

    def cpu(self) -> float:
        return sum(thread_cpu(self.proc.pid)[0].values()) if self.proc else 0.0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def errors(self) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if re.search(r"\b(ERROR|Traceback)\b", line)]


def get(url: str, token: str | None = None, timeout: float = 120) -> tuple[int, bytes, float]:
    """(status, body, seconds) of one GET."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read(), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), time.perf_counter() - started


# --- wrk ----------------------------------------------------------------------------------------------------------

LUA = """-- Rotates the Authorization header over the bench's tokens; prints a JSON summary at the end.
tokens = {%(tokens)s}
local count = 0

function setup(thread)
  thread:set("offset", count * 997)
  count = count + 1
end

function init(args)
  n = offset or 0
end

function request()
  n = n %% #tokens + 1
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[n]})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "p50": %%.0f, "p90": %%.0f, "p99": %%.0f, "max": %%.0f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass
class WrkRun:
    target: str
    requests: int
    seconds: float
    rps: float
    p50: float  # seconds
    p90: float
    p99: float
    max: float
    non_2xx: int
    socket_errors: int  # connect + read + write + timeout
    body_bytes: float  # per response, headers included
    cpu: dict[str, float]  # cores busy: service, postgres, redis, wrk, other
    busy_at_start: float = 0.0  # cores the machine was busy with other work just before (see settle)


def wrk_command(
    url: str, script: Path, *, threads: int, connections: int, duration: float, timeout: str = "10s"
) -> list[str]:
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        f"--timeout={timeout}",
        "--latency",
        "-s",
        str(script),
        url,
    ]


def settle(limit: float, max_wait: float) -> float:
    """Wait (up to ``max_wait`` s) until the machine is quiet: under ``limit`` cores busy over one second.

    Between runs nothing of ours is working, so what is busy is other work on the shared machine. Returns the
    cores busy in the last second looked at.
    """
    deadline = time.perf_counter() + max_wait
    while True:
        before = machine_busy()
        time.sleep(1)
        busy = machine_busy() - before
        if busy < limit or time.perf_counter() >= deadline:
            return busy


def run_wrk(target: str, cmd: list[str], server: Server) -> WrkRun:
    busy_before, service_before = machine_busy(), server.cpu()
    db_before = cpu_by_name(("postgres", "redis-server"))
    done = run_measured(cmd, timeout=3600)
    wall = done.wall
    db_after, service_after = cpu_by_name(("postgres", "redis-server")), server.cpu()
    busy_after = machine_busy()
    if done.returncode:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.output}")
    match = re.search(r"^WRKJSON (.+)$", done.output, re.M)
    if not match:
        raise SystemExit(f"no summary from wrk:\n{done.output}")
    s = json.loads(match.group(1))
    text_non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.output)
    non_2xx = int(text_non_2xx.group(1)) if text_non_2xx else 0
    if non_2xx != s["status"]:
        log(f"  note: wrk printed {non_2xx} non-2xx answers but its summary counts {s['status']}")
    seconds = s["duration_us"] / 1e6
    cpu = {
        "service": (service_after - service_before) / wall,
        "postgres": (db_after["postgres"] - db_before["postgres"]) / wall,
        "redis": (db_after["redis-server"] - db_before["redis-server"]) / wall,
        "wrk": done.cpu / wall,
    }
    # Whatever else ran on the machine meanwhile (other people's tests, this script, the kernel).
    cpu["other"] = max(0.0, (busy_after - busy_before) / wall - sum(cpu.values()))
    return WrkRun(
        target=target,
        requests=s["requests"],
        seconds=seconds,
        rps=s["requests"] / seconds,
        p50=s["p50"] / 1e6,
        p90=s["p90"] / 1e6,
        p99=s["p99"] / 1e6,
        max=s["max"] / 1e6,
        non_2xx=max(non_2xx, s["status"]),
        socket_errors=s["connect"] + s["read"] + s["write"] + s["timeout"],
        body_bytes=s["bytes"] / s["requests"] if s["requests"] else 0.0,
        cpu=cpu,
    )


# --- checks of single answers -------------------------------------------------------------------------------------


def check_board(server: Server, query: str, token: str, limit: int) -> tuple[dict[str, Any], int]:
    """One answer: 200, the contract's shape, ``limit`` ranked items; returns (document, body bytes)."""
    status, body, _ = get(f"{server.base_url}{API}/leaderboard?{query}", token)
    if status != 200:
        raise SystemExit(f"{server.label} {query}: {status} {body[:500]!r}")
    doc = json.loads(body)
    items = doc.get("items")
    if not isinstance(items, list) or not items or set(doc) != {"scope", "items", "me"}:
        raise SystemExit(f"{server.label} {query}: not a board: {body[:500]!r}")
    if (
        len(items) != limit
        or items[0]["rank"] != 1
        or any(a["points"] < b["points"] for a, b in itertools.pairwise(items))
    ):
        raise SystemExit(f"{server.label} {query}: {len(items)} items, not {limit} ranked ones: {body[:500]!r}")
    return doc, len(body)


def board_rows(doc: dict[str, Any]) -> list[tuple[int, str | None, int]]:
    return [(i["rank"], i["user"]["id"], i["points"]) for i in doc["items"]]


# --- the run ------------------------------------------------------------------------------------------------------


@dataclass
class Rebuild:
    measured: Measured
    reported: str
    keys: int
    memory: str
    all_members: int
    week_members: int
    all_sql: int
    week_sql: int
    top_match: bool


@dataclass
class WorkerResult:
    workers: int
    runs: list[WrkRun]
    sample_all: dict[str, Any]
    sample_week: dict[str, Any]
    bytes_all: int
    bytes_week: int
    bytes_bare: int
    me_check: str
    errors: list[str]


@dataclass
class SqlResult:
    single: dict[str, list[float]]  # query -> seconds of sequential single requests
    runs: list[WrkRun]
    agrees: dict[str, bool]  # query -> same items as the Redis path
    errors: list[str]


@dataclass
class Outcome:
    fill: Fill | None = None
    migrate_s: float = 0.0
    rebuild: Rebuild | None = None
    workers: list[WorkerResult] = field(default_factory=list)
    sql: SqlResult | None = None
    wrk_lines: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    redis_samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    callers: dict[str, int] = field(default_factory=dict)
    code_at_start: str = ""  # tree_fingerprint() when the run began


SERVICE_CODE = ("server", "models", "handlers", "media", "pyproject.toml")


def tree_fingerprint() -> str:
    """A hash of the service's code as it is on disk (committed or not): did it change while we measured?"""
    digest = hashlib.sha256()
    names = _git("ls-files", "--cached", "--others", "--exclude-standard", "--", *SERVICE_CODE).splitlines()
    for name in sorted(names):
        with contextlib.suppress(OSError):
            digest.update(name.encode() + b"\0" + (REPO_ROOT / name).read_bytes())
    return digest.hexdigest()


def migrate(env: dict[str, str], *, again: bool = True) -> float:
    """``wenming migrate``; again before each server starts, in case the tree gained a migration meanwhile."""
    done = run_measured([*WENMING, "migrate"], env=env)
    if done.returncode:
        raise SystemExit(f"`wenming migrate` failed:\n{done.output}")
    if again and "up to date" not in done.output:
        log(f"  note: `wenming migrate` applied new migrations mid-run: {done.output.strip()}")
    return done.wall


def service_env(db_url: str, redis_url: str | None, media_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    env.update(WENMING_ENV="test", WENMING_DATABASE_URL=db_url, WENMING_MEDIA_ROOT=str(media_root))
    if redis_url:
        env["WENMING_REDIS_URL"] = redis_url
    return env


def versions(admin_dsn: str, r: redis.Redis) -> dict[str, str]:
    pg = asyncio.run(_pg_version(admin_dsn))
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    return {"postgres": pg, "redis": str(r.info("server")["redis_version"]), "wrk": wrk}


async def _pg_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version")).split(" ")[0]
    finally:
        await conn.close()


def do_rebuild(env: dict[str, str], r: redis.Redis, dsn: str, now: datetime) -> Rebuild:
    log("running `wenming ranking rebuild` ...")
    done = run_measured([*WENMING, "ranking", "rebuild"], env=env)
    if done.returncode:
        raise SystemExit(f"`wenming ranking rebuild` failed ({done.returncode}):\n{done.output}")
    line = next((ln for ln in done.output.splitlines() if ln.startswith("rebuilt")), "")
    log(f"  {line} (wall {done.wall:.1f} s, peak RSS {done.max_rss_mb:.0f} MB)")
    week_key, _ = period_keys(now)
    week_since = parse_scope("week", now).since
    all_count, all_top = asyncio.run(sql_top(dsn, None, 20))
    week_count, week_top = asyncio.run(sql_top(dsn, week_since, 20))

    def redis_top(key: str) -> list[tuple[int, int]]:
        # The score carries the tie-break (points, then user id), so the board's own order is the answer's.
        return [(int(m), points_of(s)) for m, s in r.zrevrange(key, 0, 19, withscores=True)]

    match = redis_top(PREFIX + "all") == all_top and redis_top(PREFIX + week_key) == week_top
    rebuild = Rebuild(
        measured=done,
        reported=line,
        keys=int(r.dbsize()),
        memory=str(r.info("memory")["used_memory_human"]),
        all_members=int(r.zcard(PREFIX + "all")),
        week_members=int(r.zcard(PREFIX + week_key)),
        all_sql=all_count,
        week_sql=week_count,
        top_match=match,
    )
    if not match or rebuild.all_members != all_count or rebuild.week_members != week_count:
        raise SystemExit(f"Redis boards disagree with the ledger: {rebuild}")
    return rebuild


def measure_workers(
    workers: int,
    args: argparse.Namespace,
    tmp: Path,
    env: dict[str, str],
    fill_: Fill,
    script: Path,
    outcome: Outcome,
) -> WorkerResult:
    wport, bport = free_port(), free_port()
    wenming = Server(
        f"wenming serve --workers {workers}",
        [*WENMING, "serve", "--port", str(wport), "--workers", str(workers)],
        env,
        wport,
        tmp / f"wenming-{workers}.log",
    )
    bare = Server(
        f"bench.bare --workers {workers}",
        [*BARE, "--port", str(bport), "--workers", str(workers)],
        {**os.environ, "BENCH_BARE_BODY": str(tmp / "body.json")},
        bport,
        tmp / f"bare-{workers}.log",
    )
    try:
        log(f"[{workers} worker(s)] starting {wenming.label} ...")
        migrate(env)
        wenming.start()
        token, uid = fill_.tokens[0], fill_.token_users[0]
        q_all, q_week = f"limit={args.limit}", f"scope=week&limit={args.limit}"
        with redis.Redis.from_url(args.redis) as r:
            commands = int(r.info("stats")["total_commands_processed"])
            sample_all, bytes_all = check_board(wenming, q_all, token, args.limit)
            asked = int(r.info("stats")["total_commands_processed"]) - commands - 1  # less our own INFO
        if asked < 1:
            raise SystemExit(f"{wenming.label} answered without asking Redis (from SQL?):\n{wenming.log_tail()}")
        sample_week, bytes_week = check_board(wenming, q_week, token, args.limit)
        log(f"  scope=all  items[0] = {json.dumps(sample_all['items'][0], ensure_ascii=False)}")
        log(f"  scope=all  me = {sample_all['me']} ({bytes_all:,} bytes)")
        log(f"  scope=week items[0] = {json.dumps(sample_week['items'][0], ensure_ascii=False)}")
        log(f"  scope=week me = {sample_week['me']} ({bytes_week:,} bytes)")
        expected = fill_.totals.get(uid, 0)
        got = (sample_all["me"] or {}).get("points", 0)
        if got != expected:
            raise SystemExit(f"`me` of user {uid}: {got} points, the ledger says {expected}")
        me_check = f"user {uid}: `me` = {sample_all['me']}, the ledger's sum is {expected}"
        outcome.redis_samples = {q_all: sample_all, q_week: sample_week}
        (tmp / "body.json").write_bytes(json.dumps(sample_all, ensure_ascii=False).encode())
        log(f"[{workers} worker(s)] starting {bare.label} ...")
        bare.start()
        status, body, _ = get(f"{bare.base_url}/board")
        if status != 200 or json.loads(body) != sample_all:
            raise SystemExit(f"the bare app answered {status} {body[:300]!r}")

        targets = {
            "bare": (bare, f"{bare.base_url}/board"),
            "all": (wenming, f"{wenming.base_url}{API}/leaderboard?{q_all}"),
            "week": (wenming, f"{wenming.base_url}{API}/leaderboard?{q_week}"),
        }
        common = {"threads": args.threads, "connections": args.connections}
        for name, (_, url) in targets.items():
            outcome.wrk_lines[name] = shlex.join(wrk_command(url, script, duration=args.duration, **common))
        if args.warmup > 0:
            for name, (server, url) in targets.items():
                log(f"  warm-up {name} ({args.warmup:g} s)")
                run_wrk(name, wrk_command(url, script, duration=args.warmup, **common), server)
        runs: list[WrkRun] = []
        for rnd in range(args.rounds):
            for name, (server, url) in targets.items():
                busy = settle(args.quiet, args.settle) if args.settle > 0 else 0.0
                if busy >= args.quiet:
                    log(f"  note: the machine was still {busy:.2f} cores busy after waiting {args.settle:g} s")
                run = run_wrk(name, wrk_command(url, script, duration=args.duration, **common), server)
                run.busy_at_start = busy
                runs.append(run)
                log(
                    f"  round {rnd + 1} {name:>4}: {run.rps:8,.0f} req/s  p50 {_ms(run.p50)}  p99 {_ms(run.p99)}  "
                    f"non-2xx {run.non_2xx}  socket errors {run.socket_errors}  "
                    + " ".join(f"{k} {v:.2f}" for k, v in run.cpu.items())
                )
        return WorkerResult(
            workers,
            runs,
            sample_all,
            sample_week,
            bytes_all,
            bytes_week,
            len(body),
            me_check,
            wenming.errors() + bare.errors(),
        )
    finally:
        wenming.stop()
        bare.stop()


def measure_sql(
    args: argparse.Namespace, tmp: Path, env: dict[str, str], fill_: Fill, script: Path, outcome: Outcome
) -> SqlResult:
    port = free_port()
    server = Server(
        "wenming serve --workers 1 (no Redis)",
        [*WENMING, "serve", "--port", str(port), "--workers", "1"],
        env,
        port,
        tmp / "wenming-sql.log",
    )
    try:
        log(f"[SQL path] starting {server.label} ...")
        migrate(env)
        server.start()
        single: dict[str, list[float]] = {}
        agrees: dict[str, bool] = {}
        for query, redis_doc in outcome.redis_samples.items():
            doc, _ = check_board(server, query, fill_.tokens[0], args.limit)  # also warms the caches
            agrees[query] = board_rows(doc) == board_rows(redis_doc) and doc["me"] == redis_doc["me"]
            times = []
            for token in fill_.tokens[1 : 1 + args.sql_singles]:
                status, body, seconds = get(f"{server.base_url}{API}/leaderboard?{query}", token)
                if status != 200:
                    raise SystemExit(f"SQL path {query}: {status} {body[:300]!r}")
                times.append(seconds)
            single[query] = times
            log(f"  {query}: single requests {', '.join(_ms(t) for t in times)}; same as Redis: {agrees[query]}")
        runs = []
        for query in outcome.redis_samples:
            url = f"{server.base_url}{API}/leaderboard?{query}"
            cmd = wrk_command(
                url,
                script,
                threads=1,
                connections=args.sql_connections,
                duration=args.sql_duration,
                timeout="120s",
            )
            outcome.wrk_lines[f"sql {query}"] = shlex.join(cmd)
            run = run_wrk(f"sql {query}", cmd, server)
            runs.append(run)
            log(f"  wrk {query}: {run.rps:,.2f} req/s p50 {_ms(run.p50)} p99 {_ms(run.p99)} non-2xx {run.non_2xx}")
        return SqlResult(single, runs, agrees, server.kernel.errors())
    finally:
        server.stop()


def measure(args: argparse.Namespace, tmp: Path) -> Outcome:
    outcome = Outcome(code_at_start=tree_fingerprint())
    r = redis.Redis.from_url(args.redis)
    admin = args.postgres
    db = f"wenming_bench_{secrets.token_hex(4)}"
    db_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(admin)._replace(path=f"/{db}"))
    outcome.versions = versions(admin, r)
    r.flushdb()
    asyncio.run(admin_sql(admin, f'CREATE DATABASE "{db}"'))
    log(f"created database {db}")
    media = tmp / "media"
    media.mkdir()
    try:
        env_redis = service_env(db_url, args.redis, media)
        outcome.migrate_s = migrate(env_redis, again=False)
        now = datetime.now(UTC)
        log(f"filling: {args.users:,} users, {args.entries:,} ledger rows ...")
        fill_ = asyncio.run(fill(db_url, args, now))
        outcome.fill = fill_
        for step, seconds in fill_.steps.items():
            log(f"  {step}: {seconds:.1f} s")
        log(f"  total {fill_.seconds:.1f} s; database {fill_.db_size}, ledger_entries with indexes {fill_.ledger_size}")

        outcome.rebuild = do_rebuild(env_redis, r, db_url, now)
        week_key, _ = period_keys(datetime.now(UTC))
        with r.pipeline() as pipe:
            for key in ("all", week_key):
                pipe.zmscore(PREFIX + key, [str(u) for u in fill_.token_users])
            all_scores, week_scores = pipe.execute()
        outcome.callers = {
            "all": sum(1 for s in all_scores if s is not None and points_of(s) > 0),
            "week": sum(1 for s in week_scores if s is not None and points_of(s) > 0),
        }

        script = tmp / "rotate.lua"
        script.write_text(LUA % {"tokens": ", ".join(f'"{t}"' for t in fill_.tokens)}, encoding="utf-8")
        for workers in args.workers:
            outcome.workers.append(measure_workers(workers, args, tmp, env_redis, fill_, script, outcome))
        if not args.no_sql:
            outcome.sql = measure_sql(args, tmp, service_env(db_url, None, media), fill_, script, outcome)
    finally:
        if args.keep_db:
            log(f"kept the database: WENMING_DATABASE_URL={db_url} (Redis boards kept in {args.redis})")
        else:
            asyncio.run(admin_sql(admin, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            r.flushdb()
            log(f"dropped database {db}, flushed {args.redis}")
        r.close()
    return outcome


# --- reporting ----------------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:.1f} s"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _of(runs: list[WrkRun], target: str) -> list[WrkRun]:
    return [r for r in runs if r.target == target]


def _rps(runs: list[WrkRun]) -> str:
    rates = [r.rps for r in runs]
    spread = f" ({min(rates):,.0f}–{max(rates):,.0f})" if len(rates) > 1 else ""
    return f"{_median(rates):,.0f}{spread}"


def _libraries() -> str:
    """The versions of what a leaderboard request runs through (hiredis: redis-py's C reply parser, if present)."""
    names = ("sanic", "sanic-ext", "uvloop", "tortoise-orm", "asyncpg", "redis", "hiredis", "pydantic", "orjson")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"no {name}")
    return ", ".join(found)


def _machine(v: dict[str, str]) -> str:
    cores = os.cpu_count()
    return (
        f"{_cpu_model()}; {cores} logical cores; Python {sys.version.split()[0]} ({_libraries()}); "
        f"PostgreSQL {v['postgres']}, Redis {v['redis']} (both local, default settings); {v['wrk']}; "
        f"{os.uname().sysname} {os.uname().release}"
    )


TARGET_TEXT = {
    "bare": "bare Sanic `GET /board`",
    "all": "wenming `GET /leaderboard?limit=50`",
    "week": "wenming `GET /leaderboard?scope=week&limit=50`",
}


def render(o: Outcome, args: argparse.Namespace, title: str) -> str:
    assert o.fill is not None and o.rebuild is not None
    f, rb = o.fill, o.rebuild
    lines = [
        title,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d} (UTC)",
        f"- Machine: {_machine(o.versions)}",
        f"- Code: {code_version()}"
        + (
            ""
            if tree_fingerprint() == o.code_at_start
            else "; **the service's code (`server/`, `models/`, `handlers/`, `media/`, `pyproject.toml`) changed "
            "while the benchmark ran** (other work in the same tree), so the figures may mix versions"
        ),
        f"- Command: {_command()}",
        f"- Data: a county of {args.townships} townships x {args.villages} villages ({f.orgs} orgs, materialised "
        f"paths `/1/<township>/<village>/`); {f.users:,} volunteers in random villages (95% visible on the board); "
        f"{f.awards + f.reversals:,} ledger rows over the last {DAYS} days: {f.awards:,} awards (5–50 points, "
        f"{CAMPAIGNS} campaigns, one submission id each; who earns is Pareto-distributed, shape 2, capped at "
        f"100x the least active) and "
        f"{f.reversals:,} reversals of random awards 1–72 h later; ids in time order; users' totals match the "
        f"ledger. {o.rebuild.all_members:,} people have points overall, {o.rebuild.week_members:,} this week "
        f"(the week began on Monday, Asia/Shanghai). Database {f.db_size} after the fill, `ledger_entries` with its "
        f"indexes {f.ledger_size}.",
        f"- Service: `wenming serve --workers N` as a child process (`WENMING_ENV=test`, "
        f"`WENMING_DATABASE_URL` = the fresh PostgreSQL database, `WENMING_REDIS_URL` = Redis db "
        f"{urllib.parse.urlsplit(args.redis).path.strip('/')}), beside `python -m bench.bare --workers N`: the "
        f"same Sanic worker manager (`app.prepare(..., access_log=False, motd=False)`; no auto-reload, not single "
        f"process) with one route that re-serialises wenming's own `scope=all` answer (parsed once) with orjson "
        f"on every request — no middleware, database, Redis, auth or sanic-ext.",
        f"- Callers: {len(f.tokens):,} bearer tokens inserted for random people (sha256 stored, as `issue_token` "
        f"does); wrk's Lua script rotates `Authorization` over them, so each request is a different caller asking "
        f"for their own rank ({o.callers.get('all', 0):,} of them have points overall, "
        f"{o.callers.get('week', 0):,} this week; the others get `me: null`).",
        f"- Method: for each worker count, one warm-up run of {args.warmup:g} s per target, then {args.rounds} "
        f"rounds of bare, `scope=all`, `scope=week` in turn, {args.duration:g} s each, the same wrk settings for "
        f"all three (`wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency -s rotate.lua "
        f"URL`); before each timed run it waits (up to {args.settle:g} s) for the machine to be under "
        f"{args.quiet:g} cores busy, since other work shares this VM. Requests/s is the median of the rounds (range "
        f"in brackets); p50/p99 are wrk's, median over the "
        f"rounds. Before timing, one answer of each scope is checked (200, the contract's keys, {args.limit} "
        f"items ranked from 1, `me.points` equal to the ledger's sum for that caller) and the Redis boards "
        f"are compared with SQL over the ledger (size and top 20 of `all` and `week`: equal).",
        f"- Caveat: the machine's {_count(os.cpu_count() or 0, 'core')} are shared by wrk, the servers, "
        "PostgreSQL and Redis; CPU columns are CPU seconds / wall seconds from `/proc` (1.00 = one core busy; "
        "*everything else* is the machine's busy time from `/proc/stat` less the named columns: other work on "
        "the machine during the run, which this shared VM has). "
        "With 2 workers the service and wrk compete for the same 2 cores, so absolute figures are a floor; the "
        "ratios are the point.",
        "",
        "Commands (ports and paths vary per run):",
        "",
        "```sh",
        *(f"{line}" for line in o.wrk_lines.values()),
        "```",
        "",
        "| fill step | time |",
        "|---|---:|",
        f"| `wenming migrate` (empty database) | {_s(o.migrate_s)} |",
        *(f"| {step} | {_s(seconds)} |" for step, seconds in f.steps.items()),
        f"| **fill total** (after migrate) | **{_s(f.seconds)}** |",
        "",
        "| `wenming ranking rebuild` | |",
        "|---|---:|",
        f"| wall time (child process, from start to exit) | **{_s(rb.measured.wall)}** |",
        f"| as it reports | {rb.reported.removeprefix('rebuilt rankings from ')} |",
        f"| CPU of the process | {_s(rb.measured.cpu)} |",
        f"| peak RSS | {rb.measured.max_rss_mb:,.0f} MB |",
        f"| Redis afterwards | {rb.keys:,} keys, {rb.memory} used; `all` board {rb.all_members:,} members, "
        f"this week's {rb.week_members:,} |",
        "",
        "| workers | target | answer bytes | requests/s | p50 | p99 | non-2xx | socket errors | vs bare (req/s) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in o.workers:
        bare_rps = _median([r.rps for r in _of(w.runs, "bare")])
        for target in ("bare", "all", "week"):
            runs = _of(w.runs, target)
            size = {"bare": w.bytes_bare, "all": w.bytes_all, "week": w.bytes_week}[target]
            ratio = "1" if target == "bare" else f"**{_median([r.rps for r in runs]) / bare_rps:.1%}**"
            lines.append(
                f"| {w.workers} | {TARGET_TEXT[target]} | {size:,} | {_rps(runs)} | "
                f"{_ms(_median([r.p50 for r in runs]))} | {_ms(_median([r.p99 for r in runs]))} | "
                f"{sum(r.non_2xx for r in runs)} | {sum(r.socket_errors for r in runs)} | {ratio} |"
            )
    lines += [
        "",
        "| workers | target | CPU: service | PostgreSQL | Redis | wrk | everything else |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for w in o.workers:
        for target in ("bare", "all", "week"):
            runs = _of(w.runs, target)
            cells = " | ".join(
                f"{_median([r.cpu[k] for r in runs]):.2f}" for k in ("service", "postgres", "redis", "wrk", "other")
            )
            lines.append(f"| {w.workers} | {TARGET_TEXT[target]} | {cells} |")
    timed = [r for w in o.workers for r in w.runs]
    unsettled = [r for r in timed if r.busy_at_start >= args.quiet]
    if args.settle > 0:
        lines += [
            "",
            f"{len(unsettled)} of {len(timed)} timed runs started while other work kept the machine at least "
            f"{args.quiet:g} cores busy after the {args.settle:g} s wait"
            + (f" (up to {max(r.busy_at_start for r in unsettled):.2f} cores)." if unsettled else "."),
        ]
    lines += ["", "Ratio wenming / bare (median requests/s):", ""]
    for w in o.workers:
        bare_rps = _median([r.rps for r in _of(w.runs, "bare")])
        parts = [f"`{t}` {_median([r.rps for r in _of(w.runs, t)]) / bare_rps:.1%}" for t in ("all", "week")]
        lines.append(f"- {_count(w.workers, 'worker')}: " + ", ".join(parts))
    if o.sql is not None:
        sql = o.sql
        lines += [
            "",
            f"Without Redis (SQL path: every request groups the ledger), 1 worker. {args.sql_singles} single "
            "requests one after another (each a different caller), then "
            f"`wrk -t1 -c{args.sql_connections} -d{args.sql_duration:g}s --timeout=120s`:",
            "",
            "| scope | single requests | wrk requests/s | p50 | p99 | non-2xx | same answer as Redis |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for run, (query, times) in zip(sql.runs, sql.single.items(), strict=True):
            lines.append(
                f"| `{query}` | {', '.join(_ms(t) for t in times)} | {run.rps:,.2f} ({run.requests} in "
                f"{run.seconds:.0f} s) | {_ms(run.p50)} | {_ms(run.p99)} | {run.non_2xx} | "
                f"{'yes' if sql.agrees[query] else '**no**'} |"
            )
    errors = [e for w in o.workers for e in w.errors] + (o.sql.errors if o.sql else [])
    non_2xx = sum(r.non_2xx + r.socket_errors for w in o.workers for r in w.runs)
    if o.sql:
        non_2xx += sum(r.non_2xx + r.socket_errors for r in o.sql.runs)
    if errors or non_2xx:
        lines += ["", f"**FAILURES: {non_2xx} non-2xx answers or socket errors; {len(errors)} error lines in logs.**"]
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------------------------------------


def _workers(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of worker counts >= 1")
    return values


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="volunteers (default 100000)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger rows (default 1000000)")
    parser.add_argument("--townships", type=int, default=20, help="townships in the county (default 20)")
    parser.add_argument("--villages", type=int, default=20, help="villages per township (default 20)")
    parser.add_argument("--tokens", type=int, default=1000, help="callers wrk rotates over (default 1000)")
    parser.add_argument("--limit", type=int, default=50, help="?limit= of every request (default 50)")
    parser.add_argument("--workers", type=_workers, default=[1, 2], help="worker counts (default 1,2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--duration", type=float, default=15, help="seconds per timed wrk run (default 15)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per target (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of bare/all/week (default 3)")
    parser.add_argument(
        "--settle", type=float, default=60, help="before each timed run wait up to S s for a quiet machine (default 60)"
    )
    parser.add_argument(
        "--quiet", type=float, default=0.25, help="a quiet machine: below this many cores busy (default 0.25)"
    )
    parser.add_argument("--no-sql", action="store_true", help="skip the run without Redis")
    parser.add_argument("--sql-duration", type=float, default=10, help="seconds of wrk on the SQL path (default 10)")
    parser.add_argument("--sql-connections", type=int, default=4, help="wrk connections on the SQL path (default 4)")
    parser.add_argument("--sql-singles", type=int, default=3, help="single timed requests per scope (default 3)")
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432/test",
        help="a database to connect to for CREATE/DROP DATABASE (default postgres://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/7", help="Redis database to use and flush (default db 7)"
    )
    parser.add_argument("--seed", type=int, default=20261128, help="random seed of the data (default 20261128)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database and Redis boards (debugging)")
    parser.add_argument("--write", action="store_true", help=f"put the section into {RESULTS_PATH.name}")
    args = parser.parse_args(argv)
    if args.users < 1 or args.entries < 1 or args.tokens < 1 or args.rounds < 1 or args.duration <= 0:
        parser.error("--users, --entries, --tokens, --rounds must be >= 1 and --duration > 0")
    if not 1 <= args.limit <= 100:
        parser.error("--limit must be within 1..100 (the API's range)")
    db_index = urllib.parse.urlsplit(args.redis).path.strip("/")
    if not db_index.isdigit() or db_index == "0":
        parser.error("--redis must name a Redis database other than 0 (it is flushed), e.g. redis://host:6379/7")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install -y wrk)")
    title = f"## Leaderboard ({args.users:,} users, {args.entries:,} ledger rows)"
    # Stopped from outside (even as a background job, where SIGINT starts ignored): clean up all the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)

    tmp = Path(tempfile.mkdtemp(prefix="wenming-bench-leaderboard-"))
    try:
        outcome = measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    section = render(outcome, args, title)
    print(section)
    if args.write:
        write_results(section, title)
        log(f"written to {RESULTS_PATH.relative_to(REPO_ROOT)}")
    if "**FAILURES" in section:
        sys.exit(1)


if __name__ == "__main__":
    main()
