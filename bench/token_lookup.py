"""The token lookup every authenticated request starts with: the ORM query it was vs the statement it is.

Run from the repository root::

    python -m bench.token_lookup [--rounds 2000] [--write]

On a fresh SQLite file and a fresh PostgreSQL database (``--postgres``; skipped with ``--no-postgres``),
each migrated and holding ``--people`` people in orgs with one token each, it times, alternating A, B
in one process for random tokens:

- A: the query ``models.users.user_for_token`` made before (``AuthToken.filter(token_hash=...,
  expires_at__gt=now).select_related("user__org").first()``, copied here), which the ORM builds anew
  on every call;
- B: ``models.users.user_for_token`` itself (one statement built once from the models' columns).

Both must return the same person with the same org for every token. It reports median and p90 of
each and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS_PATH, _git, write_results
from bench.ingest import _command, _cpu_model
from bench.leaderboard import admin_sql
from models.orgs import create_org
from models.users import AuthToken, User, hash_token, issue_token, user_for_token
from server.runtime.db import apply_migrations, close_db, init_db

TITLE = "## Token lookup: the ORM query vs one prepared statement (`bench/token_lookup.py`)"


async def before(raw: str) -> User | None:
    """``user_for_token`` as it was (commit 05d449c and earlier)."""
    token = (
        await AuthToken.filter(token_hash=hash_token(raw), expires_at__gt=datetime.now(UTC))
        .select_related("user__org")
        .first()
    )
    return token.user if token else None


def _same(a: User | None, b: User | None) -> bool:
    if a is None or b is None:
        return a is b
    fields = ("id", "openid", "role", "nickname", "org_id", "points", "service_hours", "leaderboard_visible")
    same_user = all(getattr(a, f) == getattr(b, f) for f in fields)
    return same_user and (a.org.path if a.org else None) == (b.org.path if b.org else None)


async def measure(url: str, people: int, rounds: int, seed: int) -> dict[str, list[float]]:
    await init_db(url)
    try:
        await apply_migrations()
        county = await create_org("县", "county", None)
        town = await create_org("镇", "township", county.id)
        tokens = []
        for i in range(people):
            user = await User.create(openid=f"o-bench-{i}", nickname=f"志愿者{i}", org_id=town.id if i % 5 else None)
            tokens.append(await issue_token(user, 3600))
        rng = random.Random(seed)
        for raw in tokens[:20]:  # warm-up, and the statement prepared
            await before(raw)
            await user_for_token(raw)
        times: dict[str, list[float]] = {"A": [], "B": []}
        for _ in range(rounds):
            raw = rng.choice(tokens)
            started = time.perf_counter()
            a = await before(raw)
            middle = time.perf_counter()
            b = await user_for_token(raw)
            times["A"].append(middle - started)
            times["B"].append(time.perf_counter() - middle)
            if not _same(a, b):
                raise SystemExit(f"A and B disagree on {url}: {a!r} vs {b!r}")
        return times
    finally:
        await close_db()


def run(url: str, people: int, rounds: int, seed: int) -> dict[str, list[float]]:
    os.environ.setdefault("WENMING_ENV", "test")
    return asyncio.run(measure(url, people, rounds, seed))


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def render(args: argparse.Namespace, results: dict[str, dict[str, list[float]]], load: float) -> str:
    lines = [
        TITLE,
        "",
        f"- Machine: {_cpu_model()}; {os.cpu_count()} logical cores; Python {sys.version.split()[0]}; load average "
        f"{load:.2f} at the start" + (" (the machine was shared with other work)" if load > 1 else ""),
        f"- Command: {_command()}; code at commit {_git('rev-parse', '--short', 'HEAD') or 'unknown'}; "
        f"{datetime.now(UTC):%Y-%m-%d}",
        f"- Method: {args.people} people (four in five in an org), one token each; {args.rounds} rounds of A then B "
        "for a random token in one process; A = the ORM query `user_for_token` made before (a copy in the "
        "benchmark), B = `models.users.user_for_token`; both returned the same person and org every round.",
        "",
        "| database | A: ORM query, median | p90 | B: one statement, median | p90 | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, times in results.items():
        a, b = sorted(times["A"]), sorted(times["B"])
        p90 = int(0.9 * (len(a) - 1))
        ratio = statistics.median(a) / statistics.median(b)
        lines.append(
            f"| {name} | {_us(statistics.median(a))} | {_us(a[p90])} | {_us(statistics.median(b))} | "
            f"{_us(b[p90])} | {ratio:.1f}x |"
        )
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--write", action="store_true", help=f"put the section into {RESULTS_PATH.name}")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    results: dict[str, dict[str, list[float]]] = {}
    # One process per database: the ORM keeps per-model state from its first initialisation.
    with (
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool,
        tempfile.TemporaryDirectory(prefix="wenming-bench-token-") as tmp,
    ):
        sqlite_url = f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
        results["SQLite"] = pool.submit(run, sqlite_url, args.people, args.rounds, args.seed).result()
    if not args.no_postgres:
        db = f"wenming_bench_token_{secrets.token_hex(4)}"
        url = urllib.parse.urlunsplit(urllib.parse.urlsplit(args.postgres)._replace(path=f"/{db}"))
        asyncio.run(admin_sql(args.postgres, f'CREATE DATABASE "{db}"'))
        try:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                results["PostgreSQL"] = pool.submit(run, url, args.people, args.rounds, args.seed).result()
        finally:
            asyncio.run(admin_sql(args.postgres, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    section = render(args, results, load)
    print(section)
    if args.write:
        write_results(section, TITLE)


if __name__ == "__main__":
    main()
