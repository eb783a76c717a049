"""The Redis side of ``GET /leaderboard`` in one process: four calls in sequence against the one-script read.

Run from the repository root::

    python -m bench.board_read [--redis redis://127.0.0.1:6379/7] [--members 100000] [--rounds 6]

Fills one board (``wenming:rank:all``, scores as ``encode_score`` makes them, points Pareto-distributed) in a
numbered Redis database other than 0 (flushed before and after), checks that both reads give the same
``Board`` for 50 callers, then times 500 reads with rotating callers of each, alternating, ``--rounds`` times:
the read as it was (EXISTS, ZREVRANGE 50, ZSCORE, ZCOUNT, each awaited in turn) and ``Rankings._redis_board``
(one EVALSHA). Prints the median wall and client CPU time per read.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

from redis.asyncio import Redis

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.rankings import ID_SPAN, PREFIX, WATERMARK, Board, Rankings, _ranked, encode_score, points_of


async def four_calls(redis: Redis, key: str, limit: int, me: int) -> Board | None:
    """The read before: EXISTS (the warm check), ZREVRANGE, ZSCORE, ZCOUNT in sequence."""
    if not await redis.exists(WATERMARK):
        return None
    items = _ranked([(int(m), points_of(s)) for m, s in await redis.zrevrange(key, 0, limit - 1, withscores=True)])
    mine = None
    score = await redis.zscore(key, str(me))
    if score is not None:
        points = points_of(score)
        mine = (await redis.zcount(key, (points + 1) * ID_SPAN, "+inf") + 1, points)
    return Board(items, mine)


async def run(args: argparse.Namespace) -> None:
    redis = Redis.from_url(args.redis)
    await redis.flushdb()
    try:
        rng = random.Random(1)
        key = PREFIX + "all"
        members = [(str(u), encode_score(int(rng.paretovariate(2) * 20), u)) for u in range(1, args.members + 1)]
        for i in range(0, len(members), 5000):
            await redis.zadd(key, dict(members[i : i + 5000]))
        await redis.set(WATERMARK, 1)
        rankings = Rankings(redis)
        callers = [rng.randint(1, args.members) for _ in range(500)]
        for me in callers[:50]:
            assert await four_calls(redis, key, 50, me) == await rankings._redis_board(key, 50, me)
        reads = {
            "four calls in sequence": lambda me: four_calls(redis, key, 50, me),
            "one script (`Rankings._redis_board`)": lambda me: rankings._redis_board(key, 50, me),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in reads}
        for _ in range(args.rounds):
            for name, read in reads.items():
                cpu, wall = time.process_time(), time.perf_counter()
                for me in callers:
                    await read(me)
                n = len(callers)
                times[name].append(((time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6))
        print("| board read | wall per read | client CPU per read |\n|---|---:|---:|")
        for name, values in times.items():
            wall_us = statistics.median(w for w, _ in values)
            cpu_us = statistics.median(c for _, c in values)
            print(f"| {name} | {wall_us:.0f} µs | {cpu_us:.0f} µs |")
    finally:
        await redis.flushdb()
        await redis.aclose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    db_index = args.redis.rstrip("/").rpartition("/")[2]
    if not db_index.isdigit() or db_index == "0":
        parser.error("--redis must name a Redis database other than 0 (it is flushed)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
