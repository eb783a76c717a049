"""Enrollment within quota, withdrawal and on-site check-in."""

from __future__ import annotations

import hashlib
import hmac
import math
from base64 import urlsafe_b64encode
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.campaigns import Enrollment, Task
from models.idempotency import resuming, work_committed
from models.tasks import TaskClosed, in_audience
from models.users import User
from server.kernel.clock import local_text, now_utc
from server.kernel.errors import ApiError, Conflict, Forbidden

# Check-in opens a little before the task starts: people arrive early.
CHECKIN_EARLY = timedelta(minutes=30)
# A phone's GPS accuracy is honoured up to this much extra distance.
MAX_ACCURACY_ALLOWANCE_M = 200
EARTH_RADIUS_M = 6_371_008.8
# The mini-program page a task's check-in code opens (with the scene of ``scene_for``).
CHECKIN_PAGE = "pages/checkin/index"
# Rows per query when a whole list of enrollments is read (the console's roster download).
ROSTER_BATCH = 500


class TaskFull(Conflict):
    code, message = "task_full", "名额已满"


class AlreadyEnrolled(Conflict):
    code, message = "already_enrolled", "您已报名该任务"


class NotInAudience(Forbidden):
    code, message = "not_in_audience", "该任务不面向您所在的组织或身份"


class NotEnrolled(Conflict):
    code, message = "not_enrolled", "您尚未报名该任务"


