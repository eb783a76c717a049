"""Ranking rebuild benchmark: ``wenming ranking rebuild`` over a county-sized ledger, beside the bare SQL.

Run from the repository root::

    python -m bench.rebuild [--users 100000] [--entries 1000000] [--rounds 3] [--write]

Needs PostgreSQL (``--postgres``, a database to connect to for CREATE/DROP DATABASE) and Redis (``--redis``, a
numbered database other than 0: it is flushed before and after). One run:

1. creates a fresh PostgreSQL database, runs ``wenming migrate`` and fills it exactly as ``bench.leaderboard``
   does (``bench.leaderboard.fill``: orgs, people, ``--entries`` ledger rows over 120 days with 5% reversals,
   50 campaigns), then ``VACUUM ANALYZE``;
2. ``--rounds`` times, one after the other: ``wenming ranking rebuild`` as a child process (wall, CPU, peak RSS;
   the Redis boards are checked against SQL after each), the bare ``SELECT user_id, sum(points) ... GROUP BY
   user_id`` over the ledger, and reading every ledger row the old rebuild read (id, user, points, campaign,
   org path, created_at) with asyncpg ``fetch``: the same rows, side by side, so the ratios hold on a busy machine;
3. drops the database and flushes Redis.

The Markdown section goes to stdout (progress to stderr); ``--write`` also puts it into ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import statistics
import sys
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import redis

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_PATH, _git, log, write_results
from bench.leaderboard import admin_sql, do_rebuild, fill, machine_busy, migrate, service_env

GROUP_BY = "SELECT user_id, sum(points) FROM ledger_entries GROUP BY user_id"
READ_ALL = "SELECT id, user_id, points, campaign_id, org_path, created_at FROM ledger_entries ORDER BY id"


async def timed_sql(dsn: str, statement: str) -> tuple[float, int]:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        rows = await conn.fetch(statement)
        return time.perf_counter() - started, len(rows)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--townships", type=int, default=20)
    parser.add_argument("--villages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    args.tokens = 10  # fill() issues tokens; the rebuild needs none
    db_index = urllib.parse.urlsplit(args.redis).path.strip("/")
    if not db_index.isdigit() or db_index == "0":
        parser.error("--redis must name a Redis database other than 0 (it is flushed)")
    title = f"## Ranking rebuild ({args.users:,} users, {args.entries:,} ledger rows): GROUP BY in the database"
    commit = _git("rev-parse", "--short", "HEAD")
    r = redis.Redis.from_url(args.redis)
    db = f"wenming_bench_rebuild_{secrets.token_hex(4)}"
    db_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(args.postgres)._replace(path=f"/{db}"))
    redis_version = str(r.info("server")["redis_version"])
    r.flushdb()
    asyncio.run(admin_sql(args.postgres, f'CREATE DATABASE "{db}"'))
    rows: list[tuple[float, float, float, float, float, float]] = []
    try:
        env = service_env(db_url, args.redis, Path("/tmp/wenming-bench-rebuild-media"))
        migrate(env, again=False)
        now = datetime.now(UTC)
        log(f"filling {db}: {args.users:,} users, {args.entries:,} ledger rows ...")
        filled = asyncio.run(fill(db_url, args, now))
        for n in range(args.rounds):
            busy0, t0 = machine_busy(), time.perf_counter()
            rebuild = do_rebuild(env, r, db_url, now)
            group_s, groups = asyncio.run(timed_sql(db_url, GROUP_BY))
            read_s, _rows = asyncio.run(timed_sql(db_url, READ_ALL))
            busy = (machine_busy() - busy0) / (time.perf_counter() - t0)
            m = rebuild.measured
            log(f"round {n + 1}: rebuild {m.wall:.2f} s, GROUP BY {group_s:.2f} s ({groups:,}), read {read_s:.2f} s")
            rows.append((m.wall, m.cpu, m.max_rss_mb, group_s, read_s, busy))
        members = (rebuild.all_members, rebuild.week_members, rebuild.keys)
    finally:
        asyncio.run(admin_sql(args.postgres, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        r.flushdb()
        r.close()
    pg = asyncio.run(_pg_version(args.postgres))
    lines = [
        title,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {os.cpu_count()} logical cores; Python {platform.python_version()};"
        f" PostgreSQL {pg}, Redis {redis_version} (both local)",
        f"- Code: commit `{commit}`",
        f"- Command: `python -m bench.rebuild --rounds {args.rounds}{' --write' if args.write else ''}`",
        f"- Data: `bench.leaderboard.fill` ({filled.orgs} orgs, {filled.users:,} users, {filled.awards:,} awards +"
        f" {filled.reversals:,} reversals); boards after the rebuild: `all` {members[0]:,} members, this week's"
        f" {members[1]:,}, {members[2]} Redis keys, each checked against SQL (size and top 20).",
        "- Each round runs the three one after the other; *machine busy* is the whole machine's busy cores"
        " (from /proc/stat) over the round, the rebuild and PostgreSQL included.",
        "",
        "| round | `wenming ranking rebuild` wall | its CPU | peak RSS | bare GROUP BY | read every row |"
        " rebuild / GROUP BY | rebuild / read | machine busy |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, (wall, cpu, rss, group_s, read_s, busy) in enumerate(rows, 1):
        lines.append(
            f"| {n} | **{wall:.2f} s** | {cpu:.2f} s | {rss:.0f} MB | {group_s:.2f} s | {read_s:.2f} s |"
            f" {wall / group_s:.1f}x | {wall / read_s:.2f}x | {busy:.2f} cores |"
        )
    lines.append(
        f"\nMedian rebuild {statistics.median(w for w, *_ in rows):.2f} s (goal: 30 s; before: 36–46 s, see"
        ' "Leaderboard (100,000 users, 1,000,000 ledger rows)").'
    )
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        write_results(section, title)
        log(f"written to {RESULTS_PATH.name}")


async def _pg_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version")).split(" ")[0]
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
