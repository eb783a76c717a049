"""Background jobs: arq on Redis (run by `wenming worker`), or in this process without Redis.

Jobs are queued after the transaction that causes them commits and never fail or
slow the request that queued them. Subscribe-message sends are retried when
WeChat is busy (-1), slow or rate-limited, never when the person did not
subscribe (43101: recorded as refused); a field breaking a template rule (47003)
is a bug: logged, recorded as failed, not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from arq import Retry
from arq.connections import ArqRedis, RedisSettings
from arq.cron import cron
from arq.worker import Worker
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from models.idempotency import purge_answers
from models.makeup import get_hour_request
from models.messages import get_message, message_notice, supervise_overdue, supervised_on
from models.notices import get_notice, notice_message, reachable_batches
from models.notifications import (
    approved_online_between,
    enrolled_people,
    hour_request_message,
    mark,
    queue_batch,
    queue_for,
    reach_reminder_message,
    review_result_message,
    task_audience,
    task_message,
    tasks_starting_on,
    tomorrow_start,
)
from models.submissions import get_submission
from models.tasks import get_task
from server.kernel.clock import LOCAL_TZ, now_utc
from server.kernel.errors import ApiError, RateLimited, ServiceUnavailable, WeChatError
from server.runtime.background import Background

log = logging.getLogger("wenming.jobs")
QUEUE = "wenming:jobs"
TRIES = 4
REMINDER_HOUR = 18  # local time: "tomorrow" is clear, and it is not late
SUPERVISE_HOUR = 8  # local time: overdue work is raised as the working day starts
HOUSEKEEPING_HOUR = 4  # local time: the quietest hour
REACH_HOUR = 10  # local time: posts have had the night and the morning to be seen
# Reach is asked for a day and a week after approval; a reminder the worker missed (down, a
# holiday restart) still goes within this many days of its stage, once.
REACH_STAGES = (1, 7)
REACH_SLACK_DAYS = 3
SHANGHAI = timezone(timedelta(hours=8))


class TryAgain(Exception):
    """Some sends should be retried later (WeChat busy, slow or rate-limited)."""


# -- the jobs ------------------------------------------------------------------------------------


async def notify_review(ctx: Mapping[str, Any], submission_id: int) -> str:
    """Tell the author how their submission was reviewed."""
    if not ctx["templates"].get("review_result"):
        return "no template"
    submission = await get_submission(submission_id)
    if submission is None or submission.status not in ("approved", "rejected"):
        return "nothing to send"
    data, page = review_result_message(submission)
    event = f"review_result:{submission.status}"
    rows = await queue_for(event, submission.id, [submission.user_id])
    return await _send(ctx, "review_result", rows, data, page)


async def notify_hour_request(ctx: Mapping[str, Any], request_id: int) -> str:
    """Tell the person how their make-up request was reviewed (the review-result template)."""
    if not ctx["templates"].get("review_result"):
        return "no template"
    request = await get_hour_request(request_id)
    if request is None or request.status not in ("approved", "rejected"):
        return "nothing to send"
    data, page = hour_request_message(request)
    rows = await queue_for(f"hour_request:{request.status}", request.id, [request.user_id])
    return await _send(ctx, "review_result", rows, data, page)


async def notify_task_new(ctx: Mapping[str, Any], task_id: int) -> str:
    """Tell the members a new task is for them."""
    if not ctx["templates"].get("task_new"):
        return "no template"
    task = await get_task(task_id)
    if task.cancelled_at is not None or task.campaign.status != "published":
        return "nothing to send"
    data, page = task_message(task)
    rows = await queue_for("task_new", task.id, await task_audience(task))
    return await _send(ctx, "task_new", rows, data, page)


async def remind_tomorrow(ctx: Mapping[str, Any]) -> str:
    """Remind enrolled people of the tasks starting tomorrow (local time)."""
    if not ctx["templates"].get("task_reminder"):
        return "no template"
    results = []
    for task in await tasks_starting_on(tomorrow_start(now_utc())):
        data, page = task_message(task)
        rows = await queue_for("task_reminder", task.id, await enrolled_people(task.id))
        results.append(await _send(ctx, "task_reminder", rows, data, page))
    return f"{len(results)} task(s)"


async def remind_reach(ctx: Mapping[str, Any]) -> str:
    """Ask owners of approved online work for its reach a day and a week after approval, once per stage."""
    if not ctx["templates"].get("reach_reminder"):
        return "no template"
    now = now_utc()
    results, retry = [], False
    for stage in REACH_STAGES:
        due = await approved_online_between(now - timedelta(days=stage + REACH_SLACK_DAYS), now - timedelta(days=stage))
        for submission in due:
            data, page = reach_reminder_message(submission, stage)
            rows = await queue_for(f"reach_reminder:{stage}", submission.id, [submission.user_id])
            try:
                results.append(await _send(ctx, "reach_reminder", rows, data, page))
            except TryAgain:
                retry = True  # the others still go now; the retry sends only what is still queued
    if retry:
        raise TryAgain()
    return f"{len(results)} submission(s)"


async def notify_message(ctx: Mapping[str, Any], message_id: int, action: str, occasion: int | str = "") -> str:
    """Tell the writer their reply is out; tell the holding org's staff of work for them.

    ``occasion`` (the version a move made, or the day of automatic supervision) tells one move's
    notices from another's, so a retried job tells each person once.
    """
    message = await get_message(message_id)
    told = message_notice(message, action)
    if told is None:
        return "nothing to send"
    event, people, data, page = told
    if not ctx["templates"].get(event):
        return "no template"
    rows = await queue_for(f"{event}:{occasion}", message.id, await people())
    return await _send(ctx, event, rows, data, page)


async def notify_notice(ctx: Mapping[str, Any], notice_id: int) -> str:
    """Tell a notice's recipients it is there, a batch at a time (each recorded before it goes)."""
    if not ctx["templates"].get("notice"):
        return "no template"
    notice = await get_notice(notice_id)
    data, page = notice_message(notice)
    results, retry = [], False
    for batch in await reachable_batches(notice.id):
        rows = await queue_batch("notice", notice.id, batch)
        try:
            results.append(await _send(ctx, "notice", rows, data, page))
        except TryAgain:
            retry = True  # the other batches still go now; the retry sends only what is still queued
    if retry:
        raise TryAgain()
    return f"{len(results)} batch(es)"