class CheckinWindowClosed(Conflict):
    code, message = "checkin_window_closed", "不在签到时间内"

    @classmethod
    def of(cls, task: Task, now: datetime) -> CheckinWindowClosed:
        """Says when check-in opens (or closed), in local time, so people know whether to come back."""
        opens_at, closes_at = task.starts_at - CHECKIN_EARLY, task.ends_at
        if task.cancelled_at is not None:
            message = "任务已取消，不能签到"
        elif now < opens_at:
            message = f"签到尚未开始，将于 {local_text(opens_at)} 开始，{local_text(closes_at)} 结束"
        else:
            message = f"签到已于 {local_text(closes_at)} 结束"
        return cls(message, details={"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()})


class OutsideArea(ApiError):
    status, code, message = 400, "outside_area", "不在签到范围内"


class BadScene(ApiError):
    status, code, message = 400, "bad_scene", "签到码无效"


def ensure_open(task: Task, now: datetime) -> None:
    if task.status_at(now) != "open" or task.campaign.status != "published":
        raise TaskClosed()


async def enroll(task: Task, user: User) -> Enrollment:
    """Take one place; the quota holds under any concurrency (conditional update)."""
    now = now_utc()
    ensure_open(task, now)
    if not in_audience(task, user):
        raise NotInAudience()
    existing = await Enrollment.get_or_none(task_id=task.id, user_id=user.id)
    if existing is not None and existing.status != "withdrawn":
        if resuming():
            return existing  # this request's own enrollment: its answer was lost, not its work
        raise AlreadyEnrolled()
    async with in_transaction():
        taken = Task.filter(id=task.id, cancelled_at__isnull=True)
        if task.quota is not None:
            taken = taken.filter(enrolled_count__lt=F("quota"))
        if await taken.update(enrolled_count=F("enrolled_count") + 1) != 1:
            raise TaskFull()
        try:
            if existing is None:
                enrollment = await Enrollment.create(task_id=task.id, user_id=user.id, enrolled_at=now)
            else:
                # Re-enrolling after withdrawal: only a withdrawn row may flip back.
                changed = await Enrollment.filter(id=existing.id, status="withdrawn").update(
                    status="enrolled", enrolled_at=now, checked_in_at=None, checkin_method=None
                )
                if changed != 1:
                    raise AlreadyEnrolled()
                enrollment = await Enrollment.get(id=existing.id)
        except IntegrityError:
            # A concurrent request of the same person won; the counter rolls back with us.
            raise AlreadyEnrolled() from None
        await work_committed()
    task.enrolled_count += 1
    return enrollment


async def withdraw(task: Task, user: User) -> None:
    """Give the place back; a submitted enrollment stays (its evidence is under review)."""
    enrollment = await Enrollment.get_or_none(task_id=task.id, user_id=user.id)
    if enrollment is None or enrollment.status == "withdrawn":
        raise NotEnrolled()
    if enrollment.status == "submitted":
        raise Conflict("已提交材料，不能取消报名")
    async with in_transaction():
        changed = await Enrollment.filter(id=enrollment.id, status__in=("enrolled", "checked_in")).update(
            status="withdrawn"
        )
        if changed != 1:
            raise NotEnrolled()
        await Task.filter(id=task.id).update(enrolled_count=F("enrolled_count") - 1)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def scene_for(task_id: int, secret: bytes) -> str:
    """The check-in scene printed in a task's mini-program code: id + truncated HMAC.

    At most 10 + 1 + 16 = 27 characters of [0-9A-Za-z-_.], inside WeChat's 32.
    """
    return f"{task_id}.{_scene_sig(task_id, secret)}"


def _scene_sig(task_id: int, secret: bytes) -> str:
    digest = hmac.new(secret, f"checkin:{task_id}".encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).decode()[:16]


def verify_scene(scene: str, task_id: int, secret: bytes) -> None:
    head, _, sig = scene.partition(".")
    if head != str(task_id) or not hmac.compare_digest(sig.encode(), _scene_sig(task_id, secret).encode()):
        raise BadScene()


async def check_in(
    task: Task,
    user: User,
    *,
    lat: float | None = None,
    lng: float | None = None,
    accuracy_m: float | None = None,
    scene: str | None = None,
    scene_secret: bytes = b"",
) -> Enrollment:
    """Mark the person present, by GPS within the radius or by the task's printed code."""
    now = now_utc()
    enrollment = await Enrollment.get_or_none(task_id=task.id, user_id=user.id)
    if enrollment is None or enrollment.status == "withdrawn":
        raise NotEnrolled()
    if task.cancelled_at is not None or not (task.starts_at - CHECKIN_EARLY <= now <= task.ends_at):
        raise CheckinWindowClosed.of(task, now)
    if enrollment.checked_in_at is not None:
        return enrollment  # checking in twice is harmless on a flaky network
    updates: dict[str, object] = {"checked_in_at": now}
    if scene is not None:
        verify_scene(scene, task.id, scene_secret)
        updates["checkin_method"] = "scene"
    else:
        assert lat is not None and lng is not None
        if task.lat is None or task.lng is None or task.radius_m is None:
            raise OutsideArea("该任务未设置签到地点，请扫描现场签到码")
        dist = distance_m(lat, lng, task.lat, task.lng)
        allowance = min(accuracy_m or 0.0, MAX_ACCURACY_ALLOWANCE_M)
        if dist > task.radius_m + allowance:
            raise OutsideArea(
                f"距签到点约 {round(dist)} 米，超出 {task.radius_m} 米范围",
                details={"distance_m": round(dist)},
            )
        updates.update(checkin_method="gps", checkin_lat=lat, checkin_lng=lng, checkin_distance_m=round(dist))
    if enrollment.status == "enrolled":
        updates["status"] = "checked_in"
    # Not on a withdrawal that committed meanwhile: its place went back to the quota.
    changed = await Enrollment.filter(
        id=enrollment.id, checked_in_at__isnull=True, status__in=("enrolled", "submitted")
    ).update(**updates)
    if changed != 1:
        current = await Enrollment.get(id=enrollment.id)
        if current.status == "withdrawn":
            raise NotEnrolled()
        return current  # checked in by a copy of this request a moment ago
    enrollment.update_from_dict(updates)
    return enrollment


async def enrollments_page(task_id: int, after_id: int | None, limit: int) -> list[Enrollment]:
    """A task's enrollments in enrollment order with their people and orgs, ``limit + 1`` rows."""
    rows = Enrollment.filter(task_id=task_id).select_related("user__org").order_by("id")
    if after_id:
        rows = rows.filter(id__gt=after_id)
    return await rows.limit(limit + 1)


async def all_enrollments(task_id: int) -> list[Enrollment]:
    """Every enrollment of a task, in enrollment order, people and orgs joined (in batches of ``enrollments_page``)."""
    found: list[Enrollment] = []
    after_id: int | None = None
    while True:
        rows = await enrollments_page(task_id, after_id, ROSTER_BATCH)
        found.extend(rows[:ROSTER_BATCH])
        if len(rows) <= ROSTER_BATCH:
            return found
        after_id = rows[ROSTER_BATCH - 1].id
