"""Upload load benchmark: does the event loop keep answering ``/healthz`` while 20 people upload 12 MP photos?

Run from the repository root (either form works)::

    python -m bench.uploads [--clients 20] [--duration 15] [--write]
    python bench/uploads.py [--clients 20] [--duration 15] [--write]

One run starts the real service the way the end-to-end tests do: a fake
WeChat on loopback, a fresh SQLite file and media root in a temporary
directory, ``wenming migrate`` and then ``wenming serve`` as a child process
(one worker unless ``--workers`` and ``WENMING_REDIS_URL`` say otherwise). It
signs in one person per client through ``POST /api/v1/auth/wechat-login``,
generates the phone-like 12 MP JPEG of ``bench.ingest`` and then measures:

A. idle: a prober sends ``GET /healthz`` back to back on one connection for
   ``--baseline`` seconds;
B. loaded: the same prober while ``--clients`` clients, one connection each,
   upload the photo (``POST /api/v1/media``, multipart field ``file``) over and
   over for ``--duration`` seconds (or ``--uploads`` times each).

The prober is a separate process (``--probe URL``, driven over stdin), so the
upload clients' work never delays its requests on the client side; what it
measures is the service's answer time plus the CPU contention of the machine.
Each phase also records the CPU time the service's threads and image processes
(the worker's children, ``server/web/imagepool.py``), the prober and the upload
clients used (from ``/proc``), to tell a blocked loop from a busy CPU. The
section says the machine's load average before the run: other work on the
machine competes with the event loop for the cores.

The Markdown section goes to stdout (progress to stderr); ``--write`` also
puts it into ``bench/RESULTS.md``, replacing an earlier run's section.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import API, REPO_ROOT, RESULTS_PATH, Service, _git, free_port, run_cli, sqlite_env, write_results
from bench.ingest import _command, _count, describe_input, machine, make_photo
from server.wechat.fake import FakeWeChat

SECTION_TITLE = "## Uploads and /healthz (20 concurrent 12-MP uploads)"

UPLOAD_NAME = "IMG_20240518_102107.jpg"
STALL_BUDGET = 0.100  # a /healthz p99 over this under load counts as a stalled loop
CLIENT_TIMEOUT = 300  # seconds; generous, a queued upload may wait for the whole pool
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the service under test ---------------------------------------------------------------------------------------


def service_env(tmp: Path, port: int, wechat: FakeWeChat, redis_url: str | None) -> dict[str, str]:
    """The environment of tests/support.py's ``service_env``, with the limits out of the way."""
    env = sqlite_env(tmp, port, wechat, WENMING_LIMIT_UPLOAD="100000/minute")
    if redis_url:
        env["WENMING_REDIS_URL"] = redis_url
    return env


# --- CPU accounting from /proc ------------------------------------------------------------------------------------


def _stat_fields(path: Path) -> tuple[str, list[str]] | None:
    try:
        raw = path.read_text()
    except OSError:  # gone between listing and reading
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    return comm, raw[raw.rindex(")") + 2 :].split()


def thread_cpu(pgid: int) -> tuple[dict[tuple[int, int], float], dict[int, int]]:
    """CPU seconds (user + system) of every thread of every process in the group: {(pid, tid): seconds},
    and each of those processes' parent: {pid: ppid}."""
    cpu: dict[tuple[int, int], float] = {}
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        head = _stat_fields(entry / "stat")
        if head is None or int(head[1][2]) != pgid:  # field 5, pgrp
            continue
        pid = int(entry.name)
        parents[pid] = int(head[1][1])  # field 4, ppid
        with contextlib.suppress(OSError):
            for task in (entry / "task").iterdir():
                stat = _stat_fields(task / "stat")
                if stat is not None:
                    cpu[(pid, int(task.name))] = (int(stat[1][11]) + int(stat[1][12])) / CLK_TCK
    return cpu, parents


@dataclass
class CpuUse:
    """Cores kept busy during a phase (CPU seconds / wall seconds)."""

    service: float = 0.0
    service_loop: float = 0.0  # the main thread of the busiest worker process: the event loop
    service_threads: float = 0.0  # that process's other threads: asyncio.to_thread (saving files), SQLite
    service_images: float = 0.0  # that worker's child processes: the image pool
    prober: float = 0.0
    uploaders: float = 0.0  # this process: the upload clients (and the idle fake WeChat)


