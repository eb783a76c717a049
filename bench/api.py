"""API benchmark: ``GET /tasks``, ``GET /leaderboard`` and ``POST /media`` with wrk, beside a bare Sanic endpoint.

Run from the repository root (either form works)::

    python -m bench.api [--write]              # the full matrix, about 20 minutes on a 2-core VM
    python bench/api.py --quick                # a smoke run of a minute or two

Needs PostgreSQL (``--postgres``, a database to connect to for CREATE/DROP DATABASE), Redis (``--redis``, a
numbered database other than 0: it is flushed before and after) and ``wrk``. For each size N of ``--sizes``
(default 1,000, 10,000 and 100,000) one run:

1. generates, once for both databases, a county of 20 townships x 20 villages, N volunteers in random villages,
   N/20 published campaigns of random orgs of the tree with 20 tasks each (N tasks, all open now; 40% with a
   location, 15% with an audience), N/2 enrollments, about ``--ledger-per-user`` ledger rows per person (5%
   reversals; users' totals match the ledger) and ``--tokens`` bearer tokens for random volunteers;
2. PostgreSQL + Redis: creates a fresh database, runs ``wenming migrate``, fills it with COPY (asyncpg
   ``copy_records_to_table``), ``VACUUM ANALYZE``, runs ``wenming ranking rebuild`` into the Redis database; then
   for each ``--workers`` count measures one configuration (below); drops the database and flushes Redis;
3. SQLite (sizes in ``--sqlite-sizes``): a fresh file, ``wenming migrate``, the same rows with ``executemany`` in
   one transaction, ``ANALYZE``; measures one configuration with 1 worker (the service refuses more without
   Redis, and the SQLite path has no Redis), then deletes the file.

One configuration starts ``wenming serve --workers W`` and ``python -m bench.bare --workers W`` (one JSON route
answering the service's own ``/tasks`` answer), checks one answer of each target (``/tasks?limit=20``: 200 and
20 open tasks; ``/leaderboard?limit=50``: 200 and 50 ranked people; ``POST /media``: 201 and the photo's upright
size, less the partial MCU the lossless turn may trim), warms every target up, waits once for the shared
machine to be quiet (``--settle``), and then runs wrk
(``-t2 -c16 -d8s`` by default) alternating bare and the service: bare, tasks, bare, leaderboard, bare, media.
GETs rotate ``Authorization`` over the tokens with a Lua script; uploads build a multipart body from a 3-MP JPEG
(2000x1500, the synthetic phone photo of ``bench.ingest`` at that size) and count 201 answers in Lua. After each
run it waits for the service to go idle (a slow target may still be working through queued requests), and after
uploads it empties the media root.

The Markdown section goes to stdout (progress to stderr); ``--write`` also puts it into ``bench/RESULTS.md``,
replacing an earlier run's section of the same title and leaving the others alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shlex
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import redis

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import API, REPO_ROOT, RESULTS_PATH, WENMING, free_port, log, write_results
from bench.ingest import _command, _count, make_photo
from bench.leaderboard import (
    AWARD_HOURS,
    AWARD_POINTS,
    LUA,
    REVERSAL_SHARE,
    Server,
    WrkRun,
    _interrupted,
    _machine,
    _median,
    _ms,
    _nickname,
    admin_sql,
    get,
    run_measured,
    run_wrk,
    settle,
    tree_fingerprint,
    versions,
    wrk_command,
)
from bench.uploads import code_version
from models.users import hash_token

TITLE = "## API throughput and latency (tasks, leaderboard, uploads)"
QUICK_TITLE = "## API throughput and latency (tasks, leaderboard, uploads; quick smoke run)"

BARE = [sys.executable, "-m", "bench.bare"]
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")  # where Tortoise (use_tz, timezone) puts datetimes in SQLite
PHOTO_SIZE = (2000, 1500)  # 3 MP as the sensor writes it; EXIF orientation 6 makes it 1500x2000 upright
PHOTO_NAME = "IMG_20240518_102107.jpg"
TASKS_PER_CAMPAIGN = 20
DAYS = 120
TOKEN_TTL_S = 7 * 86400
TOWNSHIPS, VILLAGES = 20, 20
CENTRE = (30.60, 114.30)  # somewhere in a county; tasks with a location lie within about 30 km
KINDS = {
    "village_visit": "网络大V进乡村",
    "hometown_showcase": "美丽家乡巡礼",
    "law_outreach": "网络普法",
    "positive_content": "正能量内容创作",
    "clue_report": "不良信息线索征集",
}
TASK_WORDS = ("拍摄村容村貌", "走访农户", "记录乡村振兴", "普法宣讲", "直播家乡特产", "清理网络谣言", "志愿服务")
TARGETS = ("bare", "tasks", "leaderboard", "media")
ORDER = ("bare", "tasks", "bare", "leaderboard", "bare", "media")  # one round of timed runs
TARGET_TEXT = {
    "bare": "bare Sanic `GET /board`",
    "tasks": "`GET /tasks?limit=20`",
    "leaderboard": "`GET /leaderboard?limit=50`",
    "media": "`POST /media` (3 MP JPEG)",
}
PG, SQLITE = "PostgreSQL + Redis", "SQLite"
ROW_TARGETS = ("tasks", "leaderboard")  # runs whose PostgreSQL rows read are counted (``--rows``)
STATS_LAG = 11.0  # seconds: PostgreSQL backends report table statistics after 10 s idle (PGSTAT_IDLE_INTERVAL)


# --- the data -----------------------------------------------------------------------------------------------------


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def __post_init__(self) -> None:
        """Every NOT NULL column the rows leave out gets its model's default (the ORM's, not the database's)."""
        model = next(m for m in _model_classes() if m._meta.db_table == self.name)
        extra = {}
        for name, column in model._meta.fields_db_projection.items():
            spec = model._meta.fields_map[name]
            if column in self.columns or spec.null or spec.pk or spec.default is None or callable(spec.default):
                continue
            extra[column] = spec.default
        if extra:
            self.columns = [*self.columns, *extra]
            self.rows = [(*row, *extra.values()) for row in self.rows]


