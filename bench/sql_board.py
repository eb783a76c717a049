"""The all-time leaderboard without Redis: summed from the ledger (before) vs read from people's totals (after).

Run from the repository root::

    python -m bench.sql_board [--users 100000] [--entries 1000000] [--write]

Without Redis the service answers ``GET /leaderboard`` from SQL. The all-time board used to group the
whole ledger by person on every request (``models.rankings._sql_ledger_board``, still used for the
week, month, campaign and org boards); it now reads ``users.points``, which moves with the ledger in
the same transaction, through an index (``_sql_all_time``). One run fills a fresh PostgreSQL database
with ``bench.leaderboard``'s generator (COPY; users' totals match the ledger), then, in one process and
alternating A, B, A, B over the same random callers, times both functions for a top 50 and the caller's
own rank, and checks that they give the same board. Needs PostgreSQL (``--postgres``); no Redis, no wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS_PATH, _git, log, write_results
from bench.ingest import _command, _cpu_model
from bench.leaderboard import (
    _pg_version,
    admin_sql,
    fill,
    migrate,
    service_env,
)
from models.rankings import Board, Scope, _sql_all_time, _sql_ledger_board
from server.runtime.db import close_db, init_db

TITLE = "## Leaderboard without Redis: ledger sums vs people's totals (`bench/sql_board.py`)"


async def _time(call, *args) -> tuple[float, Board]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    board = await call(*args)
    return time.perf_counter() - started, board


async def compare(db_url: str, callers: list[int], rounds: int, limit: int) -> dict[str, list[float]]:
    await init_db(db_url)
    try:
        everyone = Scope("all", "all", "all")
        for me in callers[:2]:  # warm both paths
            await _sql_ledger_board(everyone, limit, me)
            await _sql_all_time(limit, me)
        times: dict[str, list[float]] = {"before": [], "after": []}
        for i in range(rounds):
            me = callers[i % len(callers)]
            took_a, before = await _time(_sql_ledger_board, everyone, limit, me)
            took_b, after = await _time(_sql_all_time, limit, me)
            if before != after:
                raise SystemExit(f"the two boards differ for caller {me}:\n{before}\n{after}")
            times["before"].append(took_a)
            times["after"].append(took_b)
        return times
    finally:
        await close_db()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def render(args: argparse.Namespace, pg: str, times: dict[str, list[float]], fill_s: float, load: float) -> str:
    def row(name: str, what: str) -> str:
        t = sorted(times[name])
        p90 = t[int(0.9 * (len(t) - 1))]
        return f"| {what} | {_ms(statistics.median(t))} | {_ms(p90)} | {_ms(t[0])} |"

    ratio = statistics.median(times["before"]) / statistics.median(times["after"])
    return "\n".join(
        [
            TITLE,
            "",
            f"- Machine: {_cpu_model()}; {os.cpu_count()} logical cores; Python {sys.version.split()[0]}; "
            f"PostgreSQL {pg} (local, default settings); load average {load:.2f} at the start"
            + (" (the machine was shared with other work)" if load > 1 else ""),
            f"- Command: {_command()}; code at commit {_git('rev-parse', '--short', 'HEAD') or 'unknown'}; "
            f"{datetime.now(UTC):%Y-%m-%d}",
            f"- Data: {args.users:,} people, {args.entries:,} ledger rows (`bench.leaderboard`'s generator, seed "
            f"{args.seed}), filled in {fill_s:.0f} s.",
            f"- Method: {args.rounds} rounds, each the top {args.limit} and the caller's own rank for a random "
            "token holder, by A then B in the same process and connection pool; both boards compared (equal "
            "every round). A = `_sql_ledger_board` (the ledger grouped by person: the code the all-time board "
            "used before); B = `_sql_all_time` (people's totals through `idx_users_points`).",
            "",
            "| all-time board, no Redis | median | p90 | min |",
            "|---|---:|---:|---:|",
            row("before", "A: sum the ledger"),
            row("after", "B: people's totals"),
            "",
            f"Ratio of the medians: **{ratio:,.0f}x**. The week and month boards still sum the ledger, over the "
            "period's rows only (`created_at` is indexed).",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="people (default 100000)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger rows (default 1000000)")
    parser.add_argument("--townships", type=int, default=20)
    parser.add_argument("--villages", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=200, help="callers to draw from (default 200)")
    parser.add_argument("--rounds", type=int, default=21, help="A/B rounds (default 21)")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--write", action="store_true", help=f"put the section into {RESULTS_PATH.name}")
    args = parser.parse_args(argv)

    load = os.getloadavg()[0]
    db = f"wenming_bench_board_{secrets.token_hex(4)}"
    db_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(args.postgres)._replace(path=f"/{db}"))
    asyncio.run(admin_sql(args.postgres, f'CREATE DATABASE "{db}"'))
    try:
        with tempfile.TemporaryDirectory(prefix="wenming-bench-board-") as tmp:
            migrate(service_env(db_url, None, Path(tmp)), again=False)
        log(f"filling {db}: {args.users:,} people, {args.entries:,} ledger rows ...")
        started = time.perf_counter()
        filled = asyncio.run(fill(db_url, args, datetime.now(UTC)))
        fill_s = time.perf_counter() - started
        callers = random.Random(args.seed).sample(filled.token_users, len(filled.token_users))
        log(f"timing {args.rounds} rounds ...")
        times = asyncio.run(compare(db_url, callers, args.rounds, args.limit))
        pg = asyncio.run(_pg_version(args.postgres))
    finally:
        asyncio.run(admin_sql(args.postgres, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    section = render(args, pg, times, fill_s, load)
    print(section)
    if args.write:
        write_results(section, TITLE)


if __name__ == "__main__":
    main()
