"""Quiz load: 200 people start a 网络普法 quiz at once, answer its 10 questions and finish.

Answers "does the quiz hold when a whole county sits it at the same moment (a 宪法宣传周 push message)?".
One run starts a fake WeChat on loopback, creates a fresh PostgreSQL database (``--postgres`` is only where
it connects to CREATE and DROP it), runs ``wenming migrate`` and ``wenming serve`` (``--workers``, default 1)
with Redis (``--redis``, a numbered database other than 0: flushed before and after), every
``WENMING_LIMIT_*`` rate limit raised out of the way. Through the API it then imports a county, makes one
staff member, publishes a ``law_outreach`` campaign, creates the demo's bank (``server.demo_quiz.QUESTIONS``,
one ``POST /questions`` each) and a task without quota or check-in whose quiz draws 10 of them, and signs
in ``--users`` (200) volunteers through the fake WeChat, each enrolling in the task.

Then all clients (one aiohttp session, connector limit 200) at once, each as its own person:
``POST /tasks/{id}/quiz/attempts``, ``PUT /quiz-attempts/{id}/answers/{qid}`` for each of the 10 questions
(a random choice of the right shape), ``POST /quiz-attempts/{id}/finish``. It reports answers a second over
the whole wall time, p50/p99/max per route kind, the 5xx answers (must be 0) and other non-2xx by status, and
checks the task's ``/quiz/stats`` count every attempt. Exit status 1 on any 5xx, connection error or
failed check; 2 when the quiz routes are not in this tree ("quiz API not present").

    .venv/bin/python -m bench.quiz_load --write    # about a minute on a 2-core VM
    .venv/bin/python -m bench.quiz_load --self-check   # 5 people, prints only
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.common import API, Service, _git, free_port, log, run_cli, service_env, write_results
from server.config import Config
from server.demo_quiz import QUESTIONS
from server.kernel.errors import NotFound
from server.wechat.fake import FakeWeChat

TITLE = "## Quiz load: {n} people taking a 网络普法 quiz at once"
STAFF_OPENID = "o-bench-quiz-staff"
QUIZ = {"count": 10, "tags": None, "types": None, "time_limit_s": 600, "attempts_per_day": 3, "pass_score": 60}
KINDS = ("start", "answer", "finish")
NOT_PRESENT = 2


class QuizApiMissing(Exception):
    """A quiz route answered like a route that does not exist."""


def raised_limits() -> dict[str, str]:
    """``WENMING_LIMIT_<NAME>=100000/minute`` for every rate limit the service reads, the quiz's included."""
    names = [f.name for f in dataclasses.fields(Config) if f.name.startswith("limit_")]
    return {f"WENMING_{name.upper()}": "100000/minute" for name in names}


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def percentile(values: list[float], p: float) -> float:
    """Nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


@dataclasses.dataclass
class Samples:
    """Per route kind: (status, seconds) of every request; status 0 is a connection error."""

    by_kind: dict[str, list[tuple[int, float]]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    finished: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def add(self, kind: str, status: int, seconds: float) -> None:
        self.by_kind[kind].append((status, seconds))

    def count(self, predicate: Any) -> int:
        return sum(predicate(status) for rows in self.by_kind.values() for status, _ in rows)


class Client:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session, self.base_url = session, base_url

    async def request(self, method: str, path: str, token: str | None, body: object = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(method, self.base_url + API + path, json=body, headers=headers) as resp:
            answer = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, answer

    async def call(self, method: str, path: str, token: str | None, body: object = None, status: int = 200) -> Any:
        got, answer = await self.request(method, path, token, body)
        if got != status:
            raise SystemExit(f"{method} {path} answered {got}, not {status}: {answer}")
        return answer

    async def sign_in(self, wechat: FakeWeChat, openid: str | None = None) -> str:
        answer = await self.call("POST", "/auth/wechat-login", None, {"code": wechat.issue_code(openid)})
        return str(answer["token"])


def route_missing(status: int, answer: Any) -> bool:
    """The answer of a path no route serves: a 404 with the framework's plain not-found error."""
    error = answer.get("error", {}) if isinstance(answer, dict) else {}
    return status == 404 and error.get("code") == NotFound.code and error.get("message") == NotFound.message


