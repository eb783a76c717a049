"""Subscribe messages: who is told what, recorded once per person, event and subject.

The row is written before the send, unique per (user, event, ref), so a job that is
retried, or run twice, never tells anyone twice what was already sent. Template
field values follow WeChat's rules (``thing`` at most 20 characters, ``phrase`` 5,
``time`` a date-time); the field names are listed in the README.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.campaigns import Enrollment, Task
from models.submissions import Submission
from models.tasks import in_audience
from models.users import MEMBER_ROLES, User
from server.kernel.clock import LOCAL_TZ

EVENTS = ("task_new", "review_result", "task_reminder", "reach_reminder", "notice")
STATUSES = ("queued", "sent", "refused", "failed")
THING_MAX = 20
PHRASE_MAX = 5


class Notification(Model):
    """One subscribe message to one person: queued, then sent, refused (43101) or failed."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    event = fields.CharField(max_length=32)
    ref_id = fields.IntField()
    status = fields.CharField(max_length=16, default="queued", db_index=True)
    errcode = fields.IntField(null=True)
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "notifications"
        unique_together = (("user", "event", "ref_id"),)


def cut(text: str, limit: int) -> str:
    """WeChat refuses longer values (47003): keep ``limit`` characters, the last one an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def time_field(moment: datetime) -> dict[str, str]:
    return {"value": moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")}


def thing_field(text: str) -> dict[str, str]:
    return {"value": cut(text, THING_MAX) or "-"}


def review_result_message(submission: Submission) -> tuple[dict[str, Any], str]:
    """Template fields and page of the review result (needs the submission's task)."""
    approved = submission.status == "approved"
    detail = f"获得 {submission.awarded_points or 0} 积分" if approved else (submission.reason or "请查看详情")
    data = {
        "thing1": thing_field(submission.task.title),
        "phrase2": {"value": cut("已通过" if approved else "未通过", PHRASE_MAX)},
        "thing3": thing_field(detail),
        "time4": time_field(submission.reviewed_at or submission.updated_at),
    }
    return data, f"pages/submission/detail?id={submission.id}"


def hour_request_message(request: Any) -> tuple[dict[str, Any], str]:
    """The review-result template's fields for a decided make-up request (needs its task)."""
    approved = request.status == "approved"
    if approved:
        detail = f"补录 {request.awarded_hours.normalize():f} 小时，{request.awarded_points} 积分"
    else:
        detail = request.reason or "请查看详情"
    data = {
        "thing1": thing_field(f"补录：{request.task.title}"),
        "phrase2": {"value": cut("已通过" if approved else "未通过", PHRASE_MAX)},
        "thing3": thing_field(detail),
        "time4": time_field(request.reviewed_at or request.created_at),
    }
    return data, f"pages/hours/detail?id={request.id}"


def task_message(task: Task) -> tuple[dict[str, Any], str]:
    """Template fields and page of a task (new task, and the day-before reminder)."""
    data = {
        "thing1": thing_field(task.title),
        "time2": time_field(task.starts_at),
        "thing3": thing_field(task.location_name or task.campaign.title),
    }
    return data, f"pages/task/detail?id={task.id}"


def reach_reminder_message(submission: Submission, stage: int) -> tuple[dict[str, Any], str]:
    """Template fields and page of the reminder to record reach ``stage`` days after approval (needs the task)."""
    data = {"thing1": thing_field(submission.task.title), "thing2": thing_field(f"请更新作品传播数据（第{stage}天）")}
    return data, f"pages/submission/detail?id={submission.id}"


async def approved_online_between(start: datetime, end: datetime) -> list[Submission]:
    """Approved submissions to online tasks reviewed in [start, end), with their task: whose reach to ask for."""
    # Bounds in the zone the database stores: SQLite compares these as text.
    start, end = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    rows = await Submission.filter(
        status="approved", reviewed_at__gte=start, reviewed_at__lt=end, task__online__isnull=False
    ).select_related("task")
    # A task edited back to "not online" may store JSON null rather than SQL NULL.
    return [s for s in rows if s.task.online]


async def queue_for(event: str, ref_id: int, user_ids: Iterable[int]) -> list[Notification]:
    """Record the messages to send; people already told about ``ref_id`` are left out."""
    wanted = set(user_ids)
    if not wanted:
        return []
    known = set(
        await Notification.filter(event=event, ref_id=ref_id, user_id__in=wanted).values_list("user_id", flat=True)
    )
    new = [Notification(user_id=uid, event=event, ref_id=ref_id) for uid in sorted(wanted - known)]
    # Two copies of one job may race here: the unique index keeps one row, the other is ignored.
    await Notification.bulk_create(new, ignore_conflicts=True)
    return await pending(event, ref_id)


async def queue_batch(event: str, ref_id: int, user_ids: Iterable[int]) -> list[Notification]:
    """``queue_for`` for one batch of a large audience: the messages of these people still to send.

    Two statements whatever the batch: the insert leaves rows already there alone (unique index).
    """
    wanted = sorted(set(user_ids))
    if not wanted:
        return []
    new = [Notification(user_id=uid, event=event, ref_id=ref_id) for uid in wanted]
    await Notification.bulk_create(new, ignore_conflicts=True)
    return await Notification.filter(event=event, ref_id=ref_id, user_id__in=wanted, status="queued").select_related(
        "user"
    )


async def pending(event: str, ref_id: int) -> list[Notification]:
    """Messages of ``ref_id`` still to send, with their person."""
    return await Notification.filter(event=event, ref_id=ref_id, status="queued").select_related("user")


async def mark(notification: Notification, status: str, errcode: int | None = None) -> None:
    updates: dict[str, Any] = {"status": status, "errcode": errcode, "attempts": notification.attempts + 1}
    if status == "sent":
        updates["sent_at"] = datetime.now(LOCAL_TZ)
    await Notification.filter(id=notification.id).update(**updates)


async def task_audience(task: Task) -> list[int]:
    """Members who may take part in ``task``: inside its campaign's org subtree and its audience."""
    people = await User.filter(
        role__in=MEMBER_ROLES,
        deleted_at__isnull=True,
        openid__isnull=False,
        org__path__startswith=task.campaign.org.path,
    ).select_related("org")
    return [p.id for p in people if in_audience(task, p)]


async def tasks_starting_on(day_start: datetime) -> list[Task]:
    """Open tasks of published campaigns starting within the local day beginning at ``day_start``."""
    return await Task.filter(
        starts_at__gte=day_start,
        starts_at__lt=day_start + timedelta(days=1),
        cancelled_at__isnull=True,
        campaign__status="published",
    ).select_related("campaign")


async def enrolled_people(task_id: int) -> list[int]:
    return list(
        await Enrollment.filter(task_id=task_id, status__in=("enrolled", "checked_in")).values_list(
            "user_id", flat=True
        )
    )


def tomorrow_start(now: datetime) -> datetime:
    local = now.astimezone(LOCAL_TZ)
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
