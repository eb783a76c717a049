"""Abuse benchmark: trickling uploads and copies piling up on one Idempotency-Key, before and after a change.

Run from the repository root (either form works)::

    python -m bench.abuse [--before REF] [--write]
    python bench/abuse.py [--before REF] [--write]

One run measures two versions of the service side by side: *before*, the
tree of ``--before`` (a commit, extracted with ``git archive`` into a
temporary folder) and *after*, this working tree. Each version runs as
``wenming serve`` (one worker, no Redis) from its own tree, on its own fresh
PostgreSQL database (``--postgres`` is only where it connects to CREATE and
DROP it), with a fake WeChat on loopback, like the end-to-end tests.

A. Trickling uploads: ``--people`` people each open ``--uploads`` uploads of
   a ``--body-mib`` body, send ``--upfront-mib`` of it at once and then one
   byte every ``--drip`` seconds (never idle long enough for an idle timeout).
   For ``--observe`` seconds it samples the bytes under ``.incoming/`` and
   notes when the service answers and closes each connection. The service
   runs with ``WENMING_UPLOAD_DEADLINE=--deadline`` (the before tree does not
   read it).
B. One Idempotency-Key in flight: a person starts an upload with key K and
   holds its body back; then ``N`` copies of an upload with K arrive at once
   (``--copies``, default 50 and 200: under and over the default upload
   limit of 60/minute, each with its own person). The statements the service
   sends to PostgreSQL are counted by a small proxy between the two (Execute
   and simple Query messages), from the first copy sent to the last answer.

The Markdown section goes to stdout (progress to stderr); ``--write`` puts it
into ``bench/RESULTS.md``, replacing an earlier run's section.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    API,
    REPO_ROOT,
    RESULTS_PATH,
    Service,
    _git,
    free_port,
    run_cli,
    service_env,
    unpack,
    write_results,
)
from bench.ingest import _command, machine
from server.wechat.fake import FakeWeChat

SECTION_TITLE = "## Abuse: trickling uploads and copies on one Idempotency-Key (before/after)"
MIB = 1024 * 1024
BOUNDARY = "benchabuseboundary"


# --- a proxy that counts the statements the service sends to PostgreSQL -----------------------------------------

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


class StatementCounter:
    """TCP proxy to PostgreSQL counting the statements its clients send.

    ``queries``: Execute messages (every ORM statement, asyncpg's extended protocol);
    ``simple``: simple-protocol Query messages (BEGIN/COMMIT, and the reset asyncpg's pool sends
    each time a connection goes back to it). It answers an SSLRequest itself with 'N' (no TLS),
    so the stream stays readable."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.queries = 0
        self.simple = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        back = asyncio.create_task(self._pipe(up_reader, writer))
        buf, started = bytearray(), False
        try:
            while data := await reader.read(65536):
                buf += data
                while True:
                    if not started:
                        if len(buf) < 8 or len(buf) < int.from_bytes(buf[:4], "big"):
                            break
                        size, code = int.from_bytes(buf[:4], "big"), int.from_bytes(buf[4:8], "big")
                        message = bytes(buf[:size])
                        del buf[:size]
                        if code in (SSL_REQUEST, GSSENC_REQUEST):
                            writer.write(b"N")
                            continue
                        started = True
                        up_writer.write(message)
                        continue
                    if len(buf) < 5 or len(buf) < 1 + int.from_bytes(buf[1:5], "big"):
                        break
                    size = 1 + int.from_bytes(buf[1:5], "big")
                    if buf[0] == ord("E"):
                        self.queries += 1
                    elif buf[0] == ord("Q"):
                        self.simple += 1
                    up_writer.write(bytes(buf[:size]))
                    del buf[:size]
                await up_writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            up_writer.close()
            back.cancel()
            writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


# --- a version of the service -------------------------------------------------------------------------------------


@dataclass
class Version:
    label: str  # before | after
    tree: Path
    described: str


async def sign_in(base_url: str, wechat: FakeWeChat, openid: str) -> str:
    async with aiohttp.ClientSession() as session:
        code = wechat.issue_code(openid)
        async with session.post(f"{base_url}{API}/auth/wechat-login", json={"code": code}) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise SystemExit(f"sign-in answered {resp.status}: {body}")
            return str(body["token"])


def multipart_head(filename: str = "a.jpg") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()


def multipart_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def request_head(base_url: str, token: str, length: int, key: str | None = None) -> bytes:
    host = base_url.split("//", 1)[1]
    extra = f"Idempotency-Key: {key}\r\n" if key else ""
    return (
        f"POST {API}/media HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n{extra}"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


# --- A. trickling uploads -----------------------------------------------------------------------------------------


@dataclass
class Trickle:
    opened: float
    closed: float | None = None  # when the service closed the connection (EOF or reset)
    status: int = 0  # the answer's status, 0 for none


@dataclass
class TrickleResult:
    trickles: list[Trickle]
    samples: list[tuple[float, int]]  # (seconds since start, bytes under .incoming/)
    observe: float


async def trickle_one(base_url: str, token: str, args: argparse.Namespace, start: float) -> Trickle:
    head, tail = multipart_head(), multipart_tail()
    file_size = int(args.body_mib * MIB)
    length = len(head) + file_size + len(tail)
    host, port = base_url.split("//", 1)[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    trickle = Trickle(opened=time.monotonic() - start)
    upfront = head + b"\xff\xd8\xff\xe0" + b"\0" * (int(args.upfront_mib * MIB) - 4)

    async def send() -> None:
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(request_head(base_url, token, length) + upfront)
            await writer.drain()
            while True:
                await asyncio.sleep(args.drip)
                writer.write(b"\0")
                await writer.drain()

    sender = asyncio.create_task(send())
    answer = b""
    try:
        async with asyncio.timeout(args.observe - (time.monotonic() - start)):
            while chunk := await reader.read(65536):
                answer += chunk
    except (TimeoutError, ConnectionError, OSError) as exc:
        if not isinstance(exc, TimeoutError):
            trickle.closed = time.monotonic() - start
    else:
        trickle.closed = time.monotonic() - start
    finally:
        sender.cancel()
        writer.close()
    if match := re.match(rb"HTTP/1\.1 (\d{3})", answer):
        trickle.status = int(match.group(1))
    return trickle


def incoming_bytes(media_root: Path) -> int:
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(media_root / ".incoming"):
            with contextlib.suppress(FileNotFoundError):
                total += entry.stat().st_size
    return total


async def trickling_uploads(
    svc: Service, media_root: Path, wechat: FakeWeChat, args: argparse.Namespace, tag: str
) -> TrickleResult:
    tokens = [await sign_in(svc.base_url, wechat, f"o-abuse-{tag}-trickler-{i}") for i in range(args.people)]
    start = time.monotonic()
    samples: list[tuple[float, int]] = []

    async def sample() -> None:
        while True:
            samples.append((time.monotonic() - start, incoming_bytes(media_root)))
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    trickles = await asyncio.gather(
        *(trickle_one(svc.base_url, token, args, start) for token in tokens for _ in range(args.uploads))
    )
    sampler.cancel()
    samples.append((time.monotonic() - start, incoming_bytes(media_root)))
    return TrickleResult(list(trickles), samples, args.observe)


# --- B. copies on one key in flight -------------------------------------------------------------------------------


@dataclass
class PileUp:
    copies: int
    statuses: Counter[int] = field(default_factory=Counter)
    queries: int = 0
    simple: int = 0
    seconds: float = 0.0


async def pile_up(svc: Service, counter: StatementCounter, wechat: FakeWeChat, copies: int, tag: str) -> PileUp:
    token = await sign_in(svc.base_url, wechat, f"o-abuse-{tag}-copies-{copies}")
    key = uuid.uuid4().hex
    photo = b"\xff\xd8\xff\xe0" + b"\0" * 200_000
    body = multipart_head() + photo + multipart_tail()
    host, port = svc.base_url.split("//", 1)[1].split(":")
    # The first request: claims the key, then holds the rest of its body back.
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request_head(svc.base_url, token, len(body), key) + body[: len(body) // 2])
    await writer.drain()
    await asyncio.sleep(1.0)  # its claim is in the database

    result = PileUp(copies)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def copy() -> int:
            headers = {
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": key,
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            }
            try:
                async with session.post(f"{svc.base_url}{API}/media", data=body, headers=headers) as resp:
                    await resp.read()
                    return resp.status
            except (aiohttp.ClientError, TimeoutError):
                return 0

        queries, simple, started = counter.queries, counter.simple, time.monotonic()
        statuses = await asyncio.gather(*(copy() for _ in range(copies)))
        result.seconds = time.monotonic() - started
        result.queries, result.simple = counter.queries - queries, counter.simple - simple
    result.statuses.update(statuses)
    writer.close()
    with contextlib.suppress(Exception):
        await reader.read()
    return result


# --- one version ----------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    version: Version
    trickle: TrickleResult
    piles: list[PileUp]


async def create_database(admin_url: str) -> tuple[str, str]:
    name = f"wenming_bench_abuse_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def measure(version: Version, args: argparse.Namespace, wechat: FakeWeChat, tmp: Path) -> Measured:
    name, url = await create_database(args.postgres)
    pg_port = int(re.search(r":(\d+)/", url).group(1))  # type: ignore[union-attr]
    counter = StatementCounter(pg_port)
    await counter.start()
    counted_url = re.sub(r":\d+/", f":{counter.port}/", url)
    try:
        media_root = tmp / f"media-{version.label}"
        media_root.mkdir()
        base_env = service_env(
            counted_url,
            media_root,
            wechat,
            PYTHONPATH=str(version.tree),  # this tree's code, whatever the virtualenv's editable install points at
            WENMING_LOG_LEVEL="WARNING",
        )
        await run_cli("migrate", env=base_env, cwd=version.tree)
        log_path = tmp / f"service-{version.label}.log"

        print(f"[{version.label}] A: trickling uploads for {args.observe:.0f} s ...", file=sys.stderr)
        deadline_env = {**base_env, "WENMING_UPLOAD_DEADLINE": str(args.deadline)}
        svc = Service(deadline_env, free_port(), log_path, cwd=version.tree)
        await svc.start()
        try:
            trickle = await trickling_uploads(svc, media_root, wechat, args, version.label)
        finally:
            await svc.stop()

        svc = Service(base_env, free_port(), log_path, cwd=version.tree)
        await svc.start()
        piles = []
        try:
            for copies in args.copies:
                print(f"[{version.label}] B: {copies} copies on one key in flight ...", file=sys.stderr)
                piles.append(await pile_up(svc, counter, wechat, copies, version.label))
        finally:
            await svc.stop()
        return Measured(version, trickle, piles)
    finally:
        await counter.close()
        await drop_database(args.postgres, name)


# --- the report -----------------------------------------------------------------------------------------------------


def _mib(n: float) -> str:
    return f"{n / MIB:.0f} MiB"


def _open_time(t: Trickle, observe: float) -> float:
    return (t.closed if t.closed is not None else observe) - t.opened


def trickle_row(m: Measured) -> str:
    r = m.trickle
    answers = Counter(t.status for t in r.trickles)
    shown = ", ".join(f"{n} x {s or 'none'}" for s, n in sorted(answers.items()))
    peak = max(b for _, b in r.samples)
    held = sum((b1 + b0) / 2 * (t1 - t0) for (t0, b0), (t1, b1) in zip(r.samples, r.samples[1:], strict=False))
    nonzero = [t for t, b in r.samples if b > 0]
    last = r.samples[-1]
    emptied = "never emptied" if last[1] > 0 else (f"{nonzero[-1]:.1f} s" if nonzero else "never used")
    times = sorted(_open_time(t, r.observe) for t in r.trickles)
    still_open = sum(1 for t in r.trickles if t.closed is None)
    median = times[len(times) // 2]
    return (
        f"| {m.version.label} | {len(r.trickles)} | {shown} | {_mib(peak)} | {held / MIB:,.0f} MiB·s | {emptied} | "
        f"{median:.1f} s | {times[-1]:.1f} s | {still_open} |"
    )


def pile_row(m: Measured, p: PileUp) -> str:
    shown = ", ".join(f"{n} x {s or 'no answer'}" for s, n in sorted(p.statuses.items()))
    return (
        f"| {m.version.label} | {p.copies} | {shown} | {p.queries:,} | {p.queries / p.copies:.1f} | "
        f"{p.simple:,} | {p.seconds:.1f} s |"
    )


def render(results: list[Measured], args: argparse.Namespace) -> str:
    lines = [
        SECTION_TITLE,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d} (UTC)",
        f"- Machine: {machine()}",
        f"- Command: {_command()}",
        *(f"- {m.version.label.capitalize()}: {m.version.described}" for m in results),
        "- Service: `wenming serve --workers 1` from each version's tree, PostgreSQL (a fresh database each), no "
        "Redis, default limits except sign-in (upload limit 60/minute per person); the statements it sends to "
        "PostgreSQL are counted by a proxy between the two.",
        "",
        f"**A. Trickling uploads.** {args.people} people x {args.uploads} uploads, each announcing a "
        f"{args.body_mib:g} MiB body, sending {args.upfront_mib:g} MiB at once and then one byte every "
        f"{args.drip:g} s; observed for {args.observe:g} s (a connection still open then counts as open for "
        f"{args.observe:g} s). `WENMING_UPLOAD_DEADLINE={args.deadline:g}` for a short run (default 120); the "
        "before tree does not read it.",
        "",
        "| code | uploads | answers | peak in .incoming/ | held (MiB x s) | .incoming/ empty after | "
        "connection open, median | max | still open at the end |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
        *(trickle_row(m) for m in results),
        "",
        "**B. Copies on one Idempotency-Key in flight.** A first upload with key K holds its body back; then N "
        "copies with K (200 kB bodies) arrive at once, from the same person. Counted from the first copy sent "
        "to the last answer: queries (Execute messages: every ORM statement) and simple-protocol statements "
        "(BEGIN/COMMIT and the reset asyncpg's pool sends whenever a connection goes back to it, about one per "
        "query here: each is a round trip too). The copies wait up to 10 s for the first answer, then 409.",
        "",
        "| code | copies | answers | queries | queries per copy | simple statements | until the last answer |",
        "|---|---:|---|---:|---:|---:|---:|",
        *(pile_row(m, p) for m in results for p in m.piles),
        "",
        "Reading B: where the total does not grow with N, the database was the limit (the copies' reads queue "
        "for the ORM's connection pool), so for the whole wait PostgreSQL answered nothing but them; what a copy "
        "costs is then the per-copy figure at the smaller N. Answers 429 are copies refused by the upload rate "
        "limit before they wait.",
        "",
    ]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------------------------


def after_described() -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [p for p in _git("status", "--porcelain").splitlines() if not p[3:].startswith("bench/")]
    return f"this working tree, commit `{commit}`" + (" with uncommitted changes" if changed else "")


async def run(args: argparse.Namespace) -> list[Measured]:
    wechat = FakeWeChat()
    await wechat.start()
    try:
        with tempfile.TemporaryDirectory(prefix="wenming-bench-abuse-") as tmp_name:
            tmp = Path(tmp_name)
            before_tree = tmp / "before-tree"
            commit = unpack(args.before, before_tree)
            versions = [
                Version("before", before_tree, f"commit `{commit}` (`--before {args.before}`)"),
                Version("after", REPO_ROOT, after_described()),
            ]
            return [await measure(v, args, wechat, tmp) for v in versions]
    finally:
        await wechat.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="87ffe79", help="the commit to compare with (default 87ffe79)")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--people", type=int, default=2)
    parser.add_argument("--uploads", type=int, default=10, help="trickling uploads per person")
    parser.add_argument("--body-mib", type=float, default=20)
    parser.add_argument("--upfront-mib", type=float, default=4)
    parser.add_argument("--drip", type=float, default=2.0, help="seconds between two trickled bytes")
    parser.add_argument("--observe", type=float, default=25.0)
    parser.add_argument("--deadline", type=float, default=10.0)
    parser.add_argument("--copies", type=lambda s: [int(x) for x in s.split(",")], default=[50, 200])
    parser.add_argument("--write", action="store_true", help=f"put the section into {RESULTS_PATH.name}")
    args = parser.parse_args(argv)

    results = asyncio.run(run(args))
    section = render(results, args)
    print(section)
    if args.write:
        write_results(section, SECTION_TITLE)
        print(f"written to {RESULTS_PATH.relative_to(REPO_ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