class CpuMeter:
    def __init__(self, service_pgid: int) -> None:
        self.pgid = service_pgid
        self.prober_cpu = 0.0  # reported by the prober itself: it has exited when the meter closes

    def __enter__(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._service, _ = thread_cpu(self.pgid)
        self._self = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        after, parents = thread_cpu(self.pgid)
        used = {key: seconds - self._service.get(key, 0.0) for key, seconds in after.items()}
        by_pid: Counter[int] = Counter()
        for (pid, _), seconds in used.items():
            by_pid[pid] += seconds
        # The workers are the children of `wenming serve` (the group's leader); their children, the image processes.
        workers = Counter({pid: seconds for pid, seconds in by_pid.items() if parents.get(pid) == self.pgid})
        worker = workers.most_common(1)[0][0] if workers else 0
        loop = used.get((worker, worker), 0.0)
        self.use = CpuUse(
            service=sum(used.values()) / wall,
            service_loop=loop / wall,
            service_threads=(by_pid[worker] - loop) / wall,
            service_images=sum(seconds for pid, seconds in by_pid.items() if parents.get(pid) == worker) / wall,
            prober=self.prober_cpu / wall,
            uploaders=(time.process_time() - self._self) / wall,
        )


# --- the /healthz prober (a child process) -------------------------------------------------------------------------


async def _probe(url: str) -> None:
    """Warm up, say ``ready``; on ``go``, GET ``url`` back to back until ``stop``; print [[start, seconds, ok]]."""
    stop = threading.Event()
    samples: list[tuple[float, float, bool]] = []
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def get() -> bool:
            try:
                async with session.get(url) as resp:
                    await resp.read()
                    return resp.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        for _ in range(50):
            await get()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "go"
        cpu_start = time.process_time()
        # A thread blocked in read() holds no GIL; the flag costs one attribute read per request.
        threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
        while not stop.is_set():
            start = time.perf_counter()
            ok = await get()
            samples.append((start, time.perf_counter() - start, ok))
    print(json.dumps({"cpu": time.process_time() - cpu_start, "samples": samples}), flush=True)


@dataclass
class Sample:
    start: float  # time.perf_counter(): CLOCK_MONOTONIC, the same clock in every process
    seconds: float
    ok: bool


class Prober:
    def __init__(self, url: str) -> None:
        self.url = url
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.uploads",
            "--probe",
            self.url,
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise SystemExit(f"the prober did not start: {line!r}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def _say(self, word: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(word.encode() + b"\n")
        await self.proc.stdin.drain()

    async def go(self) -> None:
        await self._say("go")

    async def stop(self) -> tuple[list[Sample], float]:
        """The samples, and the CPU seconds the prober used while taking them."""
        assert self.proc is not None and self.proc.stdout is not None
        await self._say("stop")
        out = json.loads(await asyncio.wait_for(self.proc.stdout.read(), 60))
        await self.proc.wait()
        return [Sample(*row) for row in out["samples"]], out["cpu"]

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


# --- the upload clients -------------------------------------------------------------------------------------------


@dataclass
class Upload:
    client: int
    start: float
    seconds: float
    status: int  # 0: no answer (connection error or timeout)
    detail: str = ""


async def sign_in(session: aiohttp.ClientSession, base_url: str, wechat: FakeWeChat, n: int) -> list[str]:
    async def one(i: int) -> str:
        code = wechat.issue_code(f"o-bench-uploader-{i:02d}")
        async with session.post(f"{base_url}{API}/auth/wechat-login", json={"code": code}) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise SystemExit(f"sign-in {i} answered {resp.status}: {body}")
            return str(body["token"])

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def upload_once(session: aiohttp.ClientSession, url: str, token: str, photo: bytes, client: int) -> Upload:
    form = aiohttp.FormData()  # a FormData is consumed by one request
    form.add_field("file", photo, filename=UPLOAD_NAME, content_type="image/jpeg")
    start = time.perf_counter()
    try:
        async with session.post(url, data=form, headers={"Authorization": f"Bearer {token}"}) as resp:
            body = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Upload(client, start, time.perf_counter() - start, 0, f"{type(exc).__name__}: {exc}")
    detail = "" if status == 201 else body[:300].decode(errors="replace")
    return Upload(client, start, time.perf_counter() - start, status, detail)


async def upload_load(
    base_url: str, tokens: list[str], photo: bytes, *, deadline: float | None, per_client: int | None
) -> list[Upload]:
    """Every client uploads on its own connection, one upload after another, until the deadline or its count."""
    url = f"{base_url}{API}/media"
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)

    async def client(i: int, token: str) -> list[Upload]:
        done: list[Upload] = []
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while (per_client is None or len(done) < per_client) and (
                deadline is None or time.perf_counter() < deadline
            ):
                done.append(await upload_once(session, url, token, photo, i))
        return done

    per = await asyncio.gather(*(client(i, token) for i, token in enumerate(tokens)))
    return [u for uploads in per for u in uploads]


# --- one run ------------------------------------------------------------------------------------------------------


@dataclass
class Phase:
    wall: float
    healthz: list[Sample]
    cpu: CpuUse


@dataclass
class Run:
    idle: Phase
    loaded: Phase
    uploads: list[Upload]
    upload_wall: float  # from the first upload's start to the last one's answer
    warmup: Upload
    server_errors: list[str] = field(default_factory=list)


async def measure(args: argparse.Namespace, photo: bytes, tmp: Path) -> Run:
    wechat = FakeWeChat()
    await wechat.start()  # on this loop: it only answers the sign-ins, before anything is timed
    port = free_port()
    env = service_env(tmp, port, wechat, args.redis_url)
    service = Service(env, port, tmp / "service.log", workers=args.workers)
    prober: Prober | None = None
    try:
        print("migrating a fresh SQLite database ...", file=sys.stderr)
        await run_cli("migrate", env=env)
        print(f"starting `wenming serve --workers {args.workers}` on port {port} ...", file=sys.stderr)
        await service.start()
        assert service.proc is not None
        async with aiohttp.ClientSession() as session:
            tokens = await sign_in(session, service.base_url, wechat, args.clients)
            print(f"signed in {len(tokens)} people", file=sys.stderr)
            warmup = await upload_once(session, f"{service.base_url}{API}/media", tokens[0], photo, 0)
        if warmup.status != 201:
            raise SystemExit(f"the warm-up upload answered {warmup.status}: {warmup.detail}\n{service.log_tail()}")
        print(f"warm-up upload: 201 in {warmup.seconds * 1000:.0f} ms", file=sys.stderr)
        await asyncio.sleep(1)  # let the warm-up's aftermath (SQLite, page cache) settle

        print(f"phase A: /healthz alone for {args.baseline:g} s ...", file=sys.stderr)
        prober = Prober(f"{service.base_url}/healthz")
        await prober.start()
        with CpuMeter(service.proc.pid) as meter:
            started = time.perf_counter()
            await prober.go()
            await asyncio.sleep(args.baseline)
            samples, meter.prober_cpu = await prober.stop()
            wall = time.perf_counter() - started
        idle = Phase(wall, samples, meter.use)

        what = f"{args.uploads} uploads each" if args.uploads else f"{args.duration:g} s"
        print(f"phase B: /healthz while {args.clients} clients upload ({what}) ...", file=sys.stderr)
        prober = Prober(f"{service.base_url}/healthz")
        await prober.start()
        with CpuMeter(service.proc.pid) as meter:
            started = time.perf_counter()
            await prober.go()
            deadline = None if args.uploads else started + args.duration
            load = asyncio.create_task(
                upload_load(service.base_url, tokens, photo, deadline=deadline, per_client=args.uploads)
            )
            if deadline is not None:
                # Probe only while every client still has an upload going; the tail drains with fewer.
                await asyncio.wait([load], timeout=deadline - time.perf_counter())
            else:
                await asyncio.wait([load])
            samples, meter.prober_cpu = await prober.stop()
            wall = time.perf_counter() - started
        uploads = await load
        loaded = Phase(wall, samples, meter.use)
        upload_wall = max(u.start + u.seconds for u in uploads) - min(u.start for u in uploads)
        errors = [line for line in service.log_tail(400).splitlines() if re.search(r"\b(ERROR|Traceback)\b", line)]
        return Run(idle, loaded, uploads, upload_wall, warmup, errors)
    finally:
        if prober is not None:
            await prober.kill()
        await service.stop()
        await wechat.stop()


# --- reporting ----------------------------------------------------------------------------------------------------


def _quantile(samples: list[float], q: float) -> float:
    """The q-quantile, inclusive method (p99 of 100 samples lies between the 99th and the 100th)."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def _loadavg(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


def _cores(x: float) -> str:
    return f"{x:.2f}"


def code_version() -> str:
    """The commit, and whether the working tree differs from it (changes under ``bench/`` do not touch the service)."""
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    changed = {
        *_git("diff", "--name-only", "HEAD").splitlines(),
        *_git("ls-files", "--others", "--exclude-standard").splitlines(),
    }
    outside = sorted(path for path in changed if path and not path.startswith("bench/"))
    if outside:
        shown = ", ".join(f"`{path}`" for path in outside[:5]) + (", ..." if len(outside) > 5 else "")
        dirty = f"{_count(len(outside), 'uncommitted path')} outside `bench/`"
        return f"commit `{commit}`, working tree dirty: {dirty} ({shown})"
    return f"commit `{commit}`" + (", uncommitted changes only under `bench/`" if changed else ", clean tree")


def healthz_row(label: str, phase: Phase) -> str:
    lat = [s.seconds for s in phase.healthz]
    failed = sum(not s.ok for s in phase.healthz)
    rate = len(lat) / phase.wall
    return (
        f"| {label} | {len(lat):,} ({rate:,.0f}/s) | {failed} | {_ms(_quantile(lat, 0.5))} | "
        f"{_ms(_quantile(lat, 0.9))} | {_ms(_quantile(lat, 0.99))} | {_ms(max(lat))} |"
    )


def arrival_quantile(phase: Phase, q: float, floor: float) -> float:
    """Estimated q-quantile of the wait of a request arriving at a uniformly random moment of the phase.

    The prober is always waiting on an answer, so a request arriving at a random moment finds the loop as
    the prober's request in flight found it: it waits for the rest of that answer, then is served in
    ``floor`` (the idle median). P(wait > w) = sum(max(0, d - w)) / sum(d) over the answer times d; solved
    for w by bisection. Unlike per-request percentiles of a back-to-back prober, this weights a stall by
    how long it lasts.
    """
    lat = [s.seconds for s in phase.healthz]
    total = sum(lat)
    low, high = 0.0, max(lat)
    for _ in range(60):
        mid = (low + high) / 2
        if sum(d - mid for d in lat if d > mid) / total > 1 - q:
            low = mid
        else:
            high = mid
    return high + floor


def arrival_row(label: str, phase: Phase, floor: float) -> str:
    cells = " | ".join(_ms(arrival_quantile(phase, q, floor)) for q in (0.5, 0.9, 0.99))
    return f"| {label} | (estimate) | | {cells} | {_ms(max(s.seconds for s in phase.healthz) + floor)} |"


def cpu_row(label: str, phase: Phase) -> str:
    c = phase.cpu
    return (
        f"| {label} | {_cores(c.service)} | {_cores(c.service_loop)} | {_cores(c.service_threads)} | "
        f"{_cores(c.service_images)} | {_cores(c.prober)} | {_cores(c.uploaders)} |"
    )


def slow_share(phase: Phase, threshold: float) -> tuple[float, float]:
    """Share of the requests slower than ``threshold``, and share of the phase's wall time spent inside them.

    A back-to-back prober sends one request per stall however long the stall, so per-request percentiles
    understate stalls; the time share is what a request arriving at a random moment runs into.
    """
    slow = [s.seconds for s in phase.healthz if s.seconds > threshold]
    return len(slow) / len(phase.healthz), sum(slow) / phase.wall


def render(run: Run, args: argparse.Namespace, input_text: str) -> str:
    statuses = Counter(u.status for u in run.uploads)
    ok = [u.seconds for u in run.uploads if u.status == 201]
    non_201 = len(run.uploads) - statuses[201]
    server_5xx = sum(n for status, n in statuses.items() if status >= 500)
    no_answer = statuses[0]
    all_lat = [u.seconds for u in run.uploads]
    idle_p99 = _quantile([s.seconds for s in run.idle.healthz], 0.99)
    loaded_lat = [s.seconds for s in run.loaded.healthz]
    loaded_p99 = _quantile(loaded_lat, 0.99)
    cores = os.cpu_count() or 0
    load_text = (
        f"{_count(args.uploads, 'upload')} per client"
        if args.uploads
        else f"new uploads started for {args.duration:g} s, the last ones then finish"
    )
    worker_text = f"{args.workers} worker" + ("s (Redis)" if args.workers > 1 else "")
    floor = _quantile([s.seconds for s in run.idle.healthz], 0.5)
    arrival_p99 = arrival_quantile(run.loaded, 0.99, floor)
    stalled_time = slow_share(run.loaded, STALL_BUDGET)[1]
    verdict = (
        f"**/healthz under load: p99 {_ms(loaded_p99)} per request (idle {_ms(idle_p99)}, ratio "
        f"{loaded_p99 / idle_p99:.1f}x), but "
        f"{_ms(arrival_p99)} for a request arriving at a random moment; max {_ms(max(loaded_lat))}; "
        f"{stalled_time:.0%} of the loaded phase was spent inside answers slower than {_ms(STALL_BUDGET)}: "
        + (
            "the event loop stalls.**"
            if max(loaded_p99, arrival_p99) > STALL_BUDGET
            else f"the event loop keeps within {_ms(STALL_BUDGET)}.**"
        )
    )
    status_text = ", ".join(f"{n} x {status or 'no answer'}" for status, n in sorted(statuses.items()))
    lines = [
        SECTION_TITLE,
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d} (UTC)",
        f"- Machine: {machine()}",
        f"- Load average (1, 5, 15 min) at the start: {_loadavg(args.loadavg)}; at the end: "
        f"{_loadavg(os.getloadavg())} (other work on the machine competes with the event loop for the cores)",
        f"- Code: {code_version()}",
        f"- Command: {_command()}",
        f"- Input: {input_text}",
        f"- Service: `wenming serve --workers {args.workers}` ({worker_text}) as a child process, "
        "`WENMING_ENV=test`, a fresh SQLite file and media root in a temporary directory, fake WeChat on loopback, "
        "upload and sign-in limits raised to 100000/minute; one warm-up upload before anything is timed.",
        f"- Method: one prober process sends `GET /healthz` back to back on one keep-alive connection, "
        f"first alone for {args.baseline:g} s (A), then while {args.clients} clients, one connection and one "
        f"signed-in person each, upload the photo one after another (`POST /api/v1/media`, multipart `file`; "
        f"{load_text}) (B). The prober stops when new uploads stop, so every B sample is under full load. "
        "Latency is the client's, `time.perf_counter()` around each request. The prober waits for each answer "
        "before sending the next, so it sends one request per stall however long: per-request percentiles "
        "understate stalls. The row *arriving at a random moment* estimates what a client that does not wait "
        "for the previous answer would see (weighting each answer by its duration, plus the idle median), and "
        "the second table gives the share of wall time spent inside slow answers. Upload throughput is 201 "
        "answers over the time from the first upload's start to the last one's answer; latencies cover every "
        "upload, from sending the request to reading the whole answer.",
        f"- Caveat: client and service share the machine's {_count(cores, 'core')}; the prober and the upload "
        "clients are separate processes, so the client side adds CPU contention, not event-loop delay. CPU use "
        "below is CPU seconds / wall seconds from `/proc` (1.00 = one core busy); *service event loop* is the "
        "main thread of the busiest worker process, *other threads* the rest of that process "
        "(`asyncio.to_thread`, SQLite; the image pool too before it moved to processes), *image processes* "
        "that worker's child processes (the image pool, `server/web/imagepool.py`).",
        "",
        "| /healthz | requests | failed | p50 | p90 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
        healthz_row("A. idle", run.idle),
        healthz_row(f"B. during {args.clients} concurrent uploads", run.loaded),
        arrival_row("B. arriving at a random moment", run.loaded, floor),
        "",
        "| B. answers slower than | share of requests | share of the phase's wall time |",
        "|---|---:|---:|",
        *(
            f"| {_ms(limit)} | {req:.1%} | {wall:.1%} |"
            for limit in (0.010, 0.020, 0.100)
            for req, wall in [slow_share(run.loaded, limit)]
        ),
        "",
        "| uploads | count | non-201 | throughput | p50 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| B. {args.clients} clients | {len(run.uploads)} | {non_201} | "
        f"{len(ok) / run.upload_wall:.2f}/s | {_ms(_quantile(all_lat, 0.5))} | {_ms(_quantile(all_lat, 0.99))} | "
        f"{_ms(max(all_lat))} |",
        "",
        f"Answers: {status_text}.",
        "",
        "| CPU (cores busy) | service, all | service event loop | service other threads | image processes "
        "| prober | upload clients |",
        "|---|---:|---:|---:|---:|---:|---:|",
        cpu_row("A. idle", run.idle),
        cpu_row("B. loaded", run.loaded),
        "",
        verdict,
    ]
    if non_201 or server_5xx or no_answer:
        lines += [
            "",
            f"**FAILURES: {non_201} of {len(run.uploads)} uploads did not answer 201 "
            f"({server_5xx} x 5xx, {no_answer} without an answer).**",
        ]
    return "\n".join(lines) + "\n"


def failures(run: Run) -> list[str]:
    """What must not happen: any answer but 201, above all a 5xx or none at all."""
    problems = [
        f"client {u.client}: {u.status or 'no answer'} after {_ms(u.seconds)}: {u.detail}"
        for u in run.uploads
        if u.status != 201
    ]
    for label, phase in (("A (idle)", run.idle), ("B (loaded)", run.loaded)):
        failed = sum(not s.ok for s in phase.healthz)
        if failed:
            problems.append(f"/healthz in phase {label}: {_count(failed, 'request')} failed")
    return problems


def dump(run: Run, path: Path) -> None:
    """The raw samples, for looking at the timeline (perf_counter seconds; the same clock in every process)."""
    data = {
        "idle": [vars(s) for s in run.idle.healthz],
        "loaded": [vars(s) for s in run.loaded.healthz],
        "uploads": [vars(u) for u in run.uploads],
        "cpu": {"idle": vars(run.idle.cpu), "loaded": vars(run.loaded.cpu)},
    }
    path.write_text(json.dumps(data), encoding="utf-8")


# --- main ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent uploading clients (default 20)")
    parser.add_argument("--baseline", type=float, default=5, help="seconds of /healthz alone (default 5)")
    parser.add_argument("--duration", type=float, default=15, help="seconds of starting new uploads (default 15)")
    parser.add_argument("--uploads", type=int, help="uploads per client instead of --duration")
    parser.add_argument("--workers", type=int, default=1, help="service workers; more than 1 needs WENMING_REDIS_URL")
    parser.add_argument("--photo", type=Path, help="upload this file instead of a generated photo")
    parser.add_argument("--samples", type=Path, help="also write the raw samples to this JSON file")
    parser.add_argument("--write", action="store_true", help=f"put the section into {RESULTS_PATH.name}")
    parser.add_argument("--probe", metavar="URL", help=argparse.SUPPRESS)  # the prober child process
    args = parser.parse_args(argv)
    if args.probe:
        asyncio.run(_probe(args.probe))
        return
    args.redis_url = os.environ.get("WENMING_REDIS_URL")
    args.loadavg = os.getloadavg()
    if args.workers < 1 or args.clients < 1 or args.baseline <= 0 or args.duration <= 0:
        parser.error("--workers and --clients must be >= 1, --baseline and --duration > 0")
    if args.uploads is not None and args.uploads < 1:
        parser.error("--uploads must be >= 1")
    if args.workers > 1 and not args.redis_url:
        parser.error("--workers > 1 needs WENMING_REDIS_URL (the service refuses to share limits without Redis)")
    if args.clients != 20:
        global SECTION_TITLE
        SECTION_TITLE = SECTION_TITLE.replace("20 concurrent", f"{args.clients} concurrent")

    tmp = Path(tempfile.mkdtemp(prefix="wenming-bench-uploads-"))
    try:
        if args.photo:
            photo_path, generated = args.photo, False
        else:
            photo_path, generated = tmp / "phone-photo.jpg", True
            print("generating the photo ...", file=sys.stderr)
            make_photo(photo_path)
        input_text = describe_input(photo_path, generated)
        print(f"input: {input_text}", file=sys.stderr)
        run = asyncio.run(measure(args, photo_path.read_bytes(), tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.samples:
        dump(run, args.samples)
    section = render(run, args, input_text)
    print(section)
    if args.write:
        write_results(section, SECTION_TITLE)
        print(f"written to {RESULTS_PATH.relative_to(REPO_ROOT)}", file=sys.stderr)
    problems = failures(run)
    if run.server_errors:
        problems += [f"service log: {line}" for line in run.server_errors[:20]]
    if problems:
        banner = "!" * 100
        print(f"\n{banner}\nFAILURES ({len(problems)}):", file=sys.stderr)
        for problem in problems[:50]:
            print(f"  {problem}", file=sys.stderr)
        print(banner, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
