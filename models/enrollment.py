"""Enrollment within quota, withdrawal, on-site check-in and check-out."""

from __future__ import annotations

import hashlib
import hmac
import math
from base64 import urlsafe_b64encode
from dataclasses import dataclass
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
# Check-out stays open this long after the task ends: clearing up, a phone with no signal until the road.
CHECKOUT_GRACE = timedelta(hours=2)
# A phone's GPS accuracy is honoured up to this much extra distance.
MAX_ACCURACY_ALLOWANCE_M = 200
EARTH_RADIUS_M = 6_371_008.8
# The mini-program page a task's check-in code opens (with the scene of ``scene_for``).
CHECKIN_PAGE = "pages/checkin/index"
# Rows per query when a whole list of enrollments is read (the console's roster download).
ROSTER_BATCH = 500


# An enrollment taken up again starts afresh: no check-in, check-out or reminder of the earlier one.
NOT_ON_SITE: dict[str, object] = {
    "checked_in_at": None,
    "checkin_method": None,
    "checked_out_at": None,
    "checkout_method": None,
    "checkout_distance_m": None,
    "checkout_reminded_at": None,
}


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


class NotCheckedIn(Conflict):
    code, message = "not_checked_in", "您尚未签到，请先签到再签退"


class CheckoutNotRequired(Conflict):
    code, message = "conflict", "该任务无需签退"


class CheckoutWindowClosed(Conflict):
    code, message = "checkout_window_closed", "不在签退时间内"

    @classmethod
    def of(cls, task: Task) -> CheckoutWindowClosed:
        """Says until when check-out was open, in local time (it opens at the person's own check-in)."""
        closes_at = task.ends_at + CHECKOUT_GRACE
        if task.cancelled_at is not None:
            message = "任务已取消，不能签退"
        else:
            message = f"签退已于 {local_text(closes_at)} 结束（任务结束后 {_hours_text(CHECKOUT_GRACE)} 内可签退）"
        return cls(message, details={"closes_at": closes_at.isoformat()})


def _hours_text(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} 小时" if minutes % 60 == 0 else f"{minutes} 分钟"


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
                    status="enrolled", enrolled_at=now, **NOT_ON_SITE
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


@dataclass(frozen=True)
class Place:
    """How a person showed they were on site: ``gps`` (with the distance in metres) or ``scene``."""

    method: str
    distance_m: int | None = None


def on_site(
    task: Task,
    *,
    lat: float | None,
    lng: float | None,
    accuracy_m: float | None,
    scene: str | None,
    scene_secret: bytes,
    act: str = "签到",
) -> Place:
    """Check-in's and check-out's rule: the task's printed code, or a GPS point within its radius.

    ``act`` (签到 or 签退) names what the person is doing in the messages."""
    if scene is not None:
        verify_scene(scene, task.id, scene_secret)
        return Place("scene")
    assert lat is not None and lng is not None
    if task.lat is None or task.lng is None or task.radius_m is None:
        raise OutsideArea(f"该任务未设置{act}地点，请扫描现场签到码")
    dist = distance_m(lat, lng, task.lat, task.lng)
    allowance = min(accuracy_m or 0.0, MAX_ACCURACY_ALLOWANCE_M)
    if dist > task.radius_m + allowance:
        raise OutsideArea(
            f"距{act}点约 {round(dist)} 米，超出 {task.radius_m} 米范围",
            details={"distance_m": round(dist)},
        )
    return Place("gps", round(dist))


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
    place = on_site(task, lat=lat, lng=lng, accuracy_m=accuracy_m, scene=scene, scene_secret=scene_secret)
    updates: dict[str, object] = {"checked_in_at": now, "checkin_method": place.method}
    if place.method == "gps":
        updates.update(checkin_lat=lat, checkin_lng=lng, checkin_distance_m=place.distance_m)
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


async def check_out(
    task: Task,
    user: User,
    *,
    lat: float | None = None,
    lng: float | None = None,
    accuracy_m: float | None = None,
    scene: str | None = None,
    scene_secret: bytes = b"",
) -> Enrollment:
    """Mark the person gone, by check-in's rules, from their check-in until a grace after the task ends.

    Checking out twice answers the first check-out: its time is what the hours are counted to."""
    now = now_utc()
    enrollment = await Enrollment.get_or_none(task_id=task.id, user_id=user.id)
    if enrollment is None or enrollment.status == "withdrawn":
        raise NotEnrolled()
    if not task.checkout_required:
        raise CheckoutNotRequired()
    if enrollment.checked_in_at is None:
        raise NotCheckedIn()
    if enrollment.checked_out_at is not None:
        return enrollment  # a retry on a flaky network: the first check-out stands
    if task.cancelled_at is not None or now > task.ends_at + CHECKOUT_GRACE:
        raise CheckoutWindowClosed.of(task)
    place = on_site(task, lat=lat, lng=lng, accuracy_m=accuracy_m, scene=scene, scene_secret=scene_secret, act="签退")
    updates: dict[str, object] = {
        "checked_out_at": now,
        "checkout_method": place.method,
        "checkout_distance_m": place.distance_m,
    }
    # Once, and not on a withdrawal that committed meanwhile.
    changed = await Enrollment.filter(
        id=enrollment.id,
        checked_in_at__isnull=False,
        checked_out_at__isnull=True,
        status__in=("checked_in", "submitted"),
    ).update(**updates)
    if changed != 1:
        current = await Enrollment.get(id=enrollment.id)
        if current.status == "withdrawn":
            raise NotEnrolled()
        return current  # checked out by a copy of this request a moment ago
    enrollment.update_from_dict(updates)
    return enrollment


async def due_checkout_reminders(now: datetime, ahead: timedelta) -> dict[int, list[Enrollment]]:
    """People still on site without a check-out, of tasks needing one that end within ``ahead`` or ended
    within the grace: by task, with the task (one query). Those reminded already are among them,
    so a send that failed for WeChat being busy is retried while they still have not checked out."""
    rows = await Enrollment.filter(
        checked_in_at__isnull=False,
        checked_out_at__isnull=True,
        status__in=("checked_in", "submitted"),
        task__checkout_required=True,
        task__cancelled_at__isnull=True,
        task__ends_at__lte=now + ahead,
        task__ends_at__gte=now - CHECKOUT_GRACE,
    ).select_related("task")
    due: dict[int, list[Enrollment]] = {}
    for row in rows:
        due.setdefault(row.task_id, []).append(row)
    return due


async def mark_reminded(enrollment_ids: list[int], now: datetime) -> list[int]:
    """Claim the reminder of each enrollment once (a conditional update): the ids this call claimed."""
    claimed = []
    for enrollment_id in enrollment_ids:  # one by one: which rows this call won is the point
        if await Enrollment.filter(id=enrollment_id, checkout_reminded_at__isnull=True).update(
            checkout_reminded_at=now
        ):
            claimed.append(enrollment_id)
    return claimed


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
