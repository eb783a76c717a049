"""A per-person budget for image work, so one person cannot starve the image processes.

Every Pillow job of a request (an upload's ingest, a certificate drawing) goes
through :meth:`ImageBudget.run`, which runs it in the worker's image pool
(:class:`server.web.imagepool.ImagePool`: processes of their own, off the event
loop's GIL) and holds it to two limits per person:

- concurrency: at most ``concurrency`` of the person's jobs run in this process's
  image pool at once; more wait their turn outside the pool (a mini-program
  uploads up to 10 files at once, so up to ``MAX_WAITING`` may wait; beyond
  that it is a flood and is refused). The pool is per worker, so this limit is
  too: what it protects is the other people's share of these processes.
- CPU seconds per period (``WENMING_IMAGE_CPU_SECONDS``, e.g. ``20/minute``):
  each job's CPU time, measured where it ran (the pool process's thread), is
  charged to the person after it ran, in Redis
  when there is one (across workers and hosts), else in this process; once the
  period's allowance is used up, further work is refused with 429
  ``rate_limited`` until the period ends. Charging after the fact lets the last
  job overrun the allowance by itself, never by more.

A job whose client went away keeps its slot until its process is done with it:
the work goes on in the pool whether anyone waits for it or not, so freeing the
slot early would let a person who hangs up after each upload run any number at
once. A job lost with its process (killed, out of memory) is answered with 503
``service_unavailable`` and charged nothing; the pool replaces itself for the
next job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.config import Rate
from server.kernel.errors import RateLimited, ServiceUnavailable

T = TypeVar("T")
MAX_WAITING = 10  # wx.uploadFile runs at most 10 requests at once; more from one person is a flood
QUEUE_FULL_RETRY_AFTER_S = 2
LOST_RETRY_AFTER_S = 2
CPU_PREFIX = "wenming:imgcpu:"  # Redis keys: <prefix><person>:<window>, seconds as a float
_MAX_LOCAL_KEYS = 100_000
log = logging.getLogger("wenming.imagebudget")


class ImageBudgetExceeded(RateLimited):
    message = "图片处理太频繁，请稍后再试"


class ImageWorkLost(ServiceUnavailable):
    message = "图片处理中断，请稍后重试"


class _Queue:
    """One person's jobs in this process: a semaphore, and how many hold it or wait for it."""

    __slots__ = ("semaphore", "users")

    def __init__(self, concurrency: int) -> None:
        self.semaphore = asyncio.Semaphore(concurrency)
        self.users = 0


class ImageBudget:
    def __init__(self, pool: Executor, redis: Redis | None, *, concurrency: int, cpu: Rate) -> None:
        self._pool = pool
        self._redis = redis
        self._concurrency = concurrency
        self._cpu = cpu
        self._queues: dict[str, _Queue] = {}
        self._local: dict[str, tuple[float, int]] = {}  # CPU seconds by key, with their window
        self._jobs: set[asyncio.Task[Any]] = set()

    async def check(self, person: str) -> None:
        """Raise 429 if ``person`` has used up this period's CPU seconds (before reading an upload's body)."""
        window, retry_after = self._window()
        if await self._spent(person, window) >= self._cpu.limit:
            raise ImageBudgetExceeded(retry_after)

    async def run(self, person: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the image pool within ``person``'s budget; its exceptions pass through."""
        await self.check(person)
        queue = self._queues.get(person) or self._queues.setdefault(person, _Queue(self._concurrency))
        if queue.users >= self._concurrency + MAX_WAITING:
            raise ImageBudgetExceeded(QUEUE_FULL_RETRY_AFTER_S)
        queue.users += 1
        try:
            await queue.semaphore.acquire()
        except BaseException:
            self._leave(person, queue)
            raise
        try:
            await self.check(person)  # the jobs it waited behind may have used the allowance up
        except BaseException:
            queue.semaphore.release()
            self._leave(person, queue)
            raise
        job = asyncio.ensure_future(self._job(person, queue, fn, args))
        self._jobs.add(job)
        job.add_done_callback(self._finished)
        # Shielded: a request cancelled now (client gone) leaves the job to finish and free its slot.
        return await asyncio.shield(job)

    def in_flight(self) -> int:
        """Jobs running or waiting in this process, of everyone."""
        return sum(q.users for q in self._queues.values())

    def reset(self) -> None:
        """Forget the in-process CPU accounts (Redis keeps its own); for tests."""
        self._local.clear()

    async def _job(self, person: str, queue: _Queue, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        loop = asyncio.get_running_loop()
        try:
            value, error, cpu = await loop.run_in_executor(self._pool, _timed, fn, args)
        except BrokenExecutor:
            log.error("image job lost: its process died")
            raise ImageWorkLost(retry_after=LOST_RETRY_AFTER_S) from None
        finally:
            queue.semaphore.release()
            self._leave(person, queue)
        await self.charge(person, cpu)
        if error is not None:
            raise error
        return value

    def _finished(self, job: asyncio.Task[Any]) -> None:
        self._jobs.discard(job)
        if not job.cancelled():
            job.exception()  # retrieved: the request that wanted it may be gone, and that is not an error

    def _leave(self, person: str, queue: _Queue) -> None:
        queue.users -= 1
        if queue.users == 0 and self._queues.get(person) is queue:
            del self._queues[person]

    def _window(self) -> tuple[int, int]:
        now = int(time.time())
        window = now // self._cpu.period
        return window, (window + 1) * self._cpu.period - now

    async def _spent(self, person: str, window: int) -> float:
        name = f"{CPU_PREFIX}{person}:{window}"
        if self._redis is not None:
            try:
                raw = await self._redis.get(name)
                return float(raw or 0)
            except (RedisError, OSError):
                log.warning("image budget read in process: Redis unavailable")
        seconds, at = self._local.get(name, (0.0, window))
        return seconds if at == window else 0.0

    async def charge(self, person: str, cpu: float) -> None:
        """Add ``cpu`` seconds of image work to ``person``'s account for this period."""
        window, _ = self._window()
        name = f"{CPU_PREFIX}{person}:{window}"
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incrbyfloat(name, cpu)
                    pipe.expire(name, self._cpu.period + 1)
                    await pipe.execute()
                return
            except (RedisError, OSError):
                # Down: account per process rather than not at all.
                log.warning("image budget charged in process: Redis unavailable")
        if len(self._local) > _MAX_LOCAL_KEYS:
            self._local = {k: v for k, v in self._local.items() if v[1] == window}
        seconds, at = self._local.get(name, (0.0, window))
        self._local[name] = ((seconds if at == window else 0.0) + cpu, window)


def _timed(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[T | None, BaseException | None, float]:
    """Run in the pool: the result or the exception, and the CPU seconds of the thread that ran it either way."""
    start = time.thread_time()
    try:
        value = fn(*args)
    except Exception as exc:  # a rejected image costs CPU too; it is charged, then re-raised
        return None, exc, time.thread_time() - start
    return value, None, time.thread_time() - start