@dataclasses.dataclass
class Seeded:
    staff: str
    task_id: str
    tokens: list[str]
    questions: int


async def seed(client: Client, wechat: FakeWeChat, env: dict[str, str], tmp: Path, users: int) -> Seeded:
    orgs = tmp / "orgs.csv"
    orgs.write_text("名称,类型,上级\n祁东县,县,\n洪桥街道,乡镇,祁东县\n", encoding="utf-8")
    await run_cli("org", "import", str(orgs), env=env)
    await client.sign_in(wechat, STAFF_OPENID)
    await run_cli("user", "grant", "--openid", STAFF_OPENID, "--role", "staff", "--org", "1", env=env)
    staff = await client.sign_in(wechat, STAFF_OPENID)
    body = {
        "title": "网络普法进万家·宪法宣传周",
        "kind": "law_outreach",
        "description": "学宪法、讲宪法，了解网络安全法和个人信息保护法",
        "org_id": "1",
        "starts_at": iso(-timedelta(days=1)),
        "ends_at": iso(timedelta(days=31)),
    }
    campaign = await client.call("POST", "/campaigns", staff, body, status=201)
    await client.call("POST", f"/campaigns/{campaign['id']}/publish", staff)
    task = {
        "title": "宪法与网络法律知识答题",
        "description": "随机抽取10道题，限时10分钟",
        "starts_at": iso(-timedelta(hours=1)),
        "ends_at": iso(timedelta(days=30)),
        "points": 0,
        "service_hours": "0",
        "min_photos": 1,
        "max_photos": 3,
    }
    plain = await client.call("POST", f"/campaigns/{campaign['id']}/tasks", staff, task, status=201)
    first = await client.sign_in(wechat)
    if route_missing(*await client.request("POST", f"/tasks/{plain['id']}/quiz/attempts", first)):
        raise QuizApiMissing("POST /tasks/{id}/quiz/attempts")
    if route_missing(*await client.request("POST", "/questions", staff, {})):
        raise QuizApiMissing("POST /questions")
    for question in QUESTIONS:
        await client.call("POST", "/questions", staff, question.as_dict(), status=201)
    quiz_task = {**task, "points": 5, "quiz": {**QUIZ, "points": 5}}
    created = await client.call("POST", f"/campaigns/{campaign['id']}/tasks", staff, quiz_task, status=201)
    task_id = str(created["id"])
    tokens = [first]
    gate = asyncio.Semaphore(20)

    async def volunteer(token: str | None) -> None:
        async with gate:
            token = token or await client.sign_in(wechat)
            await client.call("POST", f"/tasks/{task_id}/enroll", token, status=201)
            if token != first:
                tokens.append(token)

    await asyncio.gather(volunteer(first), *(volunteer(None) for _ in range(users - 1)))
    return Seeded(staff, task_id, tokens, len(QUESTIONS))


def choice_for(question: dict[str, Any], rng: random.Random) -> bool | list[int]:
    """A random answer of the question's shape (indexes as shown)."""
    if question["type"] == "judge":
        return rng.random() < 0.5
    shown = range(len(question["options"]))
    if question["type"] == "single":
        return [rng.choice(shown)]
    return sorted(rng.sample(shown, rng.randint(1, len(shown))))


async def timed(samples: Samples, kind: str, call: Any) -> tuple[int, Any]:
    started = time.perf_counter()
    try:
        status, answer = await call
    except (aiohttp.ClientError, TimeoutError) as exc:
        samples.add(kind, 0, time.perf_counter() - started)
        log(f"{kind}: {type(exc).__name__}: {exc}")
        return 0, None
    samples.add(kind, status, time.perf_counter() - started)
    return status, answer