async def _send(ctx: Mapping[str, Any], event: str, rows: list, data: dict[str, Any], page: str) -> str:
    template = ctx["templates"][event]
    retry = False
    counts = {"sent": 0, "refused": 0, "failed": 0}
    for row in rows:
        status, errcode = await _send_one(ctx, row.user.openid, template, data, page)
        if status == "retry":
            retry = True
            continue
        await mark(row, status, errcode)
        counts[status] += 1
    if retry:
        raise TryAgain()
    return ", ".join(f"{n} {k}" for k, n in counts.items())


async def _send_one(
    ctx: Mapping[str, Any], openid: str | None, template: str, data: dict[str, Any], page: str
) -> tuple[str, int | None]:
    if not openid:
        return "failed", None  # erased account
    try:
        delivered = await ctx["wechat"].send_subscribe(touser=openid, template_id=template, data=data, page=page)
    except (ServiceUnavailable, RateLimited):
        return "retry", None
    except WeChatError as exc:
        errcode = (exc.details or {}).get("errcode")
        log.error("subscribe message refused by WeChat (errcode %s): a template or field bug", errcode)
        return "failed", errcode
    except ApiError as exc:
        log.warning("subscribe message not sent: %s", exc.code)
        return "failed", None
    return ("sent", None) if delivered else ("refused", 43101)


async def supervise_messages(ctx: Mapping[str, Any], as_of: str | None = None) -> str:
    """Daily: raise overdue messages one supervision level (once a day), and tell their assignees."""
    day = date.fromisoformat(as_of) if as_of else now_utc().astimezone(LOCAL_TZ).date()
    raised = await supervise_overdue(day)
    await tell_supervised(ctx, day)
    return f"{len(raised)} message(s) raised"


async def tell_supervised(ctx: Mapping[str, Any], day: date) -> None:
    """Tell the staff holding each message raised on ``day``: all raised that day, not only by this run,
    so a retry (WeChat busy) reaches those a failed send missed; the day's notices go once a person."""
    retry = False
    for message_id in await supervised_on(day):
        try:
            await notify_message(ctx, message_id, "supervise", f"auto{day:%Y%m%d}")
        except TryAgain:
            retry = True  # the others are still told now
    if retry:
        raise TryAgain()


async def housekeeping(ctx: Mapping[str, Any]) -> str:
    """Daily: forget replayable answers past their time (they are kept per user and key)."""
    purged = await purge_answers(now_utc())
    log.info("housekeeping: purged %d old idempotency answer(s)", purged)
    return f"purged {purged} idempotency answer(s)"


FUNCTIONS: dict[str, Callable[..., Awaitable[str]]] = {
    "notify_review": notify_review,
    "notify_hour_request": notify_hour_request,
    "notify_task_new": notify_task_new,
    "remind_tomorrow": remind_tomorrow,
    "remind_reach": remind_reach,
    "housekeeping": housekeeping,
    "notify_message": notify_message,
    "supervise_messages": supervise_messages,
    "notify_notice": notify_notice,
}