def _model_classes() -> list[Any]:
    """Our model classes (their table names and field defaults are readable without the ORM running)."""
    import importlib

    from models import MODEL_MODULES

    found = []
    for module in MODEL_MODULES:
        for value in vars(importlib.import_module(module)).values():
            if isinstance(value, type) and hasattr(value, "_meta") and getattr(value._meta, "db_table", None):
                found.append(value)
    return found


@dataclass
class Dataset:
    size: int
    tables: list[Table]
    tokens: list[str]
    token_users: list[int]
    totals: dict[int, int]  # user id -> points over all time
    counts: dict[str, int]
    generate_s: float = 0.0


def generate(size: int, args: argparse.Namespace, now: datetime) -> Dataset:
    """Everything the three targets read, for ``size`` people and ``size`` tasks; consistent by construction."""
    started = time.perf_counter()
    rng = random.Random(args.seed + size)
    made = now - timedelta(days=400)

    # The county tree as models.orgs.create_org builds it: path = parent's path + own id + "/".
    orgs: list[tuple[Any, ...]] = [(1, "示范县", "county", "/1/", made, None)]
    townships: list[tuple[int, str]] = []
    villages: list[tuple[int, str, str]] = []  # (id, path, name)
    next_id = 2
    for t in range(TOWNSHIPS):
        town_id, town_path = next_id, f"/1/{next_id}/"
        orgs.append((town_id, f"第{t + 1:02d}镇", "township", town_path, made, 1))
        townships.append((town_id, town_path))
        next_id += 1
        for v in range(VILLAGES):
            name = f"第{t + 1:02d}镇第{v + 1:02d}村"
            orgs.append((next_id, name, "village", f"{town_path}{next_id}/", made, town_id))
            villages.append((next_id, f"{town_path}{next_id}/", name))
            next_id += 1
    path_of = {o[0]: o[3] for o in orgs}

    # People: a random village each, activity heavy-tailed (a few very active, many occasional).
    user_org = [0] * (size + 1)
    weights: list[float] = []
    users: list[list[Any]] = []
    for uid in range(1, size + 1):
        org_id = villages[rng.randrange(len(villages))][0]
        user_org[uid] = org_id
        weights.append(min(rng.paretovariate(2.0), 100.0))
        joined = now - timedelta(seconds=rng.uniform(DAYS * 86400, 3 * DAYS * 86400))
        visible = rng.random() >= 0.05
        users.append([uid, f"o-bench-{uid:07d}", "volunteer", _nickname(rng), 0, Decimal(0), visible, joined, org_id])

    # Campaigns of random orgs (10% the county, 30% a township, 60% a village), published, running now.
    n_campaigns = max(1, round(size / TASKS_PER_CAMPAIGN))
    campaigns: list[tuple[Any, ...]] = []
    campaign_title: list[str] = [""]
    for cid in range(1, n_campaigns + 1):
        pick = rng.random()
        org_id = 1 if pick < 0.1 else rng.choice(townships)[0] if pick < 0.4 else rng.choice(villages)[0]
        kind = rng.choice(list(KINDS))
        title = f"{KINDS[kind]}第{cid:04d}期"
        starts = now - timedelta(days=rng.uniform(1, 30))
        ends = now + timedelta(days=rng.uniform(30, 120))
        created = starts - timedelta(days=rng.uniform(1, 5))
        campaigns.append(
            (cid, title, kind, f"{title}：组织志愿者参与网络文明建设。", starts, ends, "published", created, created,
             created + timedelta(hours=1), org_id)
        )  # fmt: skip
        campaign_title.append(title)

    # Tasks: 20 per campaign (ids in creation order), all open now; some with a location, some for an audience.
    tasks: list[list[Any]] = []
    for tid in range(1, size + 1):
        cid = min(n_campaigns, (tid - 1) // TASKS_PER_CAMPAIGN + 1)
        _, ctitle, _, _, cstarts, cends, _, ccreated, _, _, corg = campaigns[cid - 1]
        starts = cstarts + timedelta(hours=rng.uniform(0, 12))
        ends = min(cends, now + timedelta(days=rng.uniform(3, 60)))
        located = rng.random() < 0.4
        lat = CENTRE[0] + rng.uniform(-0.3, 0.3) if located else None
        lng = CENTRE[1] + rng.uniform(-0.3, 0.3) if located else None
        pick = rng.random()
        roles = ",volunteer,influencer," if pick < 0.10 else None
        org_paths, org_ids = (f"|{path_of[corg]}|", str(corg)) if 0.10 <= pick < 0.15 else (None, None)
        created = ccreated + timedelta(minutes=tid % TASKS_PER_CAMPAIGN)
        tasks.append(
            [tid, f"{ctitle}·{rng.choice(TASK_WORDS)}{tid % TASKS_PER_CAMPAIGN + 1:02d}",
             "按要求完成任务并上传照片，审核通过后获得积分和志愿服务时长。", starts, ends,
             rng.choice((None, None, 10, 20, 50, 100, 200)), 0, rng.choice(AWARD_POINTS), rng.choice(AWARD_HOURS),
             1, 9, f"{villages[tid % len(villages)][2]}村委会" if located else None, lat, lng,
             rng.choice((200, 500, 1000)) if located else None, bool(located and rng.random() < 0.5),
             roles, org_paths, org_ids, None, created, created, cid]
        )  # fmt: skip

    # Enrollments: every token holder in 3 of the newest 60 tasks (so the feed shows some), then random ones.
    tokens_for = rng.sample(range(1, size + 1), min(args.tokens, size))
    enrolled: set[tuple[int, int]] = set()
    enrollments: list[tuple[Any, ...]] = []

    def enroll(tid: int, uid: int) -> None:
        task = tasks[tid - 1]
        if (tid, uid) in enrolled or (task[5] is not None and task[6] >= task[5]):
            return
        enrolled.add((tid, uid))
        task[6] += 1
        at = max(task[3], now - timedelta(days=rng.uniform(0, 3)))
        enrollments.append((len(enrollments) + 1, "enrolled", at, None, None, None, None, None, tid, uid))

    for uid in tokens_for:
        for tid in rng.sample(range(max(1, size - 59), size + 1), min(3, size)):
            enroll(tid, uid)
    for _ in range(size // 2):
        enroll(rng.randrange(1, size + 1), rng.randrange(1, size + 1))

    # The ledger: awards with distinct submission ids, then reversals of some a little later.
    entries = args.ledger_per_user * size
    reversals = round(entries * REVERSAL_SHARE)
    awards = entries - reversals
    who = rng.choices(range(1, size + 1), weights=weights, k=awards)
    span = DAYS * 86400
    rows: list[tuple[Any, ...]] = []
    points_of = [0] * (size + 1)
    hundredths = [0] * (size + 1)
    for i, uid in enumerate(who):
        cid = rng.randrange(1, n_campaigns + 1)
        points, hours = rng.choice(AWARD_POINTS), rng.choice(AWARD_HOURS)
        at = now - timedelta(seconds=rng.random() * span)
        org_id = user_org[uid]
        rows.append(("award", points, hours, f"任务通过：{campaign_title[cid]}", i + 1, cid, org_id, path_of[org_id],
                     at, uid))  # fmt: skip
        points_of[uid] += points
        hundredths[uid] += int(hours * 100)
    for i in rng.sample(range(awards), reversals):
        _, points, hours, _, submission, cid, org_id, path, at, uid = rows[i]
        later = min(now - timedelta(seconds=1), at + timedelta(hours=rng.uniform(1, 72)))
        rows.append(("reversal", -points, -hours, f"撤销通过：{campaign_title[cid]}", submission, cid, org_id, path,
                     later, uid))  # fmt: skip
        points_of[uid] -= points
        hundredths[uid] -= int(hours * 100)
    rows.sort(key=lambda r: r[8])  # ids in the order entries were made, as in a live ledger
    ledger = [(n, *row) for n, row in enumerate(rows, start=1)]
    for row in users:
        row[4], row[5] = points_of[row[0]], Decimal(hundredths[row[0]]) / 100

    tokens = [secrets.token_urlsafe(32) for _ in tokens_for]
    expires = now + timedelta(seconds=TOKEN_TTL_S)
    auth = [(n, hash_token(t), now, expires, uid) for n, (t, uid) in enumerate(zip(tokens, tokens_for, strict=True), 1)]
    tables = [
        Table("orgs", "id name kind path created_at parent_id".split(), orgs),
        Table(
            "users",
            "id openid role nickname points service_hours leaderboard_visible created_at org_id".split(),
            [tuple(u) for u in users],
        ),
        Table(
            "campaigns",
            "id title kind description starts_at ends_at status created_at updated_at published_at org_id".split(),
            campaigns,
        ),
        Table(
            "tasks",
            "id title description starts_at ends_at quota enrolled_count points service_hours min_photos max_photos "
            "location_name lat lng radius_m checkin_required audience_roles audience_org_paths audience_org_ids "
            "cancelled_at created_at updated_at campaign_id".split(),
            [tuple(t) for t in tasks],
        ),
        Table(
            "enrollments",
            "id status enrolled_at checked_in_at checkin_method checkin_lat checkin_lng checkin_distance_m task_id "
            "user_id".split(),
            enrollments,
        ),
        Table(
            "ledger_entries",
            "id kind points service_hours reason submission_id campaign_id org_id org_path created_at user_id".split(),
            ledger,
        ),
        Table("auth_tokens", "id token_hash created_at expires_at user_id".split(), auth),
    ]
    counts = {t.name: len(t.rows) for t in tables}
    counts["tasks with a location"] = sum(1 for t in tasks if t[12] is not None)
    counts["tasks with an audience"] = sum(1 for t in tasks if t[16] or t[17])
    totals = {uid: points_of[uid] for uid in range(1, size + 1) if points_of[uid]}
    return Dataset(size, tables, tokens, tokens_for, totals, counts, time.perf_counter() - started)


async def fill_postgres(dsn: str, data: Dataset) -> tuple[float, str]:
    """COPY every table (foreign-key triggers off: they hold by construction), sequences, VACUUM ANALYZE."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        for table in data.tables:
            await conn.copy_records_to_table(table.name, records=table.rows, columns=table.columns)
            if table.rows:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
                )
        await conn.execute("VACUUM ANALYZE")
        size = str(await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))"))
    finally:
        await conn.close()
    return time.perf_counter() - started, size


def _sqlite_value(value: Any) -> Any:
    """What Tortoise itself would store in SQLite: local-time ISO datetimes, decimals as text, booleans as 0/1."""
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_ZONE).isoformat(" ")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def fill_sqlite(path: Path, data: Dataset) -> float:
    """The same rows with ``executemany`` in one transaction, then ANALYZE."""
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for table in data.tables:
            marks = ", ".join("?" * len(table.columns))
            columns = ", ".join(f'"{c}"' for c in table.columns)
            conn.executemany(
                f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',
                (tuple(_sqlite_value(v) for v in row) for row in table.rows),
            )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return time.perf_counter() - started


# --- the service and its checks -----------------------------------------------------------------------------------


def service_env(db_url: str, redis_url: str | None, media_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENMING_")}
    env.update(
        WENMING_ENV="test",
        WENMING_DATABASE_URL=db_url,
        WENMING_MEDIA_ROOT=str(media_root),
        WENMING_LIMIT_UPLOAD="1000000/minute",  # every upload of the run is measured, none refused
    )
    if redis_url:
        env["WENMING_REDIS_URL"] = redis_url
    return env


def cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    done = run_measured([*WENMING, *args], env=env)
    if done.returncode:
        raise SystemExit(f"`wenming {' '.join(args)}` failed ({done.returncode}):\n{done.output}")
    return done.wall, done.output


def multipart(photo: bytes, boundary: str) -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{PHOTO_NAME}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + photo + f"\r\n--{boundary}--\r\n".encode()


def post_photo(url: str, token: str, photo: bytes) -> tuple[int, bytes]:
    boundary = "----wenmingbench" + secrets.token_hex(8)
    request = urllib.request.Request(
        url,
        data=multipart(photo, boundary),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_tasks(server: Server, token: str) -> tuple[dict[str, Any], int]:
    status, body, _ = get(f"{server.base_url}{API}/tasks?limit=20", token)
    doc = json.loads(body) if status == 200 else {}
    items = doc.get("items")
    if status != 200 or not isinstance(items, list) or len(items) != 20 or not doc.get("next_cursor"):
        raise SystemExit(f"{server.label} /tasks: {status}, not 20 items and a cursor: {body[:500]!r}")
    if any(item.get("status") != "open" for item in items):
        raise SystemExit(f"{server.label} /tasks: a task that is not open: {body[:500]!r}")
    return doc, len(body)


def check_board(server: Server, token: str, expected: int) -> int:
    status, body, _ = get(f"{server.base_url}{API}/leaderboard?limit=50", token)
    doc = json.loads(body) if status == 200 else {}
    items = doc.get("items")
    if status != 200 or not isinstance(items, list) or len(items) != 50 or items[0].get("rank") != 1:
        raise SystemExit(f"{server.label} /leaderboard: {status}, not 50 ranked people: {body[:500]!r}")
    got = (doc.get("me") or {}).get("points", 0)
    if got != expected:
        raise SystemExit(f"{server.label} /leaderboard: `me` has {got} points, the ledger says {expected}")
    return len(body)


def check_upload(server: Server, token: str, photo: bytes) -> int:
    status, body = post_photo(f"{server.base_url}{API}/media", token, photo)
    doc = json.loads(body) if status == 201 else {}
    upright = (PHOTO_SIZE[1], PHOTO_SIZE[0])
    size = (doc.get("width") or 0, doc.get("height") or 0)
    # The lossless turn drops a partial MCU (under 16 px) at an edge the turn moves (media.jpeg_transform).
    if status != 201 or not all(0 <= want - got < 16 for want, got in zip(upright, size, strict=True)):
        raise SystemExit(f"{server.label} /media: {status} {body[:500]!r}")
    return len(body)


def clean_media(root: Path) -> int:
    """Remove every stored file (keeping the service's folder for incoming uploads); returns the files removed."""
    removed = 0
    for entry in root.iterdir():
        if entry.name == ".incoming":
            continue
        if entry.is_dir():
            removed += sum(1 for p in entry.rglob("*") if p.is_file())
            shutil.rmtree(entry)
        else:
            entry.unlink()
            removed += 1
    return removed


async def rows_read(dsn: str) -> dict[str, int]:
    """Rows PostgreSQL has read from each table so far (sequential scans plus index fetches).

    A backend reports its counters when it goes idle, but at most once a second, and otherwise only after
    ``STATS_LAG`` seconds idle: read them that long after the last request.
    """
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n FROM pg_stat_user_tables"
        )
        return {r["relname"]: int(r["n"]) for r in rows}
    finally:
        await conn.close()


def _wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.perf_counter()))


