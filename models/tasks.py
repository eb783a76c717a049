"""Operations on tasks that keep their invariants (those on campaigns are in models.campaigns)."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.audit import record
from models.campaigns import Campaign, Enrollment, Task, check_inside_campaign, check_window
from models.orgs import Org
from models.quiz_pool import check_bank
from models.submission_links import free_links_of_cancelled_task
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.effects import AfterCommit
from server.kernel.errors import Conflict, InvalidRequest, NotFound
from server.kernel.ids import is_id


class TaskClosed(Conflict):
    code, message = "task_closed", "任务已结束或已取消"


async def get_task(task_id: int) -> Task:
    task = await Task.get_or_none(id=task_id).select_related("campaign__org") if is_id(task_id) else None
    if task is None:
        raise NotFound("任务不存在")
    return task


def check_photos(min_photos: int, max_photos: int) -> None:
    if min_photos > max_photos:
        raise InvalidRequest.fields({"min_photos": "最少照片数不能大于最多照片数"})


def check_online(online: dict[str, Any] | None, checkin_required: bool) -> None:
    """An online task's work is a post: there is no site to check in at."""
    if online and checkin_required:
        raise InvalidRequest.fields({"checkin_required": "线上传播任务无需现场签到，请取消“需要签到”"})


def check_checkout(
    online: dict[str, Any] | None, checkout_required: bool, checkin_required: bool, lat: float | None
) -> None:
    """Check-out needs a site: a place to stand in (location) or a check-in to count the hours from."""
    if not checkout_required:
        return
    if online:
        raise InvalidRequest.fields({"checkout_required": "线上传播任务无需现场签退，请取消“需要签退”"})
    if lat is None and not checkin_required:
        raise InvalidRequest.fields({"checkout_required": "需要签退的任务须设置签到地点或勾选“需要签到”"})


async def audience_fields(audience: dict[str, list[str]] | None) -> dict[str, str | None]:
    """Store an audience as LIKE-searchable strings; unknown org ids are a 400."""
    if not audience:
        return {"audience_roles": None, "audience_org_paths": None, "audience_org_ids": None}
    roles = audience.get("roles") or []
    org_ids = [int(i) for i in audience.get("org_ids") or []]
    orgs = await Org.filter(id__in=org_ids) if org_ids else []
    if len(orgs) != len(set(org_ids)):
        raise InvalidRequest.fields({"audience.org_ids": "包含不存在的组织"})
    return {
        "audience_roles": f",{','.join(roles)}," if roles else None,
        "audience_org_paths": "|" + "|".join(o.path for o in orgs) + "|" if orgs else None,
        "audience_org_ids": ",".join(str(i) for i in sorted(set(org_ids))) or None,
    }


async def create_task(campaign: Campaign, data: dict[str, Any], after: AfterCommit) -> Task:
    """A new task; in a published campaign its audience is told after commit."""
    if campaign.status == "closed":
        raise Conflict("活动已结束，不能新增任务")
    check_window(data["starts_at"], data["ends_at"])
    check_inside_campaign(campaign, data["starts_at"], data["ends_at"])
    check_photos(data.get("min_photos", 1), data.get("max_photos", 9))
    check_online(data.get("online"), data.get("checkin_required", False))
    check_checkout(
        data.get("online"), data.get("checkout_required", False), data.get("checkin_required", False), data.get("lat")
    )
    await check_bank(campaign.org, data.get("quiz"))
    task = await Task.create(campaign=campaign, **data)
    task.campaign = campaign
    if campaign.status == "published":
        await after.notify("notify_task_new", task.id)
    return task


async def update_task(task: Task, changes: dict[str, Any]) -> Task:
    if task.cancelled_at is not None:
        raise TaskClosed("任务已取消，不能修改")
    starts_at, ends_at = changes.get("starts_at", task.starts_at), changes.get("ends_at", task.ends_at)
    check_window(starts_at, ends_at)
    if "starts_at" in changes or "ends_at" in changes:
        check_inside_campaign(task.campaign, starts_at, ends_at)
    check_photos(changes.get("min_photos", task.min_photos), changes.get("max_photos", task.max_photos))
    check_online(changes.get("online", task.online), changes.get("checkin_required", task.checkin_required))
    check_checkout(
        changes.get("online", task.online),
        changes.get("checkout_required", task.checkout_required),
        changes.get("checkin_required", task.checkin_required),
        changes.get("lat", task.lat),
    )
    if changes.get("quiz"):
        await check_bank(task.campaign.org, changes["quiz"])
    if changes:
        # Only the changed columns, under the conditions they must still meet when written:
        # writing back the row as it was read would undo enrollments (enrolled_count) or a
        # cancellation (cancelled_at) that committed in between.
        rows = Task.filter(id=task.id, cancelled_at__isnull=True)
        if changes.get("quota") is not None:
            rows = rows.filter(enrolled_count__lte=changes["quota"])
        if await rows.update(**changes, updated_at=now_utc()) != 1:
            stored = await Task.get(id=task.id)
            if stored.cancelled_at is not None:
                raise TaskClosed("任务已取消，不能修改")
            raise InvalidRequest.fields({"quota": f"已有 {stored.enrolled_count} 人报名，名额不能少于此数"})
    fresh = await Task.get(id=task.id)
    fresh.campaign = task.campaign
    return fresh


async def cancel_task(task: Task, actor: User) -> Task:
    """Cancel a task (it takes nothing new; records stay), audited by whoever cancelled it."""
    now = now_utc()
    async with in_transaction():
        if await Task.filter(id=task.id, cancelled_at__isnull=True).update(cancelled_at=now) == 1:
            await record(actor, "cancel", f"task:{task.id}", {"title": task.title})
            await free_links_of_cancelled_task(task.id)
    return await get_task(task.id)


def in_audience(task: Task, user: User) -> bool:
    if task.audience_roles and f",{user.role}," not in task.audience_roles:
        return False
    if task.audience_org_paths:
        path = user.org.path if user.org_id and user.org else None
        if path is None or not any(p and path.startswith(p) for p in task.audience_org_paths.split("|")):
            return False
    return True


def audience_filter(user: User) -> Q:
    """SQL form of ``in_audience`` for the feed."""
    roles = Q(audience_roles__isnull=True) | Q(audience_roles__contains=f",{user.role},")
    orgs = Q(audience_org_paths__isnull=True)
    path = user.org.path if user.org_id and user.org else None
    if path:
        parts = [p for p in path.strip("/").split("/") if p]
        for depth in range(1, len(parts) + 1):
            orgs |= Q(audience_org_paths__contains=f"|/{'/'.join(parts[:depth])}/|")
    return roles & orgs


async def enrollments_of(user: User, task_ids: list[int]) -> dict[int, Enrollment]:
    if not task_ids:
        return {}
    rows = await Enrollment.filter(user_id=user.id, task_id__in=task_ids)
    return {e.task_id: e for e in rows}
