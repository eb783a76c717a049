"""Faults: PostgreSQL restarted under load (killed uploads: test_upload_faults.py).

Each test runs its own `wenming serve` process (and, for PostgreSQL, its own
private cluster on a free port, as the ``postgres`` OS user when run as root),
so it can break them without touching the services the rest of the run shares.
What must hold: every answer during a fault is one of the contract's errors
(no hang, no connection dropped without an answer), the service recovers by
itself for every request once the fault is over, and nothing is half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import asyncpg
import orjson
import pytest

from server.wechat.fake import FakeWeChat
from tests.conftest import Api
from tests.e2e.test_upload_faults import poll
from tests.factories import TASKS, published_task
from tests.support import ServiceProcess, free_port, run_cli, service_env

# -- a private PostgreSQL ---------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian's layout first, then PATH)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    if found:
        return Path(max(found, key=version)).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster of our own, so the test may stop and start it.

    As root, ``initdb`` refuses to run: the cluster then belongs to the ``postgres`` OS user.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
        self.dir = Path(tempfile.mkdtemp(prefix="wenming-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")

    async def _run(self, *args: str, wait_s: float = 60) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self._as, *args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.dir
        )
        out, _ = await asyncio.wait_for(proc.communicate(), wait_s)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({proc.returncode}): {out.decode()}\n{self.server_log()}")

    async def init(self) -> None:
        await self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "--encoding=UTF8", "--no-locale",
        )  # fmt: skip

    async def start(self) -> None:
        # fsync off: only a crash of the machine could lose data, and the test crashes nothing but PostgreSQL.
        # Prepared transactions: row locks a test holds across a restart (hold_rows).
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_prepared_transactions=4"
        )
        await self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30",
            "start",
        )  # fmt: skip

    async def stop(self, mode: str = "fast") -> None:
        await self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    async def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                await self.stop("immediate")
            except (RuntimeError, TimeoutError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres OS user: initdb refuses to run as root")
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot run initdb as the postgres user")
    pg = PrivatePostgres(bindir)
    try:
        await pg.init()
        await pg.start()
        yield pg
    finally:
        await pg.destroy()


class CuttingProxy:
    """A TCP proxy in front of PostgreSQL that can lose a connection the way a network blip does.

    Armed, it lets the next COMMIT's answer through, then drops that connection towards the
    server; the service notices only when it next writes on it (the pool's reset on release).
    """

    READY_IDLE = b"Z\x00\x00\x00\x05I"  # ReadyForQuery, not in a transaction

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.cut = asyncio.Event()
        self._armed = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._pair, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def arm_after_commit(self) -> None:
        self._armed = True
        self.cut.clear()

    async def _pair(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {client_w, server_w}
        lost = asyncio.Event()

        async def upstream() -> None:
            while data := await client_r.read(65536):
                if lost.is_set():
                    client_w.transport.abort()  # the service learns now, mid-operation
                    return
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def downstream() -> None:
            saw_commit = False
            while data := await server_r.read(65536):
                client_w.write(data)
                await client_w.drain()
                saw_commit = self._armed and (saw_commit or b"COMMIT\x00" in data)
                if saw_commit and data.endswith(self.READY_IDLE):
                    self._armed = False
                    lost.set()
                    server_w.close()
                    self.cut.set()
                    return
            client_w.close()

        with contextlib.suppress(OSError):
            await asyncio.gather(upstream(), downstream())

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()


# -- a service on its own PostgreSQL, with a task and volunteers ---------------------------------------


@dataclass
class Volunteer:
    token: str
    user_id: int
    # What the last definite answer says: "enrolled", "withdrawn", or "unknown" after a failure.
    state: str = "withdrawn"
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    saw_201: bool = False


@dataclass
class Scene:
    pg: PrivatePostgres
    proxy: CuttingProxy | None
    svc: ServiceProcess
    api: Api
    task_id: str
    volunteers: list[Volunteer]


TIMEOUT = aiohttp.ClientTimeout(total=15)  # an answer slower than this is a hang


@asynccontextmanager
async def postgres_scene(
    wechat: FakeWeChat, *, quota: int, volunteers: int, proxy: bool = False
) -> AsyncIterator[Scene]:
    """A private PostgreSQL, `wenming serve` on it (through a :class:`CuttingProxy` if asked),
    a published task with ``quota`` and signed-in volunteers."""
    async with private_postgres() as pg, contextlib.AsyncExitStack() as stack:
        url, cutter = pg.url, None
        if proxy:
            cutter = CuttingProxy(pg.port)
            await cutter.start()
            stack.push_async_callback(cutter.close)
            url = pg.url.replace(f":{pg.port}/", f":{cutter.port}/")
        env = service_env(url, wechat, WENMING_LIMIT_SIGNIN="1000/minute", WENMING_LIMIT_ENROLL="100000/minute")
        stack.callback(shutil.rmtree, env["WENMING_MEDIA_ROOT"], ignore_errors=True)
        for args in (["migrate"], ["user", "grant", "--openid", "o-fault-admin", "--role", "admin"]):
            status, _, err = await run_cli(*args, env=env)
            assert status == 0, err
        async with ServiceProcess(env) as svc, aiohttp.ClientSession(timeout=TIMEOUT) as session:
            api = Api(SimpleNamespace(base_url=svc.base_url), wechat, session)
            admin, _ = await api.login("o-fault-admin")
            county = await api.call("POST", "/api/v1/orgs", token=admin, json={"name": "县", "kind": "county"})
            assert county.status == 201, county.body
            org_id = county.body["id"]
            grant = ["user", "grant", "--openid", "o-fault-staff", "--role", "staff", "--org", str(org_id)]
            status, _, err = await run_cli(*grant, env=env)
            assert status == 0, err
            staff, _ = await api.login("o-fault-staff")
            task = await published_task(api, staff, org_id, quota=quota)
            people = [await api.login(f"o-fault-{i}") for i in range(volunteers)]
            yield Scene(pg, cutter, svc, api, task["id"], [Volunteer(t, int(u["id"])) for t, u in people])


@dataclass
class DatabaseState:
    enrolled_count: int
    statuses: dict[int, str]  # user id → enrollment status
    unfinished_keys: int  # idempotency claims whose request never recorded an answer


async def connect(pg: PrivatePostgres) -> asyncpg.Connection:
    return await asyncpg.connect(pg.url.replace("postgres://", "postgresql://", 1))


async def database_state(pg: PrivatePostgres, task_id: str) -> DatabaseState:
    conn = await connect(pg)
    try:
        count = await conn.fetchval("SELECT enrolled_count FROM tasks WHERE id = $1", int(task_id))
        rows = await conn.fetch("SELECT user_id, status FROM enrollments WHERE task_id = $1", int(task_id))
        unfinished = await conn.fetchval("SELECT count(*) FROM idempotency_records WHERE status IS NULL")
    finally:
        await conn.close()
    return DatabaseState(count, {r["user_id"]: r["status"] for r in rows}, unfinished)


def logged_failures(svc: ServiceProcess) -> dict[str, int]:
    """The service's error log lines, counted by message and the exception's last line."""
    found: dict[str, int] = {}
    for line in svc.stderr_lines:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL"):
            last = (entry.get("exception") or "").strip().splitlines()[-1:] or [""]
            key = f"{entry.get('message')} | {last[0][:120]}"
            found[key] = found.get(key, 0) + 1
    return found


# -- the load --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    at: float  # monotonic seconds, when the answer came
    took: float  # seconds
    kind: str  # "enroll", "withdraw" or "read"
    status: int | None  # None: no HTTP answer at all
    code: str | None = None
    problem: str | None = None  # the exception when there was no answer, or a body not in the contract's shape


ERROR_CODES_5XX = {500: "internal_error", 503: "service_unavailable"}
PACE_S = 0.005  # between one person's requests, so the load is steady rather than a spin


def clean_5xx(o: Outcome) -> bool:
    return o.status in ERROR_CODES_5XX and o.code == ERROR_CODES_5XX[o.status] and o.problem is None


def ok(o: Outcome) -> bool:
    return o.status is not None and o.status < 500 and o.problem is None


async def send(
    session: aiohttp.ClientSession, kind: str, method: str, url: str, token: str, key: str | None = None
) -> Outcome:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    began = time.monotonic()
    try:
        async with session.request(method, url, headers=headers) as resp:
            raw = await resp.read()
            outcome = Outcome(time.monotonic(), time.monotonic() - began, kind, resp.status)
            if resp.status >= 400:
                try:
                    outcome.code = orjson.loads(raw)["error"]["code"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    outcome.problem = f"not an error body: {raw[:200]!r}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
        outcome = Outcome(time.monotonic(), time.monotonic() - began, kind, None, problem=problem)
    return outcome


ENROLL_ANSWERS = {"already_enrolled": "enrolled", "task_full": "withdrawn"}
WITHDRAW_ANSWERS = {"not_enrolled": "withdrawn"}


class Load:
    """Volunteers enrolling and withdrawing in a loop, and readers paging the task feed."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.outcomes: list[Outcome] = []
        self.stopping = asyncio.Event()

    async def _send(self, kind: str, method: str, path: str, token: str, key: str | None = None) -> Outcome:
        outcome = await send(self.scene.api.session, kind, method, self.scene.svc.base_url + path, token, key)
        self.outcomes.append(outcome)
        return outcome

    async def volunteer(self, who: Volunteer) -> None:
        path = f"{TASKS}/{self.scene.task_id}/enroll"
        while not self.stopping.is_set():
            if who.state == "enrolled":
                got = await self._send("withdraw", "DELETE", path, who.token)
                definite = "withdrawn" if got.status == 204 else WITHDRAW_ANSWERS.get(got.code or "")
            else:
                # After a failure the mini-program retries with the same key; a new enrollment gets a new one.
                got = await self._send("enroll", "POST", path, who.token, who.key)
                definite = "enrolled" if got.status == 201 else ENROLL_ANSWERS.get(got.code or "")
                who.saw_201 = who.saw_201 or got.status == 201
                if ok(got):
                    who.key = uuid.uuid4().hex
            who.state = definite or "unknown"
            await asyncio.sleep(PACE_S)

    async def reader(self, token: str) -> None:
        paths = [f"{TASKS}?limit=20", f"{TASKS}/{self.scene.task_id}"]
        i = 0
        while not self.stopping.is_set():
            await self._send("read", "GET", paths[i % 2], token)
            i += 1
            await asyncio.sleep(PACE_S)

    def since(self, t: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.at >= t]


async def poll_ready(api: Api, deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if (await api.call("GET", "/readyz")).status == 200:
            return True
        await asyncio.sleep(0.05)
    return False


def tally(outcomes: list[Outcome]) -> str:
    counts: dict[tuple, list[float]] = {}
    for o in outcomes:
        counts.setdefault((o.kind, o.status, o.code, o.problem and o.problem[:60]), []).append(o.took)
    return "\n".join(
        f"    {k}: {len(t)} (slowest {max(t):.2f}s)" for k, t in sorted(counts.items(), key=lambda kv: str(kv[0]))
    )


VOLUNTEERS = 24
QUOTA = 10
READERS = 4
MIN_OUTAGE_S = 2.0
RECOVERY_S = 10.0
SETTLE_S = 1.0  # requests in flight when it recovered may still fail


async def test_postgres_restart_under_load_fails_cleanly_and_recovers(wechat: FakeWeChat) -> None:
    async with postgres_scene(wechat, quota=QUOTA, volunteers=VOLUNTEERS) as scene:
        load = Load(scene)
        workers = [asyncio.create_task(load.volunteer(v)) for v in scene.volunteers]
        workers += [asyncio.create_task(load.reader(v.token)) for v in scene.volunteers[:READERS]]
        try:
            started = time.monotonic()
            warm = await poll(lambda: sum(ok(o) for o in load.outcomes) >= 50, 30)
            assert warm is not None, f"the load did not get through before the fault: {load.outcomes[-5:]}"

            stopping_at = time.monotonic()
            await scene.pg.stop("fast")
            down_at = time.monotonic()

            def met_the_outage() -> bool:
                failed = [o for o in load.since(down_at) if not ok(o)]
                return time.monotonic() - down_at >= MIN_OUTAGE_S and {o.kind for o in failed} >= {"enroll", "read"}

            outage = await poll(met_the_outage, MIN_OUTAGE_S + 20)
            starting_at = time.monotonic()
            await scene.pg.start()
            up_at = time.monotonic()
            recovered = {
                kind: await poll(lambda kind=kind: any(ok(o) and o.kind == kind for o in load.since(up_at)), 30)
                for kind in ("enroll", "withdraw", "read")
            }
            after_at = time.monotonic()
            await poll(lambda: len(load.since(after_at)) >= 200, 30)  # normal traffic again, for a while
        finally:
            load.stopping.set()
            await asyncio.gather(*workers)
        alive = scene.svc.proc is not None and scene.svc.proc.returncode is None
        async with aiohttp.ClientSession(timeout=TIMEOUT) as probe:  # a new connection, as a load balancer's
            async with probe.get(f"{scene.svc.base_url}/readyz") as resp:
                ready = resp.status
        volunteers = scene.volunteers
        rows = await database_state(scene.pg, scene.task_id)

    phases = {
        "before": (started, stopping_at),
        "stopping": (stopping_at, down_at),
        "down": (down_at, starting_at),
        "starting": (starting_at, up_at),
        "after": (up_at, float("inf")),
    }
    report = "\n".join(
        [
            f"stop {down_at - stopping_at:.2f}s, down {starting_at - down_at:.2f}s, start {up_at - starting_at:.2f}s;"
            f" recovered after start (s): {recovered}",
            *(f"  {name}:\n{tally([o for o in load.outcomes if a <= o.at < b])}" for name, (a, b) in phases.items()),
            "  service error log:",
            *(f"    {n} × {what}" for what, n in logged_failures(scene.svc).items()),
            f"  database: {rows}",
        ]
    )
    print(report)
    unclean = [o for o in load.outcomes if not ok(o) and not clean_5xx(o)]
    assert not unclean, f"answers outside the contract, or no answer: {unclean[:5]}\n{report}"
    # Nothing half-written: the counter is the rows, the quota held, every 201 has its row, and each
    # person's last definite answer is what the database says.
    enrolled = {uid for uid, status in rows.statuses.items() if status != "withdrawn"}
    assert rows.enrolled_count == len(enrolled), report
    assert len(enrolled) <= QUOTA
    assert {v.user_id for v in volunteers if v.saw_201} <= set(rows.statuses)
    for v in volunteers:
        if v.state != "unknown":
            assert (v.user_id in enrolled) == (v.state == "enrolled"), (v, rows.statuses.get(v.user_id))
    assert outage is not None, f"requests did not fail while PostgreSQL was down\n{report}"
    assert alive, f"the service died: {scene.svc.proc}\n{report}"
    for kind, took in recovered.items():
        assert took is not None and took < RECOVERY_S, f"{kind} did not recover by itself\n{report}"
    # Recovered means every request, not most: none sent once the service was back may fail.
    back_at = up_at + max(took or 0 for took in recovered.values()) + SETTLE_S
    failing = [o for o in load.outcomes if o.at - o.took >= back_at and not ok(o)]
    assert not failing, f"{len(failing)} requests failed after recovery, e.g. {failing[:3]}\n{report}"
    assert ready == 200, f"the service is not ready after the restart: {ready}\n{report}"


def waiting_on_a_lock(table: str) -> str:
    """How many UPDATEs of ``table`` wait for a row lock (ask from a connection outside any transaction:
    a transaction sees pg_stat_activity frozen)."""
    return (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        f" AND query ILIKE 'UPDATE%' AND query ILIKE '%{table}%'"
    )


async def hold_rows(pg: PrivatePostgres, name: str, select_for_update: str, *args: object) -> None:
    """Lock rows in a prepared transaction called ``name`` until ``ROLLBACK PREPARED``.

    Unlike a session's lock, a prepared transaction's outlives the SIGTERM of a fast shutdown (and
    the restart): PostgreSQL signals its backends one after another, and a session holding the lock
    could end, and free the row, a moment before the backend waiting for it ends; under load that
    moment is long enough for the waiting transaction to go on and commit.
    """
    conn = await connect(pg)
    try:
        await conn.execute("BEGIN")
        await conn.execute(select_for_update, *args)
        await conn.execute(f"PREPARE TRANSACTION '{name}'")
    finally:
        await conn.close()


async def release_rows(pg: PrivatePostgres, name: str) -> None:
    conn = await connect(pg)
    try:
        await conn.execute(f"ROLLBACK PREPARED '{name}'")
    finally:
        await conn.close()


async def wait_for_lock_wait(watcher: asyncpg.Connection, table: str, what: str) -> None:
    for _ in range(1000):
        if await watcher.fetchval(waiting_on_a_lock(table)) == 1:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"{what} never waited for its row lock")


async def enrollment_held_at_the_task_row(
    scene: Scene, watcher: asyncpg.Connection, url: str, who: Volunteer
) -> asyncio.Task[Outcome]:
    """Hold the task's row (prepared as "task-row"), send ``who``'s enrollment with their key and
    return it once it waits for that row."""
    await hold_rows(scene.pg, "task-row", "SELECT id FROM tasks WHERE id = $1 FOR UPDATE", int(scene.task_id))
    first = asyncio.create_task(send(scene.api.session, "enroll", "POST", url, who.token, who.key))
    await wait_for_lock_wait(watcher, "tasks", "the enrollment")
    return first


async def restart_database_and_retry(
    scene: Scene, first: asyncio.Task[Outcome], held: str, url: str, who: Volunteer
) -> tuple[Outcome, Outcome, DatabaseState]:
    """Stop PostgreSQL (fast) under ``first``, the enrollment waiting at a held row lock, start it again and
    release the ``held`` rows; once the service is ready, retry the enrollment with the same key.
    Returns the cut-off answer, the retry's and the database state after it."""
    await scene.pg.stop("fast")
    cut_off = await first
    await scene.pg.start()
    await release_rows(scene.pg, held)
    assert await poll_ready(scene.api, RECOVERY_S), "the service did not become ready after PostgreSQL started"

    retry = await send(scene.api.session, "enroll", "POST", url, who.token, who.key)
    rows = await database_state(scene.pg, scene.task_id)
    return cut_off, retry, rows


def assert_the_retry_enrolled_once(cut_off: Outcome, retry: Outcome, rows: DatabaseState, user_id: int) -> None:
    """The request cut off by the restart answered a clean 5xx; its retry enrolled, once, leaving no claim."""
    report = f"cut off: {cut_off}\nretry: {retry}\ndatabase: {rows}"
    print(report)
    assert clean_5xx(cut_off), report
    assert (retry.status, rows.enrolled_count, rows.statuses) == (201, 1, {user_id: "enrolled"}), report
    assert rows.unfinished_keys == 0, report


async def test_an_idempotency_key_cut_off_by_a_database_restart_can_be_retried(wechat: FakeWeChat) -> None:
    """The claim on a key whose request died with the database must not outlive it: the retry runs."""
    async with postgres_scene(wechat, quota=5, volunteers=1) as scene:
        (who,) = scene.volunteers
        url = f"{scene.svc.base_url}{TASKS}/{scene.task_id}/enroll"
        # Hold the task's row: the enrollment claims its key, then waits at the quota update until
        # the shutdown ends it; it cannot commit.
        watcher = await connect(scene.pg)
        try:
            first = await enrollment_held_at_the_task_row(scene, watcher, url, who)
        finally:
            await watcher.close()
        cut_off, retry, rows = await restart_database_and_retry(scene, first, "task-row", url, who)

    assert_the_retry_enrolled_once(cut_off, retry, rows, who.user_id)


async def test_a_database_restart_while_the_key_is_marked_takes_the_enrollment_with_it(wechat: FakeWeChat) -> None:
    """The enrollment's transaction marks its key (``models.idempotency.work_committed``); the database
    stops while that mark waits for the key's row: the enrollment and its mark go together, the first
    request gets 503, and its retry enrolls (201). The other order (committed, then the answer lost) is
    ``test_work_that_committed_answers_its_retry_though_its_answer_was_lost`` in tests/handlers."""
    async with postgres_scene(wechat, quota=5, volunteers=1) as scene:
        (who,) = scene.volunteers
        url = f"{scene.svc.base_url}{TASKS}/{scene.task_id}/enroll"
        watcher = await connect(scene.pg)
        try:
            first = await enrollment_held_at_the_task_row(scene, watcher, url, who)
            # The key is claimed; hold its row too, then let the enrollment go on: marking its key
            # then waits for the key's row, inside the enrollment's transaction.
            claim = "SELECT id FROM idempotency_records WHERE key = $1 FOR UPDATE"
            await hold_rows(scene.pg, "key-row", claim, who.key)
            await release_rows(scene.pg, "task-row")
            await wait_for_lock_wait(watcher, "idempotency_records", "marking the key")
        finally:
            await watcher.close()
        cut_off, retry, rows = await restart_database_and_retry(scene, first, "key-row", url, who)

    assert_the_retry_enrolled_once(cut_off, retry, rows, who.user_id)


async def test_a_database_connection_lost_after_a_commit_does_not_break_later_requests(wechat: FakeWeChat) -> None:
    """The connection drops just after an enrollment commits; the next requests on the same
    keep-alive HTTP connection must not inherit the dead transaction."""
    async with postgres_scene(wechat, quota=5, volunteers=1, proxy=True) as scene:
        assert scene.proxy is not None
        (who,) = scene.volunteers
        task = f"{scene.svc.base_url}{TASKS}/{scene.task_id}"
        # One HTTP connection, so every request below is served by the same server-side connection task.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), timeout=TIMEOUT) as one:
            assert (await send(one, "read", "GET", task, who.token)).status == 200
            scene.proxy.arm_after_commit()
            enrolled = await send(one, "enroll", "POST", f"{task}/enroll", who.token)
            assert scene.proxy.cut.is_set(), f"no COMMIT went through the proxy: {enrolled}"
            later = [await send(one, "read", "GET", task, who.token) for _ in range(3)]
        rows = await database_state(scene.pg, scene.task_id)
        failures = logged_failures(scene.svc)

    report = f"enroll: {enrolled}\nlater: {later}\ndatabase: {rows}\nservice errors: {failures}"
    print(report)
    assert enrolled.status == 201 or clean_5xx(enrolled), report
    assert rows.enrolled_count == len(rows.statuses) == 1, report  # it did commit
    assert [o.status for o in later] == [200, 200, 200], report
