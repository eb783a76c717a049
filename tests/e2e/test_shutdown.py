"""`wenming serve` stops cleanly however it is stopped: SIGTERM while its workers are still starting,
or its main process killed outright (then the workers and their image processes must not live on
under PID 1)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time

from server.web.imagepool import IMAGE_PROCESSES
from tests.support import (
    WENMING,
    ServiceProcess,
    children_of,
    cpu_seconds,
    free_port,
    is_running,
    run_cli,
    service_env,
)

STOP_BOUND_S = 10
# A main process that only waits for its workers to go uses a few tens of milliseconds of CPU;
# the spin this guards against burned about half a core (5 s of CPU in 10 s).
STOP_CPU_BOUND_S = 1.5


async def test_sigterm_while_the_workers_start_stops_the_service_without_spinning(tmp_path, wechat):
    env = service_env(f"sqlite://{tmp_path / 'stop.sqlite3'}", wechat)
    assert (await run_cli("migrate", env=env))[0] == 0
    proc = await asyncio.create_subprocess_exec(
        *WENMING,
        "serve",
        "--port",
        str(free_port()),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # The moment a worker process exists the main process handles SIGTERM itself, and the
        # worker needs far longer than that to import the app and report that it is ready.
        started = time.monotonic()
        while not [pid for pid in children_of(proc.pid) if _is_sanic_worker(pid)]:
            assert time.monotonic() - started < 30, "no worker process started"
            assert proc.returncode is None, f"serve exited with {proc.returncode} before its worker started"
            await asyncio.sleep(0.02)
        cpu_before = cpu_seconds(proc.pid)
        proc.send_signal(signal.SIGTERM)
        cpu_after = cpu_before
        stopped = time.monotonic()
        while time.monotonic() - stopped < STOP_BOUND_S and proc.returncode is None:
            cpu_after = cpu_seconds(proc.pid) or cpu_after
            await asyncio.sleep(0.1)
        took = time.monotonic() - stopped
        report = f"after SIGTERM: {took:.1f} s, {cpu_after - cpu_before:.2f} s of CPU, exit status {proc.returncode}"
        print(report)
        assert proc.returncode is not None, report
        assert cpu_after - cpu_before < STOP_CPU_BOUND_S, report
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


async def test_no_child_outlives_a_killed_main_process(tmp_path, wechat):
    env = service_env(f"sqlite://{tmp_path / 'kill.sqlite3'}", wechat)
    assert (await run_cli("migrate", env=env))[0] == 0
    async with ServiceProcess(env) as svc:
        assert svc.proc is not None
        workers = [pid for pid in children_of(svc.proc.pid) if _is_sanic_worker(pid)]
        assert workers, children_of(svc.proc.pid)
        image_processes = [pid for worker in workers for pid in children_of(worker)]
        assert len(image_processes) >= IMAGE_PROCESSES, image_processes
        children = children_of(svc.proc.pid) + image_processes
        # Not proc.wait(): that also waits for the stderr pipe, which surviving children hold open.
        svc.proc.kill()
        alive, killed = children, time.monotonic()
        for _ in range(STOP_BOUND_S * 10):
            alive = [pid for pid in alive if is_running(pid)]
            if not alive:
                break
            await asyncio.sleep(0.1)
        print(f"{len(children)} children; after {time.monotonic() - killed:.1f} s still running: {alive}")
        assert not alive, f"children still running {STOP_BOUND_S} s after the main process was killed: {alive}"


def _is_sanic_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return b"\0SANIC_WORKER_NAME=" in b"\0" + f.read()
    except OSError:
        return False
