"""The leaderboard's slowest step, before and after: loading the 50 people of a page.

The leaderboard profile (see "Leaderboard" in RESULTS.md) put a third of each
request's worker time in one ORM query: the page's 50 people with their orgs as
Tortoise models. The handler now reads the same fields as plain values
(``models.users.profiles``). This runs both, interleaved, on the same random
pages of a fresh PostgreSQL database, and reports the time per page.

    python -m bench.people [--users 10000] [--rounds 400] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
from tortoise import Tortoise

from models import MODEL_MODULES
from models.orgs import Org
from models.users import User, profiles

PG = "postgres://postgres@127.0.0.1:5432"
RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Leaderboard page people: before and after"


async def fill(users: int) -> None:
    county = await Org.create(name="县", kind="county", path="")
    await Org.filter(id=county.id).update(path=f"/{county.id}/")
    villages = []
    for t in range(20):
        town = await Org.create(name=f"镇{t}", kind="township", parent_id=county.id, path="")
        await Org.filter(id=town.id).update(path=f"/{county.id}/{town.id}/")
        for v in range(20):
            village = await Org.create(name=f"村{t}-{v}", kind="village", parent_id=town.id, path="")
            await Org.filter(id=village.id).update(path=f"/{county.id}/{town.id}/{village.id}/")
            villages.append(village.id)
    rng = random.Random(7)
    batch = []
    for i in range(users):
        batch.append(
            User(openid=f"o-{i}", nickname=f"志愿者{i}", org_id=rng.choice(villages), points=rng.randint(0, 500))
        )
        if len(batch) == 1000:
            await User.bulk_create(batch)
            batch = []
    if batch:
        await User.bulk_create(batch)


async def as_models(ids: list[int]) -> int:
    """Before: what the handler did."""
    return len({u.id: u for u in await User.filter(id__in=ids).select_related("org")})


async def as_values(ids: list[int]) -> int:
    """A middle way measured on the way: the ORM reading plain values (no models built)."""
    fields = ("id", "nickname", "avatar_key", "leaderboard_visible", "deleted_at", "org_id", "org__name")
    return len(await User.filter(id__in=ids).values_list(*fields, "org__kind", "org__parent_id"))


async def as_sql(ids: list[int]) -> int:
    """After: models.users.profiles (one hand-written query)."""
    return len(await profiles(ids))


async def run(users: int, rounds: int) -> dict[str, list[float]]:
    name = f"wenming_bench_people_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG.replace("postgres://", "postgresql://") + "/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await Tortoise.init(db_url=f"{PG}/{name}", modules={"models": MODEL_MODULES})
        await Tortoise.generate_schemas()
        await fill(users)
        ids = await User.all().values_list("id", flat=True)
        rng = random.Random(11)
        pages = [rng.sample(ids, 50) for _ in range(rounds)]
        variants = (("ORM models (before)", as_models), ("ORM values", as_values), ("SQL (after)", as_sql))
        timings: dict[str, list[float]] = {label: [] for label, _ in variants}
        for warm in pages[:20]:  # warm-up: connections, query plans
            for _, func in variants:
                await func(warm)
        for page in pages:
            for label, func in variants:
                started = time.perf_counter()
                assert await func(page) == 50
                timings[label].append((time.perf_counter() - started) * 1000)
        await Tortoise.close_connections()
        return timings
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def section(timings: dict[str, list[float]], users: int, rounds: int, command: str) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    rows = []
    for label, values in timings.items():
        values = sorted(values)
        p90 = values[int(len(values) * 0.9)]
        rows.append(f"| {label} | {statistics.median(values):.2f} ms | {p90:.2f} ms |")
    before = statistics.median(timings["ORM models (before)"])
    after = statistics.median(timings["SQL (after)"])
    return "\n".join(
        [
            HEADING,
            "",
            f"- Date: {time.strftime('%Y-%m-%d')} (UTC); machine: {cpu}, Python {platform.python_version()}",
            f"- Code: commit `{commit}`; command: `{command}`",
            f"- Method: PostgreSQL database with {users:,} people in 421 orgs; {rounds} random pages of 50 ids, "
            "each loaded all three ways in turn (interleaved, same connection pool), after 20 warm-up pages.",
            "",
            "| page of 50 people | median | p90 |",
            "|---|---:|---:|",
            *rows,
            "",
            f"**After / before: {after / before:.2f}** (`models.users.profiles`, used by the leaderboard).",
            "",
        ]
    )


def write(text: str) -> None:
    current = RESULTS.read_text()
    if HEADING in current:
        start = current.index(HEADING)
        end = current.find("\n## ", start + 1)
        current = current[:start] + text + (current[end + 1 :] if end != -1 else "")
    else:
        current = current.rstrip() + "\n\n" + text
    RESULTS.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    timings = asyncio.run(run(args.users, args.rounds))
    text = section(timings, args.users, args.rounds, "python -m bench.people" + (" --write" if args.write else ""))
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
