"""Reviewing evidence: the submission's state change and its ledger entry commit together, once.

    pending | flagged ──approve──▶ approved ──reject──▶ rejected (a reversal entry)
    pending | flagged ──reject──▶ rejected
    pending | flagged ──erasure of its author──▶ withdrawn (final, see models.privacy)

Each transition is a conditional UPDATE on the status it leaves, so of two reviewers
racing (on any number of workers) exactly one moves the submission; the unique
(submission, kind) index of the ledger is the second lock. A rejected submission is
final: its author may hand in new evidence instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from models.audit import record
from models.campaigns import Enrollment, Task
from models.hour_requests import HourRequest, once_key
from models.hours import credited_hours, hours_between
from models.ledger import LedgerEntry, write_entry
from models.reach import reverse_bonuses, sync_tier_awards
from models.submission_links import free_links
from models.submissions import Submission
from models.tasks import TaskClosed
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.effects import AfterCommit
from server.kernel.errors import Conflict, InvalidRequest

AWAITING = ("pending", "flagged")
MAX_POINTS_FACTOR = 2


class AlreadyReviewed(Conflict):
    code, message = "already_reviewed", "该提交已审核过"


class SubmissionWithdrawn(Conflict):
    code, message = "submission_withdrawn", "该提交已撤回（提交人已注销账号），不能审核"


@dataclass
class Decision:
    decision: str  # approve | reject
    reason: str | None = None
    points: int | None = None  # approve only; None = the task's points
    service_hours: Decimal | None = None  # approve only; None = what the task and the person's check-out give


async def review(submission: Submission, reviewer: User, decision: Decision, after: AfterCommit) -> list[LedgerEntry]:
    """Apply one decision with its audit entry; then the rankings move and the author is told.

    ``submission`` comes with its task, campaign and user (``models.submissions.get_submission``).
    Returns the ledger entries written.
    """
    task = submission.task
    if task.cancelled_at is not None:
        raise TaskClosed("任务已取消，不能再审核")
    now = now_utc()
    try:
        async with in_transaction():
            if decision.decision == "approve":
                entries = await _approve(submission, reviewer, decision, now)
            else:
                entries = await _reject(submission, reviewer, decision, now)
            details = {
                "decision": decision.decision,
                "reason": decision.reason,
                "points": sum(e.points for e in entries),
                "service_hours": str(sum((e.service_hours for e in entries), Decimal("0"))),
            }
            await record(reviewer, "review", f"submission:{submission.id}", details)
    except IntegrityError:
        raise AlreadyReviewed() from None
    except AlreadyReviewed:
        # Lost to its author's erasure rather than to another reviewer: say so.
        if await Submission.filter(id=submission.id, status="withdrawn").exists():
            raise SubmissionWithdrawn() from None
        raise
    if decision.decision == "approve" and task.online:
        # Reach recorded while it awaited review earns its tiers now (own transaction, once each).
        entries = [*entries, *await sync_tier_awards(submission.id)]
    await after.points_moved(entries)
    await after.notify("notify_review", submission.id)
    return entries


def award_points(submission: Submission, points: int | None) -> int:
    """The task's points, or the reviewer's adjustment within 0..2x of them."""
    base = submission.task.points
    if points is None:
        return base
    if not 0 <= points <= MAX_POINTS_FACTOR * base:
        raise InvalidRequest.fields({"points": f"积分须在 0 到 {MAX_POINTS_FACTOR * base} 之间"})
    return points


def hours_due(task: Task, enrollment: Enrollment | None) -> Decimal:
    """The service hours approval gives when the reviewer says nothing.

    A task needing check-out: the time from check-in to check-out, rounded down to the half hour and
    capped by the task's hours (``models.hours.hours_between``), 0 without both. Any other task: its hours."""
    if not task.checkout_required:
        return task.service_hours
    if enrollment is None or enrollment.checked_in_at is None or enrollment.checked_out_at is None:
        return Decimal("0")
    return hours_between(enrollment.checked_in_at, enrollment.checked_out_at, task.service_hours)