async def take_quiz(client: Client, token: str, task_id: str, rng: random.Random, samples: Samples) -> None:
    """One person: start, answer every question, finish."""
    status, attempt = await timed(samples, "start", client.request("POST", f"/tasks/{task_id}/quiz/attempts", token))
    if status != 201:
        return
    for question in attempt["questions"]:
        path = f"/quiz-attempts/{attempt['id']}/answers/{question['id']}"
        body = {"choice": choice_for(question, rng)}
        await timed(samples, "answer", client.request("PUT", path, token, body))
    status, result = await timed(
        samples, "finish", client.request("POST", f"/quiz-attempts/{attempt['id']}/finish", token)
    )
    if status == 200:
        samples.finished.append(result)


async def load(client: Client, seeded: Seeded, seed: int) -> tuple[Samples, float]:
    samples = Samples()
    rngs = [random.Random(seed * 100_003 + i) for i in range(len(seeded.tokens))]
    started = time.perf_counter()
    await asyncio.gather(
        *(
            take_quiz(client, token, seeded.task_id, rng, samples)
            for token, rng in zip(seeded.tokens, rngs, strict=True)
        )
    )
    return samples, time.perf_counter() - started


def checks(samples: Samples, stats: dict[str, Any], users: int, count: int) -> list[str]:
    """What went wrong, if anything."""
    failed = []
    if errors := samples.count(lambda s: s >= 500):
        failed.append(f"{errors} answers were 5xx")
    if lost := samples.count(lambda s: s == 0):
        failed.append(f"{lost} requests failed to connect or timed out")
    if len(samples.finished) != users:
        failed.append(f"{len(samples.finished)} of {users} attempts finished")
    if bad := [r for r in samples.finished if len(r.get("results", [])) != count]:
        failed.append(f"{len(bad)} finished attempts do not have {count} results")
    if stats.get("attempts") != users or stats.get("people") != users:
        failed.append(f"/quiz/stats counts {stats.get('attempts')} attempts of {stats.get('people')} people")
    return failed


def render(args: argparse.Namespace, samples: Samples, wall: float, seeded: Seeded, failed: list[str]) -> str:
    answers_ok = sum(200 <= s < 300 for s, _ in samples.by_kind["answer"])
    rows = ["| route | requests | 2xx | p50 | p99 | max | other answers |", "|---|---:|---:|---:|---:|---:|---|"]
    paths = {
        "start": "`POST /tasks/{id}/quiz/attempts`",
        "answer": "`PUT /quiz-attempts/{id}/answers/{qid}`",
        "finish": "`POST /quiz-attempts/{id}/finish`",
    }
    for kind in KINDS:
        taken = samples.by_kind[kind]
        ms = [seconds * 1000 for _, seconds in taken]
        other = Counter(s for s, _ in taken if not 200 <= s < 300)
        shown = ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(other.items())) or "none"
        ok = len(taken) - sum(other.values())
        rows.append(
            f"| {paths[kind]} | {len(taken)} | {ok} | {percentile(ms, 50):.0f} ms | {percentile(ms, 99):.0f} ms"
            f" | {max(ms, default=0):.0f} ms | {shown} |"
        )
    passed = sum(bool(r.get("passed")) for r in samples.finished)
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    redis_db = urllib.parse.urlsplit(args.redis).path.strip("/")
    return "\n".join(
        [
            TITLE.format(n=args.users),
            "",
            f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} (UTC)",
            f"- Machine: `{uname}`; {os.cpu_count()} logical CPUs; Python {platform.python_version()}",
            f"- Code: commit `{_git('rev-parse', '--short', 'HEAD') or 'unknown'}`"
            + (" (with uncommitted changes)" if _git("status", "--porcelain") else ""),
            f"- Command: `{command(args)}`",
            f"- Setup: `wenming serve --workers {args.workers}` on a fresh PostgreSQL database with Redis (db"
            f" {redis_db}), rate limits raised; a bank of {seeded.questions} questions (`server.demo_quiz`), one"
            f" task without quota or check-in drawing {QUIZ['count']} of them; {args.users} enrolled volunteers,"
            f" each its own client in one aiohttp session (connector limit {args.connections}), all started at"
            " once: start, answer every question with a random choice, finish. Client and service share the"
            " machine.",
            "",
            *rows,
            "",
            f"**{answers_ok / wall:.0f} answers/s** over the whole run ({answers_ok} answers accepted in"
            f" {wall:.2f} s wall, start to last finish); {len(samples.finished)} attempts finished, {passed}"
            f" passed; 5xx answers: {samples.count(lambda s: s >= 500)}.",
            *(["", "**FAILURES:** " + "; ".join(failed)] if failed else []),
            "",
        ]
    )


