"""The per-person image budget with a real thread pool, real CPU time and (when configured) real Redis."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.config import Rate
from server.web.imagebudget import MAX_WAITING, ImageBudget, ImageBudgetExceeded
from tests.support import until

WAIT_S = 10


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-image")
    yield executor
    executor.shutdown(wait=True)


def budget(pool: ThreadPoolExecutor, redis=None, *, concurrency: int = 1, cpu: int = 60) -> ImageBudget:
    return ImageBudget(pool, redis, concurrency=concurrency, cpu=Rate(cpu, 60))


def burn(seconds: float) -> float:
    """Spin until this thread has used ``seconds`` of CPU."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        sum(range(1000))
    return seconds


class Gate:
    """Jobs that record that they started and then wait until the test opens the gate."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.started: list[str] = []
        self._lock = threading.Lock()

    def job(self, name: str) -> str:
        with self._lock:
            self.started.append(name)
        assert self.open.wait(WAIT_S)
        return name


async def test_one_persons_jobs_run_one_at_a_time_while_anothers_run_beside_them(pool) -> None:
    images, gate = budget(pool), Gate()

    first = asyncio.create_task(images.run("1", gate.job, "a1"))
    second = asyncio.create_task(images.run("1", gate.job, "a2"))
    other = asyncio.create_task(images.run("2", gate.job, "b1"))
    await until(lambda: len(gate.started) >= 2, WAIT_S)
    await asyncio.sleep(0.2)  # room for a wrongly admitted a2 to start

    assert sorted(gate.started) == ["a1", "b1"]
    gate.open.set()
    assert await asyncio.gather(first, second, other) == ["a1", "a2", "b1"]
    assert images.in_flight() == 0


async def test_used_up_cpu_seconds_refuse_more_work_until_the_period_ends(pool) -> None:
    images = budget(pool, cpu=1)

    assert await images.run("1", burn, 1.05) == 1.05
    with pytest.raises(ImageBudgetExceeded) as refused:
        await images.run("1", burn, 0.01)
    await images.run("2", burn, 0.01)  # someone else's allowance is untouched

    assert refused.value.status == 429 and refused.value.code == "rate_limited"
    assert 1 <= refused.value.retry_after <= 60
    assert "图片" in refused.value.message


async def test_a_failing_job_is_charged_and_its_error_passes_through(pool) -> None:
    images = budget(pool, cpu=1)

    def bad_image() -> None:
        burn(1.05)
        raise ValueError("corrupt")

    with pytest.raises(ValueError, match="corrupt"):
        await images.run("1", bad_image)
    with pytest.raises(ImageBudgetExceeded):
        await images.check("1")


async def test_a_cancelled_caller_leaves_its_job_holding_the_slot_until_it_ends(pool) -> None:
    images, gate = budget(pool), Gate()

    first = asyncio.create_task(images.run("1", gate.job, "a1"))
    await until(lambda: gate.started == ["a1"], WAIT_S)
    first.cancel()  # the client hung up; the thread goes on decoding
    second = asyncio.create_task(images.run("1", gate.job, "a2"))
    await asyncio.sleep(0.2)

    assert gate.started == ["a1"]
    gate.open.set()
    assert await second == "a2"
    assert first.cancelled()


async def test_a_flood_past_the_waiting_room_is_refused_at_once(pool) -> None:
    images, gate = budget(pool), Gate()
    admitted = [asyncio.create_task(images.run("1", gate.job, f"a{i}")) for i in range(1 + MAX_WAITING)]
    await until(lambda: images.in_flight() == 1 + MAX_WAITING, WAIT_S)

    with pytest.raises(ImageBudgetExceeded):
        await images.run("1", gate.job, "one too many")
    gate.open.set()
    await asyncio.gather(*admitted)

    assert len(gate.started) == 1 + MAX_WAITING and images.in_flight() == 0


async def test_cpu_accounts_are_shared_by_every_process_through_redis(pool, redis) -> None:
    mine, theirs = budget(pool, redis, cpu=1), budget(pool, redis, cpu=1)

    await mine.run("1", burn, 1.05)

    with pytest.raises(ImageBudgetExceeded):
        await theirs.check("1")
    await theirs.check("2")