async def on_site_of(submissions: list[Submission]) -> dict[int, Enrollment]:
    """The enrollment behind each submission (its check-in and check-out), by submission id, in one query."""
    if not submissions:
        return {}
    pairs = {(s.task_id, s.user_id) for s in submissions}
    rows = await Enrollment.filter(task_id__in={t for t, _ in pairs}, user_id__in={u for _, u in pairs})
    found = {(e.task_id, e.user_id): e for e in rows}
    return {s.id: found[(s.task_id, s.user_id)] for s in submissions if (s.task_id, s.user_id) in found}


async def task_hours(task_id: int) -> dict[int, Decimal]:
    """Credit hours each person holds from a task, by user id, in two queries.

    Its approvals (awards less reversals) and its approved make-up requests (补录)."""
    submissions = Submission.filter(task_id=task_id).values("id")
    made_up = await HourRequest.filter(task_id=task_id, status="approved").values_list("id", flat=True)
    held = Q(submission_id__in=Subquery(submissions))
    if made_up:
        held |= Q(once_key__in=[once_key(i) for i in made_up])
    rows = (
        await LedgerEntry.filter(held, hours_kind="credit")
        .group_by("user_id")
        .annotate(total=Sum("service_hours"))
        .values("user_id", "total")
    )
    return {row["user_id"]: Decimal(row["total"] or 0) for row in rows}


def award_hours(task: Task, enrollment: Enrollment | None, hours: Decimal | None) -> Decimal:
    """``hours_due``, or the reviewer's figure within 0..the task's hours."""
    if hours is None:
        return hours_due(task, enrollment)
    if not 0 <= hours <= task.service_hours:
        raise InvalidRequest.fields({"service_hours": f"服务时长须在 0 到 {task.service_hours.normalize():f} 小时之间"})
    return hours


async def _approve(submission: Submission, reviewer: User, decision: Decision, now: datetime) -> list[LedgerEntry]:
    points = award_points(submission, decision.points)
    enrollment = await Enrollment.get_or_none(task_id=submission.task_id, user_id=submission.user_id)
    hours = award_hours(submission.task, enrollment, decision.service_hours)
    # Never past the task's hours for the person, with what make-up requests (补录) credited already.
    room = submission.task.service_hours - await credited_hours(submission.task_id, submission.user_id)
    hours = max(Decimal("0"), min(hours, room))
    changed = await Submission.filter(id=submission.id, status__in=AWAITING).update(
        status="approved",
        decision="approve",
        reason=decision.reason,
        awarded_points=points,
        reviewed_at=now,
        reviewed_by_id=reviewer.id,
    )
    if changed != 1:
        raise AlreadyReviewed()
    entry = await _entry(submission, "award", points, hours, f"任务通过：{submission.task.title}")
    return [entry]


async def _reject(submission: Submission, reviewer: User, decision: Decision, now: datetime) -> list[LedgerEntry]:
    if not (decision.reason or "").strip():
        raise InvalidRequest.fields({"reason": "驳回须说明原因"})
    updates = {
        "status": "rejected",
        "decision": "reject",
        "reason": decision.reason,
        "awarded_points": 0,
        "reviewed_at": now,
        "reviewed_by_id": reviewer.id,
        "live_key": None,  # the author may hand in new evidence
    }
    if await Submission.filter(id=submission.id, status__in=AWAITING).update(**updates) == 1:
        await free_links([submission.id])
        return []
    # Rejecting what was approved: the award, and every bonus it earned since, taken back by more entries.
    if await Submission.filter(id=submission.id, status="approved").update(**updates) != 1:
        raise AlreadyReviewed()
    await free_links([submission.id])
    award = await LedgerEntry.get(submission_id=submission.id, kind="award")
    reason = f"撤销通过：{submission.task.title}"
    reversal = await _entry(submission, "reversal", -award.points, -award.service_hours, reason)
    return [reversal, *await reverse_bonuses(submission)]


async def _entry(submission: Submission, kind: str, points: int, hours: Decimal, reason: str) -> LedgerEntry:
    """The entry and the author's totals (``models.ledger.write_entry``)."""
    return await write_entry(
        submission.user,
        kind=kind,
        points=points,
        hours=hours,
        reason=reason,
        submission_id=submission.id,
        campaign_id=submission.task.campaign_id,
    )