def job_context(config: Any, wechat: Any) -> dict[str, Any]:
    """What every job gets: the WeChat client, the template ids, the retry pace."""
    return {"wechat": wechat, "templates": dict(config.subscribe_templates), "retry_delay": config.job_retry_delay}


# -- running them --------------------------------------------------------------------------------


def _for_arq(func: Callable[..., Awaitable[str]]) -> Callable[..., Awaitable[str]]:
    async def job(ctx: dict[str, Any], *args: Any) -> str:
        try:
            return await func(ctx, *args)
        except TryAgain:
            raise Retry(defer=ctx.get("retry_delay", 5.0) * 2 ** (ctx["job_try"] - 1)) from None

    job.__name__ = job.__qualname__ = func.__name__
    return job


ARQ_FUNCTIONS = [_for_arq(f) for f in FUNCTIONS.values()]
DAILY = {
    "remind_tomorrow": REMINDER_HOUR,
    "remind_reach": REACH_HOUR,
    "housekeeping": HOUSEKEEPING_HOUR,
    "supervise_messages": SUPERVISE_HOUR,
}  # job → local hour


class Jobs:
    """Queue a job by name: to arq when there is Redis, else run it here after the response."""

    def __init__(self, redis_url: str | None, ctx: dict[str, Any], background: Background) -> None:
        self.redis_url = redis_url
        self.ctx = ctx
        self.background = background
        self.pool: ArqRedis | None = None
        self._daily: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.redis_url:
            # Connects on first use (arq's create_pool pings now): the service starts while Redis is down.
            connections = ConnectionPool.from_url(self.redis_url)
            self.pool = ArqRedis(connection_pool=connections, default_queue_name=QUEUE)
        else:
            # Without Redis there is no `wenming worker`: this (single) process runs the daily jobs.
            self._daily = asyncio.get_running_loop().create_task(self._run_daily(), name="daily-jobs")

    async def close(self) -> None:
        if self._daily is not None:
            self._daily.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._daily
        if self.pool is not None:
            await self.pool.aclose()

    async def enqueue(self, name: str, *args: Any) -> None:
        """Never raises: a job that cannot be queued is logged and run here instead."""
        if self.pool is not None:
            try:
                await self.pool.enqueue_job(name, *args)
                return
            except (RedisError, OSError):
                log.exception("cannot queue job %s: running it in this process", name)
        self.background.spawn(self.run_here(name, *args), name=f"job:{name}")

    async def run_here(self, name: str, *args: Any) -> str | None:
        func = FUNCTIONS[name]
        for attempt in range(1, TRIES + 1):
            try:
                return await func({**self.ctx, "job_try": attempt}, *args)
            except TryAgain:
                if attempt < TRIES:
                    await asyncio.sleep(self.ctx.get("retry_delay", 5.0) * 2 ** (attempt - 1))
        log.warning("job %s%r gave up after %d tries", name, args, TRIES)
        return None

    async def work(self) -> None:
        """Run every queued arq job now, in this process (tests; `wenming worker` runs them for real)."""
        if self.pool is None:
            return
        # The worker closes its pool when done: give it its own.
        worker = Worker(
            ARQ_FUNCTIONS,
            redis_settings=RedisSettings.from_dsn(self.redis_url or ""),
            queue_name=QUEUE,
            burst=True,
            handle_signals=False,
            ctx=dict(self.ctx),
            max_tries=TRIES,
            poll_delay=0.05,
        )
        try:
            await worker.main()
        finally:
            await worker.close()

    async def _run_daily(self) -> None:
        while True:
            now = now_utc()
            (wait, name), *_ = sorted((_seconds_until(hour, now), name) for name, hour in DAILY.items())
            await asyncio.sleep(wait)
            try:
                await self.run_here(name)
            except Exception:
                log.exception("daily job %s failed", name)


def _seconds_until(hour: int, now: datetime) -> float:
    local = now.astimezone(LOCAL_TZ)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return (target - local).total_seconds()


def worker_settings(
    redis_url: str, startup: Callable[..., Awaitable[None]], shutdown: Callable[..., Awaitable[None]]
) -> type:
    """Settings for `wenming worker` (arq's run_worker)."""

    class WorkerSettings:
        functions = ARQ_FUNCTIONS
        cron_jobs = tuple(
            cron(_for_arq(FUNCTIONS[name]), hour={hour}, minute={0}, run_at_startup=False)
            for name, hour in DAILY.items()
        )
        redis_settings = RedisSettings.from_dsn(redis_url)
        queue_name = QUEUE
        max_tries = TRIES
        timezone = SHANGHAI
        on_startup = startup
        on_shutdown = shutdown

    return WorkerSettings
