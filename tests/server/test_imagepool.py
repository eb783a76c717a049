"""The image pool: jobs in processes of their own, within each person's budget, surviving a killed process.

The jobs below run in spawned processes, so they are module-level functions and talk to the test
through files (a threading.Event does not cross processes).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.config import Rate
from server.web.imagebudget import ImageBudget, ImageBudgetExceeded, ImageWorkLost
from server.web.imagepool import ImagePool
from tests.support import until

WAIT_S = 30  # spawning a process that imports the service's modules takes a while on a busy machine


@pytest.fixture(scope="module")
def pool() -> Iterator[ImagePool]:
    images = ImagePool(workers=2)
    images.start()
    yield images
    images.shutdown(wait=True)


def budget(pool: ImagePool, redis=None, *, concurrency: int = 1, cpu: int = 60) -> ImageBudget:
    return ImageBudget(pool, redis, concurrency=concurrency, cpu=Rate(cpu, 60))


def burn(seconds: float) -> tuple[int, int]:
    """Spin until this process's thread has used ``seconds`` of CPU; its pid and scheduling policy."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        sum(range(1000))
    return os.getpid(), os.sched_getscheduler(0)


def gated(folder: str, name: str) -> str:
    """Say that ``name`` started (a file), then wait for the test to open the gate (another file)."""
    Path(folder, f"started-{name}").write_text(str(os.getpid()))
    deadline = time.monotonic() + WAIT_S
    while not Path(folder, "open").exists():
        assert time.monotonic() < deadline, "the gate was never opened"
        time.sleep(0.01)
    return name


def started(folder: Path) -> list[str]:
    return sorted(p.name.removeprefix("started-") for p in folder.glob("started-*"))


async def test_a_job_runs_in_an_idle_class_process_and_its_cpu_seconds_are_charged(pool) -> None:
    images = budget(pool, cpu=1)

    pid, policy = await images.run("1", burn, 1.05)
    with pytest.raises(ImageBudgetExceeded):
        await images.run("1", burn, 0.01)
    await images.run("2", burn, 0.01)  # someone else's allowance is untouched

    assert pid != os.getpid() and pid in pool.pids()
    assert policy == os.SCHED_IDLE


async def test_one_persons_jobs_take_one_process_at_a_time_while_anothers_run_beside_them(pool, tmp_path) -> None:
    images = budget(pool)

    first = asyncio.create_task(images.run("1", gated, str(tmp_path), "a1"))
    second = asyncio.create_task(images.run("1", gated, str(tmp_path), "a2"))
    other = asyncio.create_task(images.run("2", gated, str(tmp_path), "b1"))
    await until(lambda: len(started(tmp_path)) >= 2, WAIT_S)
    await asyncio.sleep(0.3)  # room for a wrongly admitted a2 to start

    assert started(tmp_path) == ["a1", "b1"]
    (tmp_path / "open").touch()
    assert await asyncio.gather(first, second, other) == ["a1", "a2", "b1"]
    assert images.in_flight() == 0


async def test_a_killed_image_process_is_503_for_its_job_and_the_next_job_gets_a_new_pool(tmp_path) -> None:
    pool = ImagePool(workers=1)
    try:
        images = budget(pool)
        job = asyncio.create_task(images.run("1", gated, str(tmp_path), "doomed"))
        await until(lambda: started(tmp_path) == ["doomed"], WAIT_S)
        os.kill(int((tmp_path / "started-doomed").read_text()), signal.SIGKILL)

        with pytest.raises(ImageWorkLost) as lost:
            await job
        pid, _ = await images.run("1", burn, 0.01)

        assert lost.value.status == 503 and lost.value.code == "service_unavailable"
        assert lost.value.headers["Retry-After"] == "2"
        assert "图片" in lost.value.message
        assert pid in pool.pids() and images.in_flight() == 0
    finally:
        pool.shutdown(wait=True)