def command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python -m bench.quiz_load"]
    if args.self_check:
        parts.append("--self-check")
    elif args.users != 200:
        parts.append(f"--users {args.users}")
    if args.workers != 1:
        parts.append(f"--workers {args.workers}")
    if args.write:
        parts.append("--write")
    return " ".join(parts)


async def admin_sql(admin_dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> tuple[str, list[str]]:
    import redis

    r = redis.Redis.from_url(args.redis)
    r.flushdb()
    db = f"wenming_bench_quiz_{uuid.uuid4().hex[:8]}"
    db_url = urllib.parse.urlsplit(args.postgres)._replace(path=f"/{db}").geturl()
    wechat = FakeWeChat()
    await wechat.start()
    tmp = Path(tempfile.mkdtemp(prefix="wm-bench-quiz-"))
    (tmp / "media").mkdir()
    port = free_port()
    env = service_env(
        db_url,
        tmp / "media",
        wechat,
        WENMING_REDIS_URL=args.redis,
        WENMING_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        **raised_limits(),
    )
    service = Service(env, port, tmp / "service.log", workers=args.workers)
    await admin_sql(args.postgres, f'CREATE DATABASE "{db}"')
    try:
        log(f"migrating {db} ...")
        await run_cli("migrate", env=env)
        await service.start()
        connector = aiohttp.TCPConnector(limit=args.connections)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            client = Client(session, service.base_url)
            log(f"seeding a bank of {len(QUESTIONS)} questions and {args.users} volunteers ...")
            seeded = await seed(client, wechat, env, tmp, args.users)
            log(f"{args.users} people take the quiz at once ...")
            samples, wall = await load(client, seeded, args.seed)
            stats = await client.call("GET", f"/tasks/{seeded.task_id}/quiz/stats", seeded.staff)
        failed = checks(samples, stats, args.users, QUIZ["count"])
        if errors := [line for line in service.log_tail(2000).splitlines() if " ERROR " in line]:
            failed.append(f"{len(errors)} ERROR lines in the service's log, first: {errors[0][:300]}")
        return render(args, samples, wall, seeded, failed), failed
    finally:
        await service.stop()
        await wechat.stop()
        with contextlib.suppress(Exception):
            await admin_sql(args.postgres, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        r.flushdb()
        shutil.rmtree(tmp, ignore_errors=True)
        log(f"dropped {db}, flushed {args.redis}")


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200, help="people taking the quiz at once (default 200)")
    parser.add_argument("--connections", type=int, default=200, help="aiohttp connector limit (default 200)")
    parser.add_argument("--workers", type=int, default=1, help="`wenming serve --workers` (default 1)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random answers (default 7)")
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432/test",
        help="a database to connect to for CREATE/DROP DATABASE (default postgres://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="Redis database to use and flush (db 9)")
    parser.add_argument("--write", action="store_true", help="also put the section into bench/RESULTS.md")
    parser.add_argument(
        "--self-check", action="store_true", help="5 people, print only: does the quiz API take the load path?"
    )
    args = parser.parse_args(argv)
    if urllib.parse.urlsplit(args.redis).path.strip("/") in ("", "0"):
        parser.error("--redis must name a Redis database other than 0 (it is flushed), e.g. redis://host:6379/9")
    if args.self_check:
        args.users, args.write = 5, False
    if args.users < 1:
        parser.error("--users must be at least 1")
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        section, failed = asyncio.run(run(args))
    except QuizApiMissing as missing:
        print(f"quiz API not present ({missing} is not a route of this tree)")
        return NOT_PRESENT
    print(section)
    if failed:
        log("FAILURES: " + "; ".join(failed))
    if args.write:
        write_results(section, TITLE.format(n=args.users))
        log("written to bench/RESULTS.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
