"""Make-up requests for service hours (补录): asked for by the person, decided once by staff.

    pending ──approve──▶ approved (one ledger entry, once: once_key "hour_request:<id>")
    pending ──reject (reason)──▶ rejected

Each review is one conditional UPDATE on status "pending", in one transaction with its audit entry
and its ledger entry: of two reviewers racing, exactly one moves the request, the other gets 409.
The tables are in models.hour_requests, the hours a person has on a task in models.hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.query_utils import Prefetch
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.audit import record
from models.campaigns import Task
from models.hour_requests import MAX_PHOTOS, HourRequest, HourRequestMedia, once_key, open_key
from models.hours import credited_hours, hours_between
from models.ledger import LedgerEntry, write_entry
from models.media import owned_media
from models.submissions import Submission
from models.tasks import TaskClosed, in_audience
from models.users import User
from server.kernel.clock import LOCAL_TZ, now_utc
from server.kernel.effects import AfterCommit
from server.kernel.errors import Conflict, Forbidden, InvalidRequest
from server.kernel.ids import is_id

# Times may lie a little outside the task's window: people arrive early to set up and stay to clear up.
WINDOW_SLACK = timedelta(hours=2)
# Phones' clocks run a little fast: an end "now" on such a phone is not in the future.
CLOCK_SKEW = timedelta(minutes=5)
POINTS_ALREADY = "该任务已通过审核或补录并计过积分，本次补录只计服务时长，不再计积分"
HOURS_FULL = "该任务的服务时长已全部计入，本次补录不再增加时长"


class HourRequestOpen(Conflict):
    code, message = "hour_request_open", "该任务已有一条待审核的补录申请，请等待审核结果后再申请"


class HourRequestReviewed(Conflict):
    code, message = "already_reviewed", "该补录申请已审核过"


@dataclass
class Claim:
    """What a person asks to have recorded: the times they served, a note, proof photos."""

    task_id: int
    started_at: datetime
    ended_at: datetime
    note: str
    media_ids: list[int]


def check_times(task: Task, started_at: datetime, ended_at: datetime, now: datetime) -> Decimal:
    """The hours the times come to, or a 400 naming the field at fault."""
    if ended_at <= started_at:
        raise InvalidRequest.fields({"ended_at": "结束时间须晚于开始时间"})
    if ended_at > now + CLOCK_SKEW:
        raise InvalidRequest.fields({"ended_at": "结束时间不能晚于现在"})
    earliest, latest = task.starts_at - WINDOW_SLACK, task.ends_at + WINDOW_SLACK
    window = f"{_local(earliest)} 至 {_local(latest)}"
    if started_at < earliest or started_at > latest:
        raise InvalidRequest.fields({"started_at": f"开始时间须在任务时间前后 2 小时内（{window}）"})
    if ended_at > latest:
        raise InvalidRequest.fields({"ended_at": f"结束时间须在任务时间前后 2 小时内（{window}）"})
    hours = hours_between(started_at, ended_at, task.service_hours)
    if hours <= 0:
        raise InvalidRequest.fields({"ended_at": "服务时间不足半小时，或该任务不计服务时长，无需补录"})
    return hours


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


async def request_hours(person: User, task: Task, claim: Claim) -> HourRequest:
    """A new pending request (``task`` with its campaign, from ``models.tasks.get_task``).

    No enrollment needed, that is what a make-up is for: the person must be in the task's audience.
    The unique ``open_key`` makes a second open request for the same task a 409, however raced.
    """
    if task.cancelled_at is not None:
        raise TaskClosed("任务已取消，不能补录")
    if not in_audience(task, person):
        raise Forbidden("您不在该任务的参与范围内，不能补录")
    hours = check_times(task, claim.started_at, claim.ended_at, now_utc())
    if len(claim.media_ids) > MAX_PHOTOS:
        raise InvalidRequest.fields({"media_ids": f"最多 {MAX_PHOTOS} 张照片"})
    if len(set(claim.media_ids)) != len(claim.media_ids):
        raise InvalidRequest.fields({"media_ids": "照片不能重复"})
    media = await owned_media(person, claim.media_ids) if claim.media_ids else []
    try:
        async with in_transaction():
            request = await HourRequest.create(
                task_id=task.id,
                user_id=person.id,
                started_at=claim.started_at,
                ended_at=claim.ended_at,
                hours=hours,
                note=claim.note,
                open_key=open_key(task.id, person.id),
            )
            await HourRequestMedia.bulk_create(
                [HourRequestMedia(request_id=request.id, media_id=m.id, position=i) for i, m in enumerate(media)]
            )
    except IntegrityError:
        raise HourRequestOpen() from None
    return request


async def with_relations(rows: QuerySet[HourRequest]) -> list[HourRequest]:
    """Requests with their person (and org), task, campaign org and photos in a fixed number of queries."""
    photos = Prefetch("photos", queryset=HourRequestMedia.all().order_by("position").select_related("media"))
    return await rows.select_related("user__org", "task__campaign__org").prefetch_related(photos)


async def get_hour_request(request_id: int) -> HourRequest | None:
    if not is_id(request_id):
        return None
    rows = await with_relations(HourRequest.filter(id=request_id))
    return rows[0] if rows else None


async def hour_requests_page(
    *,
    user_id: int | None,
    scope_path: str | None,
    status: str | None,
    task_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[HourRequest]:
    """Newest first, ``limit + 1`` rows: one person's own (``user_id``), or those on tasks of campaigns
    in the org subtree ``scope_path`` (None with no ``user_id``: everywhere, for admins)."""
    rows = HourRequest.all()
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    elif scope_path is not None:
        rows = rows.filter(task__campaign__org__path__startswith=scope_path)
    if status is not None:
        rows = rows.filter(status=status)
    if task_id is not None:
        rows = rows.filter(task_id=task_id)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return await with_relations(rows.order_by("-id").limit(limit + 1))


async def pending_count(scope_path: str | None) -> int:
    """Requests awaiting review on tasks of campaigns in the org subtree ``scope_path`` (None: everywhere)."""
    rows = HourRequest.filter(status="pending")
    if scope_path is not None:
        rows = rows.filter(task__campaign__org__path__startswith=scope_path)
    return await rows.count()


@dataclass
class Verdict:
    decision: str  # approve | reject
    reason: str | None = None


async def review_hours(request: HourRequest, reviewer: User, verdict: Verdict, after: AfterCommit) -> list[LedgerEntry]:
    """Approve (one ledger entry of credit hours, points the first time only) or reject with a reason.

    ``request`` comes with its task and person (``get_hour_request``); the caller checked the reviewer's
    scope. Hours per person and task never go past the task's ``service_hours``, whatever route
    (evidence, check-out, make-up) credited them. After commit the rankings move and the person is told.
    """
    reason = (verdict.reason or "").strip() or None
    if verdict.decision not in ("approve", "reject"):
        raise InvalidRequest.fields({"decision": "审核结果须为 approve 或 reject"})
    if verdict.decision == "reject" and reason is None:
        raise InvalidRequest.fields({"reason": "驳回须说明原因"})
    task = request.task
    if verdict.decision == "approve" and task.cancelled_at is not None:
        raise TaskClosed("任务已取消，不能通过补录，请驳回")
    now = now_utc()
    entries: list[LedgerEntry] = []
    try:
        async with in_transaction():
            updates: dict[str, Any] = {
                "status": "approved" if verdict.decision == "approve" else "rejected",
                "reason": reason,
                "open_key": None,
                "reviewed_at": now,
                "reviewed_by_id": reviewer.id,
            }
            if verdict.decision == "approve":
                hours, points = await _award(request)
                updates.update(awarded_hours=hours, awarded_points=points)
            if await HourRequest.filter(id=request.id, status="pending").update(**updates) != 1:
                raise HourRequestReviewed()
            if verdict.decision == "approve":
                entry = await write_entry(
                    request.user,
                    kind="award",
                    points=updates["awarded_points"],
                    hours=updates["awarded_hours"],
                    reason=f"补录服务时长：{task.title}",
                    hours_kind="credit",
                    campaign_id=task.campaign_id,
                    once_key=once_key(request.id),
                )
                entries.append(entry)
            details = {
                "decision": verdict.decision,
                "reason": reason,
                "hours": str(updates.get("awarded_hours", Decimal("0"))),
                "points": updates.get("awarded_points", 0),
            }
            await record(reviewer, "hour_request_review", f"hour_request:{request.id}", details)
    except IntegrityError:
        raise HourRequestReviewed() from None
    await after.points_moved(entries)
    await after.notify("notify_hour_request", request.id)
    return entries


async def _award(request: HourRequest) -> tuple[Decimal, int]:
    """The hours and points an approval of ``request`` gives now.

    Hours: the request's, up to what the task still has for the person. Points: the task's, only
    when no approved evidence and no earlier approved make-up of the task gave any.
    """
    task = request.task
    left = max(task.service_hours - await credited_hours(task.id, request.user_id), Decimal("0"))
    hours = min(request.hours, left).quantize(Decimal("0.01"))
    earlier = await Submission.filter(task_id=task.id, user_id=request.user_id, status="approved").exists()
    earlier = earlier or await HourRequest.filter(task_id=task.id, user_id=request.user_id, status="approved").exists()
    return hours, 0 if earlier else task.points


def award_note(request: HourRequest) -> str | None:
    """Why an approval gave less than the task offers: no points, or fewer hours than asked."""
    if request.status != "approved":
        return None
    notes = []
    if request.awarded_hours < request.hours:
        notes.append(HOURS_FULL if request.awarded_hours <= 0 else "该任务的服务时长已部分计入，本次补录只计剩余时长")
    if request.awarded_points == 0 and request.task.points > 0:
        notes.append(POINTS_ALREADY)
    return "；".join(notes) or None