def drain(server: Server, max_wait: float = 120) -> float:
    """Wait until the service is idle (under 0.05 cores for half a second); wrk leaves queued requests behind."""
    started = time.perf_counter()
    while time.perf_counter() - started < max_wait:
        before = server.cpu()
        time.sleep(0.5)
        if server.cpu() - before < 0.025:
            break
    return time.perf_counter() - started


# --- wrk ----------------------------------------------------------------------------------------------------------

UPLOAD_LUA = """-- POST /media: a multipart body from the photo, Authorization rotated over the tokens; counts 201s.
tokens = {%(tokens)s}
local boundary = "----wenmingbench%(boundary)s"
local f = assert(io.open("%(photo)s", "rb"))
local photo = f:read("*a")
f:close()
local body = "--" .. boundary .. "\\r\\n" ..
  'Content-Disposition: form-data; name="file"; filename="%(name)s"\\r\\n' ..
  "Content-Type: image/jpeg\\r\\n\\r\\n" .. photo .. "\\r\\n--" .. boundary .. "--\\r\\n"
local content_type = "multipart/form-data; boundary=" .. boundary
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 97)
  table.insert(threads, thread)
end

function init(args)
  n = offset or 0
  created = 0
  other = 0
end

function request()
  n = n %% #tokens + 1
  return wrk.format("POST", nil, {["Authorization"] = "Bearer " .. tokens[n], ["Content-Type"] = content_type}, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  local e = summary.errors
  local out = assert(io.open("%(counts)s", "w"))
  out:write(string.format('{"created": %%d, "other": %%d}', c, o))
  out:close()
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "p50": %%.0f, "p90": %%.0f, "p99": %%.0f, "max": %%.0f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass
class Config:
    db: str
    workers: int
    size: int
    access_log: bool = True  # the workers' own access line (WENMING_ACCESS_LOG)
    runs: list[WrkRun] = field(default_factory=list)
    answer_bytes: dict[str, int] = field(default_factory=dict)
    created: int = 0  # 201 answers to the timed upload run
    not_created: int = 0
    drained: list[float] = field(default_factory=list)  # seconds the service kept working after each run
    busy_at_start: float = 0.0
    alone: dict[str, float] = field(default_factory=dict)  # target -> median of --singles sequential requests
    # target -> per timed run, PostgreSQL rows read per answer by table (``--rows``)
    rows_read: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class SizeInfo:
    size: int
    counts: dict[str, int]
    generate_s: float
    pg_migrate_s: float = 0.0
    pg_fill_s: float = 0.0
    pg_size: str = ""
    rebuild_s: float = 0.0
    rebuild_line: str = ""
    sqlite_fill_s: float | None = None
    sqlite_bytes: int = 0


@dataclass
class Outcome:
    sizes: list[SizeInfo] = field(default_factory=list)
    configs: list[Config] = field(default_factory=list)
    wrk_lines: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    photo_bytes: int = 0
    code_at_start: str = ""
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0


def measure_config(
    db: str,
    workers: int,
    data: Dataset,
    env: dict[str, str],
    media_root: Path,
    photo: Path,
    scripts: dict[str, Path],
    args: argparse.Namespace,
    tmp: Path,
    outcome: Outcome,
    stats_dsn: str | None = None,
    access_log: bool = True,
) -> Config:
    label = f"{db}, {_count(workers, 'worker')}, {data.size:,}" + ("" if access_log else ", no access line")
    config = Config(db, workers, data.size, access_log)
    wport, bport = free_port(), free_port()
    tag = f"{'pg' if db == PG else 'sqlite'}-{workers}-{data.size}-{'log' if access_log else 'nolog'}"
    wenming = Server(
        f"wenming serve --workers {workers} ({label})",
        [*WENMING, "serve", "--port", str(wport), "--workers", str(workers)],
        {**env, "WENMING_ACCESS_LOG": "1" if access_log else "0"},
        wport,
        tmp / f"wenming-{tag}.log",
    )
    body_path = tmp / f"bare-body-{tag}.json"
    bare = Server(
        f"bench.bare --workers {workers}",
        [*BARE, "--port", str(bport), "--workers", str(workers)],
        {**os.environ, "BENCH_BARE_BODY": str(body_path)},
        bport,
        tmp / f"bare-{tag}.log",
    )
    try:
        log(f"[{label}] starting the service and the bare app ...")
        wenming.start()
        token, uid = data.tokens[0], data.token_users[0]
        sample, config.answer_bytes["tasks"] = check_tasks(wenming, token)
        config.answer_bytes["leaderboard"] = check_board(wenming, token, data.totals.get(uid, 0))
        config.answer_bytes["media"] = check_upload(wenming, token, photo.read_bytes())
        body_path.write_bytes(json.dumps(sample, ensure_ascii=False).encode())
        bare.start()
        status, body, _ = get(f"{bare.base_url}/board")
        if status != 200 or json.loads(body) != sample:
            raise SystemExit(f"the bare app answered {status} {body[:300]!r}")
        config.answer_bytes["bare"] = len(body)
        urls = {
            "bare": (bare, f"{bare.base_url}/board", scripts["get"]),
            "tasks": (wenming, f"{wenming.base_url}{API}/tasks?limit=20", scripts["get"]),
            "leaderboard": (wenming, f"{wenming.base_url}{API}/leaderboard?limit=50", scripts["get"]),
            "media": (wenming, f"{wenming.base_url}{API}/media", scripts["media"]),
        }
        common = {"threads": args.threads, "connections": args.connections, "timeout": f"{args.timeout:g}s"}
        for name, (_, url, script) in urls.items():
            outcome.wrk_lines.setdefault(name, shlex.join(wrk_command(url, script, duration=args.duration, **common)))
        if args.warmup > 0:
            for name, (server, url, script) in urls.items():
                run_wrk(name, wrk_command(url, script, duration=args.warmup, **common), server)
                drain(server)
            clean_media(media_root)
        for name in ("bare", "tasks", "leaderboard"):  # one caller at a time: latency without a queue
            server, url, _ = urls[name]
            config.alone[name] = _median([get(url, token)[2] for token in data.tokens[1 : 1 + args.singles]])
        if args.settle > 0:
            config.busy_at_start = settle(args.quiet, args.settle)
            if config.busy_at_start >= args.quiet:
                log(f"  note: the machine was still {config.busy_at_start:.2f} cores busy after {args.settle:g} s")
        quiet_since = time.perf_counter()  # when the service last touched the database
        for _ in range(args.rounds):
            for name in ORDER:
                server, url, script = urls[name]
                cmd = wrk_command(url, script, duration=args.duration, **common)
                counting = stats_dsn is not None and name in ROW_TARGETS
                if counting:
                    _wait_until(quiet_since + STATS_LAG)
                    before = asyncio.run(rows_read(stats_dsn))
                run = run_wrk(name, cmd, server)
                config.runs.append(run)
                config.drained.append(drain(server))
                if server is wenming:
                    quiet_since = time.perf_counter()
                if counting and run.requests:
                    _wait_until(quiet_since + STATS_LAG)
                    after = asyncio.run(rows_read(stats_dsn))
                    per_answer = {t: (after.get(t, 0) - n) / run.requests for t, n in before.items()}
                    config.rows_read.setdefault(name, []).append(per_answer)
                if name == "media":
                    counted = json.loads(scripts["counts"].read_text())
                    config.created += counted["created"]
                    config.not_created += counted["other"]
                    clean_media(media_root)
                log(
                    f"  {name:>11}: {run.rps:9,.1f} req/s  p50 {_ms(run.p50)}  p99 {_ms(run.p99)}  "
                    f"non-2xx {run.non_2xx}  socket errors {run.socket_errors}  drained {config.drained[-1]:.1f} s  "
                    + " ".join(f"{k} {v:.2f}" for k, v in run.cpu.items())
                )
        config.errors = wenming.errors() + bare.errors()
        return config
    finally:
        wenming.stop()
        bare.stop()
        with contextlib.suppress(OSError):
            clean_media(media_root)


def write_scripts(tmp: Path, data: Dataset, photo: Path) -> dict[str, Path]:
    tokens = ", ".join(f'"{t}"' for t in data.tokens)
    scripts = {"get": tmp / f"rotate-{data.size}.lua", "media": tmp / f"upload-{data.size}.lua"}
    scripts["counts"] = tmp / "upload-counts.json"
    scripts["get"].write_text(LUA % {"tokens": tokens}, encoding="utf-8")
    scripts["media"].write_text(
        UPLOAD_LUA
        % {
            "tokens": tokens,
            "boundary": secrets.token_hex(8),
            "photo": photo,
            "name": PHOTO_NAME,
            "counts": scripts["counts"],
        },
        encoding="utf-8",
    )
    return scripts


def measure(args: argparse.Namespace, tmp: Path) -> Outcome:
    from models.rankings import PREFIX  # the service's key prefix, to check the rebuilt board

    outcome = Outcome(code_at_start=tree_fingerprint())
    r = redis.Redis.from_url(args.redis)
    outcome.versions = versions(args.postgres, r)
    photo = tmp / PHOTO_NAME
    make_photo(photo, size=PHOTO_SIZE)
    outcome.photo_bytes = photo.stat().st_size
    media_root = tmp / "media"
    media_root.mkdir()
    r.flushdb()
    db: str | None = None
    try:
        for size in args.sizes:
            log(f"== {size:,} users and tasks: generating rows ...")
            data = generate(size, args, datetime.now(UTC))
            info = SizeInfo(size, data.counts, data.generate_s)
            outcome.sizes.append(info)
            log(f"  {data.generate_s:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in data.counts.items()))
            scripts = write_scripts(tmp, data, photo)

            db = f"wenming_bench_api_{secrets.token_hex(4)}"
            db_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(args.postgres)._replace(path=f"/{db}"))
            asyncio.run(admin_sql(args.postgres, f'CREATE DATABASE "{db}"'))
            env = service_env(db_url, args.redis, media_root)
            info.pg_migrate_s, _ = cli(["migrate"], env)
            info.pg_fill_s, info.pg_size = asyncio.run(fill_postgres(db_url, data))
            log(f"  PostgreSQL {db}: migrate {info.pg_migrate_s:.1f} s, COPY + VACUUM {info.pg_fill_s:.1f} s")
            info.rebuild_s, output = cli(["ranking", "rebuild"], env)
            info.rebuild_line = next((ln for ln in output.splitlines() if ln.startswith("rebuilt")), "").strip()
            members = int(r.zcard(PREFIX + "all"))
            if members != sum(1 for p in data.totals.values() if p > 0):
                raise SystemExit(f"the rebuilt board has {members} people, the ledger {len(data.totals)}")
            log(f"  ranking rebuild {info.rebuild_s:.1f} s ({info.rebuild_line}); board of {members:,}")
            for workers in args.workers:
                for access_log in args.access_logs:
                    outcome.configs.append(
                        measure_config(
                            PG,
                            workers,
                            data,
                            env,
                            media_root,
                            photo,
                            scripts,
                            args,
                            tmp,
                            outcome,
                            stats_dsn=db_url if args.rows else None,
                            access_log=access_log,
                        )
                    )
            asyncio.run(admin_sql(args.postgres, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            db = None
            r.flushdb()

            if size in args.sqlite_sizes:
                path = tmp / f"bench-{size}.sqlite3"
                env = service_env(f"sqlite://{path}", None, media_root)
                cli(["migrate"], env)
                info.sqlite_fill_s = fill_sqlite(path, data)
                info.sqlite_bytes = path.stat().st_size
                log(f"  SQLite: executemany + ANALYZE {info.sqlite_fill_s:.1f} s, {info.sqlite_bytes / 1e6:.0f} MB")
                for access_log in args.access_logs:
                    outcome.configs.append(
                        measure_config(
                            SQLITE, 1, data, env, media_root, photo, scripts, args, tmp, outcome, access_log=access_log
                        )
                    )
                for leftover in tmp.glob(f"bench-{size}.sqlite3*"):
                    leftover.unlink()
    finally:
        if db is not None:
            asyncio.run(admin_sql(args.postgres, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        r.flushdb()
        r.close()
        log(f"dropped the databases, flushed {args.redis}")
    outcome.seconds = time.perf_counter() - outcome.started
    return outcome


# --- reporting ----------------------------------------------------------------------------------------------------


def _size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


def _runs(config: Config, target: str) -> list[WrkRun]:
    return [r for r in config.runs if r.target == target]


def _p(runs: list[WrkRun], attr: str, duration: float) -> str:
    if not any(r.requests for r in runs):
        return f"none in {duration:g} s"
    return _ms(_median([getattr(r, attr) for r in runs if r.requests]))


def _rps(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def render(o: Outcome, args: argparse.Namespace, title: str) -> str:
    changed = tree_fingerprint() != o.code_at_start
    redis_db = urllib.parse.urlsplit(args.redis).path.strip("/")
    wrk_settings = f"-t{args.threads} -c{args.connections} -d{args.duration:g}s --timeout={args.timeout:g}s --latency"
    lines = [
        title,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d} (UTC); the run took {o.seconds / 60:.0f} min",
        f"- Machine: {_machine(o.versions)}",
        f"- Code: {code_version()}"
        + (
            "; **the service's code (`server/`, `models/`, `handlers/`, `media/`, `pyproject.toml`) changed "
            "while the benchmark ran** (other work in the same tree), so the figures may mix versions"
            if changed
            else ""
        ),
        f"- Command: {_command()}",
        f"- Data, per size N (generated once, the same rows in both databases): a county of {TOWNSHIPS} townships x "
        f"{VILLAGES} villages; N volunteers in random villages (95% visible on the board); N/{TASKS_PER_CAMPAIGN} "
        f"published campaigns running now, of random orgs (10% the county, 30% a township, 60% a village), "
        f"{TASKS_PER_CAMPAIGN} tasks each (N tasks, all open now, ids in creation order; 40% with a location and "
        "half of those with check-in required, 10% for the roles volunteer/influencer, 5% for the campaign's org "
        "subtree, the rest for everyone; quotas mixed); about N/2 enrollments, 3 of them for each token holder "
        f"among the 60 newest tasks; {args.ledger_per_user} ledger rows per person over the last {DAYS} days "
        "(5% reversals; who earns is Pareto-distributed; users' totals match the ledger); "
        f"{args.tokens} bearer tokens for random volunteers (sha256 stored, as `issue_token` does). PostgreSQL is "
        "filled with COPY (`copy_records_to_table`, foreign-key triggers off, sequences set, `VACUUM ANALYZE`), "
        "after `wenming migrate`, then `wenming ranking rebuild` fills the Redis boards (checked: as many "
        "people on the board as have points); SQLite is a fresh file, `wenming migrate`, then `executemany` in one "
        "transaction with values as Tortoise stores them (local-time ISO datetimes, decimals as text), `ANALYZE`.",
        f"- Service: `wenming serve --workers W` as a child process, `WENMING_ENV=test`, "
        f"`WENMING_LIMIT_UPLOAD=1000000/minute`, media on the local disk (a temporary media root, emptied after "
        f"every upload run); PostgreSQL + Redis: `WENMING_REDIS_URL` = Redis db {redis_db}; SQLite: no Redis, so "
        "1 worker only (`wenming serve` refuses more than one without Redis) and the leaderboard is computed in "
        "SQL on every request. Beside it, `python -m bench.bare --workers W`: the same Sanic worker manager with "
        "one route that re-serialises the service's own `/tasks?limit=20` answer with orjson per request (no "
        "middleware, database or auth; sanic-ext is installed, so Sanic loads it with its built-in extensions at "
        "start, as in every earlier run). Configurations marked *no access line* run the service with "
        "`WENMING_ACCESS_LOG=0` (nginx writes the line in such deployments); the others with the default.",
        f"- Targets, each checked once before timing: `GET /api/v1/tasks?limit=20` (200, 20 open tasks and a "
        f"cursor), `GET /api/v1/leaderboard?limit=50` (200, 50 ranked people, the caller's `me.points` equal to "
        f"the ledger's sum), `POST /api/v1/media` with a 3-MP JPEG (the synthetic phone photo of `bench.ingest` "
        f"generated at {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}, quality 92, EXIF orientation 6, capture time and GPS, "
        f"{o.photo_bytes / 1e6:.2f} MB; 201 and the upright {PHOTO_SIZE[1]}x{PHOTO_SIZE[0]} size "
        "less under 16 px the lossless turn may trim). The GETs and "
        "the uploads rotate `Authorization` over the tokens in wrk's Lua (each request a different caller); "
        "the upload script builds the multipart body (field `file`) from the file and counts 201 answers.",
        f"- Method: per configuration (database, workers, size) one warm-up run of {args.warmup:g} s per target, "
        f"one wait (up to {args.settle:g} s) for the machine to be under {args.quiet:g} cores busy, then "
        f"{_count(args.rounds, 'round')} of bare, tasks, bare, leaderboard, bare, media, all with the same "
        f"`wrk {wrk_settings}`. After each run the benchmark waits for the service to go idle before the next "
        "(a slow target keeps working through requests queued when wrk stopped). req/s is wrk's count of "
        "answers over its duration; p50/p99 are wrk's; *vs bare* divides by the median of the configuration's "
        "bare runs; *alone* is the median of "
        f"{args.singles} requests sent one after another (each a different caller) after the warm-up, from "
        "Python; *rows read / answer* is what PostgreSQL's table statistics (`pg_stat_user_tables`: "
        "`seq_tup_read` + `idx_tup_fetch`, all tables) grew by during the run, divided by wrk's answers (answers to "
        "requests still queued when wrk stopped make it a slight overestimate). CPU is CPU seconds / wall seconds "
        "from `/proc` (1.00 = one core busy); *everything else* is the machine's busy time from `/proc/stat` less "
        "the named columns: other work on this shared VM, and PostgreSQL's parallel query workers, which are "
        "started per query and gone before they can be counted under PostgreSQL.",
        f"- Caveat: the machine's {_count(os.cpu_count() or 0, 'core')} are shared by wrk, the servers, "
        "PostgreSQL and Redis, so absolute figures are a floor, 2 workers compete with wrk for the same 2 "
        "cores, and the ratios are the point. Each figure is one short run: differences under about 10% are "
        "noise on this shared VM.",
        "",
        "Commands (ports and paths vary per run):",
        "",
        "```sh",
        *o.wrk_lines.values(),
        "```",
        "",
        "| N | orgs | users | campaigns | tasks (with location / audience) | enrollments | ledger rows | generate "
        "rows | PostgreSQL: migrate, COPY + VACUUM | ranking rebuild | PostgreSQL size | SQLite: executemany "
        "+ ANALYZE | SQLite file |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for s in o.sizes:
        c = s.counts
        sqlite = (
            (f"{s.sqlite_fill_s:.1f} s", f"{s.sqlite_bytes / 1e6:,.0f} MB")
            if s.sqlite_fill_s is not None
            else ("not run", "")
        )
        lines.append(
            f"| {_size(s.size)} | {c['orgs']:,} | {c['users']:,} | {c['campaigns']:,} | {c['tasks']:,} "
            f"({c['tasks with a location']:,} / {c['tasks with an audience']:,}) | {c['enrollments']:,} | "
            f"{c['ledger_entries']:,} | {s.generate_s:.1f} s | {s.pg_migrate_s:.1f} s, {s.pg_fill_s:.1f} s | "
            f"{s.rebuild_s:.1f} s | {s.pg_size} | {sqlite[0]} | {sqlite[1]} |"
        )
    lines += [
        "",
        "| db | workers | N | target | answer bytes | alone | req/s | p50 | p99 | non-2xx | socket errors | vs bare "
        "| rows read / answer | CPU: service | PostgreSQL + Redis | wrk | everything else |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in o.configs:
        bare_rps = _median([r.rps for r in _runs(c, "bare")])
        for target in TARGETS:
            runs = _runs(c, target)
            if not runs:
                continue
            rps = _median([r.rps for r in runs])
            ratio = "1" if target == "bare" else f"**{rps / bare_rps:.1%}**" if bare_rps else "–"
            if target != "bare" and bare_rps and 0 < rps / bare_rps < 0.001:
                ratio = f"**{rps / bare_rps:.3%}**"
            db_cpu = (
                f"{max(0.0, _median([r.cpu['postgres'] + r.cpu['redis'] for r in runs])):.2f}" if c.db == PG else "–"
            )
            alone = _ms(c.alone[target]) if target in c.alone else "–"
            rows = f"{_median([sum(r.values()) for r in c.rows_read[target]]):,.0f}" if target in c.rows_read else "–"
            lines.append(
                f"| {c.db} | {c.workers}{'' if c.access_log else ', no access line'} | {_size(c.size)} | "
                f"{TARGET_TEXT[target]} | "
                f"{c.answer_bytes.get(target, 0):,} | {alone} | {_rps(rps)} | {_p(runs, 'p50', args.duration)} | "
                f"{_p(runs, 'p99', args.duration)} | {sum(r.non_2xx for r in runs)} | "
                f"{sum(r.socket_errors for r in runs)} | {ratio} | {rows} | "
                f"{_median([r.cpu['service'] for r in runs]):.2f} | {db_cpu} | "
                f"{_median([r.cpu['wrk'] for r in runs]):.2f} | {_median([r.cpu['other'] for r in runs]):.2f} |"
            )
    # The growth with N and the rows read: the default setup (the workers write their access line).
    pg1 = [c for c in o.configs if c.db == PG and c.workers == 1 and c.access_log]
    sq = [c for c in o.configs if c.db == SQLITE and c.access_log]
    if len(pg1) > 1 or len(sq) > 1:
        lines += [
            "",
            "Latency growth with N (wrk p50 / p99, 1 worker; PostgreSQL + Redis is the deployed setup, SQLite "
            "is shown for comparison):",
            "",
            "| target | db | " + " | ".join(_size(c.size) for c in pg1) + " |",
            "|---|---|" + "---:|" * len(pg1),
        ]
        for target in ("tasks", "leaderboard"):
            for label, group in ((PG, pg1), (SQLITE, sq)):
                if not group:
                    continue
                by_size = {c.size: c for c in group}
                cells = []
                for c in pg1:
                    runs = _runs(by_size[c.size], target) if c.size in by_size else []
                    cells.append(
                        f"{_p(runs, 'p50', args.duration)} / {_p(runs, 'p99', args.duration)}" if runs else "not run"
                    )
                lines.append(f"| {TARGET_TEXT[target]} | {label} | " + " | ".join(cells) + " |")
    counted = [c for c in pg1 if c.rows_read]
    if counted:
        lines += [
            "",
            "PostgreSQL rows read per answer, by table (PostgreSQL + Redis, 1 worker; tables under 1 row per "
            "answer left out):",
            "",
            "| target | table | " + " | ".join(_size(c.size) for c in counted) + " |",
            "|---|---|" + "---:|" * len(counted),
        ]
        for target in ROW_TARGETS:
            names = sorted({t for c in counted for r in c.rows_read.get(target, []) for t in r})
            for table in names:
                values = [_median([r.get(table, 0.0) for r in c.rows_read.get(target, [])]) for c in counted]
                if max(values) >= 1:
                    cells = " | ".join(f"{v:,.0f}" for v in values)
                    lines.append(f"| {TARGET_TEXT[target]} | `{table}` | {cells} |")
    uploads = [c for c in o.configs if _runs(c, "media")]
    lines += [
        "",
        f"Uploads: {sum(c.created for c in uploads):,} timed uploads answered 201, "
        f"{sum(c.not_created for c in uploads):,} something else.",
    ]
    slow = [(c, r, d) for c in o.configs for r, d in zip(c.runs, c.drained, strict=True) if d > 5]
    if slow:
        lines += [
            "",
            "After these runs the service kept working through queued requests: "
            + "; ".join(f"{c.db}, {c.workers} w, {_size(c.size)}, {r.target}: {d:.0f} s" for c, r, d in slow)
            + ".",
        ]
    unsettled = [c for c in o.configs if c.busy_at_start >= args.quiet]
    if args.settle > 0:
        lines += [
            "",
            f"{len(unsettled)} of {len(o.configs)} configurations started while other work kept the machine at "
            f"least {args.quiet:g} cores busy after the {args.settle:g} s wait"
            + (f" (up to {max(c.busy_at_start for c in unsettled):.2f} cores)." if unsettled else "."),
        ]
    failures = failure_count(o)
    if failures:
        lines += ["", f"**FAILURES: {failures}** (non-2xx answers, uploads not answered 201, error lines in logs)."]
    return "\n".join(lines) + "\n"


def failure_count(o: Outcome) -> int:
    return sum(sum(r.non_2xx for r in c.runs) + c.not_created + len(c.errors) for c in o.configs)


# --- main ---------------------------------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    if text.strip().lower() in ("", "none"):
        return []
    values = [int(part.strip().lower().replace("k", "000")) for part in text.split(",") if part.strip()]
    if min(values, default=1) < 50:
        raise argparse.ArgumentTypeError("comma-separated sizes of at least 50 (a page of the board), e.g. 1k,10k")
    return values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: N=1k, 2 s runs, no settle wait")
    parser.add_argument("--sizes", type=_sizes, default=None, help="N users and tasks (default 1k,10k,100k)")
    parser.add_argument("--sqlite-sizes", type=_sizes, default=None, help="sizes also run on SQLite (default: all)")
    parser.add_argument("--workers", default="1,2", help="worker counts on PostgreSQL + Redis (default 1,2)")
    parser.add_argument(
        "--access-log",
        choices=("on", "off", "both"),
        default="both",
        help="the workers' access line (WENMING_ACCESS_LOG): on, off, or each configuration with and without it",
    )
    parser.add_argument("--tokens", type=int, default=200, help="callers wrk rotates over (default 200)")
    parser.add_argument("--ledger-per-user", type=int, default=10, help="ledger rows per person (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per timed wrk run (default 8)")
    parser.add_argument("--warmup", type=int, default=None, help="seconds of warm-up per target (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the six timed runs (default 1)")
    parser.add_argument(
        "--singles", type=int, default=5, help="sequential requests per GET target for *alone* (default 5)"
    )
    parser.add_argument("--timeout", type=float, default=30, help="wrk's per-request timeout, s (default 30)")
    parser.add_argument("--settle", type=float, default=None, help="wait up to S s for a quiet machine (default 20)")
    parser.add_argument("--quiet", type=float, default=0.3, help="quiet: under this many cores busy (default 0.3)")
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a database to connect to for CREATE/DROP DATABASE (default postgres://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6", help="Redis database to use and flush (db 6)")
    parser.add_argument(
        "--no-rows",
        dest="rows",
        action="store_false",
        help="skip counting PostgreSQL rows read per answer (saves the 11 s waits for the statistics)",
    )
    parser.add_argument("--seed", type=int, default=20261129, help="random seed of the data (default 20261129)")
    parser.add_argument("--write", action="store_true", help=f"put the section into {RESULTS_PATH.name}")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = args.sizes if args.sizes is not None else [1000] if quick else [1000, 10_000, 100_000]
    args.access_logs = {"on": [True], "off": [False], "both": [True, False]}[args.access_log]
    args.sqlite_sizes = args.sqlite_sizes if args.sqlite_sizes is not None else list(args.sizes)
    args.duration = args.duration if args.duration is not None else 2 if quick else 8
    args.warmup = args.warmup if args.warmup is not None else 1 if quick else 2
    args.settle = args.settle if args.settle is not None else 0 if quick else 20
    try:
        args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        parser.error("--workers: a comma-separated list of worker counts, e.g. 1,2")
    if not args.sizes or not args.workers or min(args.workers) < 1:
        parser.error("--sizes and --workers must not be empty; worker counts >= 1")
    if args.tokens < 2 or args.singles < 1 or args.rounds < 1 or args.duration <= 0 or args.ledger_per_user < 1:
        parser.error("--tokens must be >= 2; --singles, --rounds, --ledger-per-user must be >= 1 and --duration > 0")
    db_index = urllib.parse.urlsplit(args.redis).path.strip("/")
    if not db_index.isdigit() or db_index == "0":
        parser.error("--redis must name a Redis database other than 0 (it is flushed), e.g. redis://host:6379/6")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install -y wrk)")
    title = QUICK_TITLE if quick else TITLE
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)

    tmp = Path(tempfile.mkdtemp(prefix="wenming-bench-api-"))
    try:
        outcome = measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    section = render(outcome, args, title)
    print(section)
    if args.write:
        write_results(section, title)
        log(f"written to {RESULTS_PATH.relative_to(REPO_ROOT)}")
    if failure_count(outcome):
        sys.exit(1)


if __name__ == "__main__":
    main()
