"""Reach of online work over days, and the points it earns by the task's published schedule.

The owner of a submission to an online task records its reach (views, likes, comments, shares)
as snapshots with a screenshot, typically the day after approval and a week later (reminded by
subscribe message, ``server.runtime.jobs.remind_reach``). Counts never go down from one snapshot
to the next in time (400 ``reach_decreasing``) unless staff of the task's subtree correct them;
a correction is audited. The submission keeps its latest snapshot's counts (``views`` ...), which
the ``reach`` leaderboard and the reports add up.

Points: once a submission is approved, each reach tier (``online.reach_tiers``, views → points)
its latest snapshot reaches is awarded once, and staff may record that an official site reposted
it (``POST /submissions/{id}/repost``) for that level's bonus once. Each award is a ledger entry
with its own reason and ``once_key`` (unique: a raced or retried award cannot pay twice), with
``bonus_of`` naming the submission. Rejecting an approved submission reverses every bonus with
it; a correction that brings views below a tier reverses that tier (and a later snapshot that
reaches it again awards it again, under a new key).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.audit import record
from models.idempotency import resuming, work_committed
from models.ledger import LedgerEntry, write_entry
from models.media import Media, near_candidates, owned_media, same_picture
from models.submissions import Submission, SubmissionMedia
from models.users import User
from server.kernel.clock import LOCAL_TZ, now_utc
from server.kernel.effects import AfterCommit
from server.kernel.errors import ApiError, Conflict, InvalidRequest

COUNTS = ("views", "likes", "comments", "shares")
COUNT_NAMES = {"views": "浏览量", "likes": "点赞数", "comments": "评论数", "shares": "转发数"}
REPOST_LEVELS = ("county", "city", "province", "national")
REPOST_NAMES = {"county": "县级", "city": "市级", "province": "省级", "national": "国家级"}
CLOCK_SKEW = timedelta(minutes=5)
# Rounds of a tier sync that lost a race to another (see ``sync_tier_awards``).
SYNC_TRIES = 3


class ReachDecreasing(ApiError):
    status, code, message = 400, "reach_decreasing", "数据不能比之前记录的少"


class NotOnline(Conflict):
    code, message = "not_online", "该任务不是线上传播任务"


class SubmissionClosed(Conflict):
    code, message = "submission_closed", "该提交已被驳回或撤回，不能再记录传播数据"


class NotApproved(Conflict):
    code, message = "not_approved", "提交尚未通过审核"


class RepostRecorded(Conflict):
    code, message = "repost_recorded", "该级别的转载已记录过"


class ReachSnapshot(Model):
    """The reach of a submission's post at one moment, with a screenshot when given."""

    id = fields.IntField(primary_key=True)
    submission: fields.ForeignKeyRelation[Submission] = fields.ForeignKeyField(
        "models.Submission", related_name="reach", on_delete=fields.CASCADE
    )
    views = fields.BigIntField()
    likes = fields.BigIntField(default=0)
    comments = fields.BigIntField(default=0)
    shares = fields.BigIntField(default=0)
    captured_at = fields.DatetimeField()
    media: fields.ForeignKeyNullableRelation[Media] = fields.ForeignKeyField(
        "models.Media", related_name="reach_uses", null=True, on_delete=fields.RESTRICT
    )
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reach_recorded", null=True, on_delete=fields.SET_NULL
    )
    correction = fields.BooleanField(default=False)  # entered by staff, may go below earlier counts
    # Submissions of other people holding the same or a near-identical screenshot.
    duplicate_of = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    submission_id: int
    media_id: int | None
    recorded_by_id: int | None

    class Meta:
        table = "reach_snapshots"


class Repost(Model):
    """An official site's repost of a submission's post, recorded by staff: one per level."""

    id = fields.IntField(primary_key=True)
    submission: fields.ForeignKeyRelation[Submission] = fields.ForeignKeyField(
        "models.Submission", related_name="reposts", on_delete=fields.CASCADE
    )
    level = fields.CharField(max_length=16)
    url = fields.CharField(max_length=2048)
    points = fields.IntField()
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reposts_recorded", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    submission_id: int

    class Meta:
        table = "reposts"
        unique_together = (("submission", "level"),)


@dataclass
class Reach:
    views: int
    likes: int
    comments: int
    shares: int
    captured_at: datetime
    media_id: int | None = None


def online_of(submission: Submission) -> dict[str, Any]:
    """The online settings of the submission's task; 409 ``not_online`` when it has none."""
    online = submission.task.online
    if not online:
        raise NotOnline()
    return online


async def add_snapshot(submission: Submission, actor: User, reach: Reach, after: AfterCommit) -> ReachSnapshot:
    """Record a snapshot by the owner (``actor`` is the author) or a staff correction (anyone else).

    ``submission`` comes from ``models.submissions.get_submission``; the caller has checked that
    ``actor`` may write it. Tier points follow when the submission is approved.
    """
    online_of(submission)
    if submission.status in ("rejected", "withdrawn"):
        raise SubmissionClosed()
    if reach.captured_at > now_utc() + CLOCK_SKEW:
        raise InvalidRequest.fields({"captured_at": "截图时间不能晚于现在"})
    # In the zone the database stores: SQLite compares these as text, and 15:00+00:00 sorts before 09:00+08:00.
    reach = replace(reach, captured_at=reach.captured_at.astimezone(LOCAL_TZ))
    correction = actor.id != submission.user_id
    if resuming() and (done := await _recorded(submission, actor, reach)) is not None:
        return done  # this request's own snapshot: its answer was lost, not its work
    media = (await owned_media(actor, [reach.media_id]))[0] if reach.media_id is not None else None
    duplicates = await _screenshot_matches(submission, media) if media is not None else []
    async with in_transaction():
        if not correction:
            await _check_not_decreasing(submission, reach)
        snapshot = await ReachSnapshot.create(
            submission_id=submission.id,
            views=reach.views,
            likes=reach.likes,
            comments=reach.comments,
            shares=reach.shares,
            captured_at=reach.captured_at,
            media_id=media.id if media else None,
            recorded_by_id=actor.id,
            correction=correction,
            duplicate_of=duplicates,
        )
        latest = await latest_snapshot(submission.id)
        await Submission.filter(id=submission.id).update(**{name: getattr(latest, name) for name in COUNTS})
        if correction:
            details = {name: getattr(reach, name) for name in COUNTS}
            details["captured_at"] = reach.captured_at.isoformat()
            await record(actor, "reach_correct", f"submission:{submission.id}", details)
        await work_committed()
    # Whatever status the caller loaded: an approval committed meanwhile has read the counts before
    # this snapshot's, and only this sync sees them (it re-reads the status and does nothing unless approved).
    await after.points_moved(await sync_tier_awards(submission.id))
    return snapshot


async def _recorded(submission: Submission, actor: User, reach: Reach) -> ReachSnapshot | None:
    """The snapshot a retried request already recorded (same person, moment and counts)."""
    counts = {name: getattr(reach, name) for name in COUNTS}
    return (
        await ReachSnapshot.filter(
            submission_id=submission.id, recorded_by_id=actor.id, captured_at=reach.captured_at, **counts
        )
        .order_by("-id")
        .first()
    )


async def _check_not_decreasing(submission: Submission, reach: Reach) -> None:
    before = (
        await ReachSnapshot.filter(submission_id=submission.id, captured_at__lte=reach.captured_at)
        .order_by("-captured_at", "-id")
        .first()
    )
    later = (
        await ReachSnapshot.filter(submission_id=submission.id, captured_at__gt=reach.captured_at)
        .order_by("captured_at", "id")
        .first()
    )
    for name in COUNTS:
        value = getattr(reach, name)
        if before is not None and value < getattr(before, name):
            raise ReachDecreasing(
                f"{COUNT_NAMES[name]}不能少于之前记录的 {getattr(before, name)}",
                details={"field": name, "previous": getattr(before, name)},
            )
        if later is not None and value > getattr(later, name):
            raise ReachDecreasing(
                f"{COUNT_NAMES[name]}不能多于之后记录的 {getattr(later, name)}",
                details={"field": name, "later": getattr(later, name)},
            )


async def latest_snapshot(submission_id: int) -> ReachSnapshot | None:
    return await ReachSnapshot.filter(submission_id=submission_id).order_by("-captured_at", "-id").first()


async def snapshots_of(submission_id: int) -> list[ReachSnapshot]:
    """In time order, with their screenshots and who recorded them (and their org): one query."""
    return (
        await ReachSnapshot.filter(submission_id=submission_id)
        .order_by("captured_at", "id")
        .select_related("media", "recorded_by__org")
    )


async def get_snapshot(snapshot_id: int) -> ReachSnapshot:
    """One snapshot as ``snapshots_of`` gives them."""
    return await ReachSnapshot.get(id=snapshot_id).select_related("media", "recorded_by__org")


async def _screenshot_matches(submission: Submission, media: Media) -> list[str]:
    """Submissions of other people holding the same or a near-identical picture (photo or screenshot).

    One query for candidates (the same SHA-256 or a shared 16-bit band of the perceptual hash), the
    Hamming distance decides, then where the matches are used."""
    # The owner's own pictures are theirs to reuse; a staff correction's screenshot is not a match of itself.
    candidates = await Media.filter(near_candidates([media])).exclude(owner_id=submission.user_id).exclude(id=media.id)
    found = [m.id for m in candidates if same_picture(m, media)]
    if not found:
        return []
    in_photos = await SubmissionMedia.filter(media_id__in=found).values_list("submission_id", flat=True)
    in_shots = await ReachSnapshot.filter(media_id__in=found).values_list("submission_id", flat=True)
    return [str(i) for i in sorted({*in_photos, *in_shots} - {submission.id})]


# -- bonuses through the ledger --------------------------------------------------------------------


def tiers_reached(online: dict[str, Any], views: int | None) -> list[dict[str, int]]:
    return [t for t in online.get("reach_tiers") or [] if views is not None and views >= t["views"]]


def _views_text(views: int) -> str:
    return f"{views / 10000:g} 万" if views >= 10000 else str(views)


async def sync_tier_awards(submission_id: int) -> list[LedgerEntry]:
    """Award the tiers the latest snapshot reaches and reverse those it no longer does.

    Own transaction. Two concurrent syncs may write the same award (the same once_key): the loser's
    IntegrityError rolls back its whole transaction, which may have held an award the winner did
    not see (it read older counts), so the loser reads again and retries. Returns the entries written.
    """
    for _ in range(SYNC_TRIES):
        try:
            return await _sync_tiers(submission_id)
        except IntegrityError:
            continue
    return []


async def _sync_tiers(submission_id: int) -> list[LedgerEntry]:
    async with in_transaction():
        # The row lock (PostgreSQL) orders this against a rejection: it either waits for this to commit and
        # reverses what it wrote, or commits first and this sees it rejected. A model query: values_list() drops
        # FOR UPDATE, and the outer joins of select_related() cannot take it.
        await Submission.filter(id=submission_id).select_for_update().first()
        submission = await Submission.get(id=submission_id).select_related("task", "user__org")
        if submission.status != "approved":
            return []
        reached = {t["views"]: t["points"] for t in tiers_reached(submission.task.online or {}, submission.views)}
        entries = []
        standing, earlier = await _tier_awards(submission.id)
        for views, points in sorted(reached.items()):
            if views not in standing and points > 0:
                # A tier reached again after a correction took it back is a new award: a new key.
                key = f"reach:{submission.id}:{views}:{earlier.get(views, 0)}"
                reason = f"传播达到 {_views_text(views)} 浏览：{submission.task.title}"
                entries.append(await _bonus(submission, points, reason, key))
        for views, award in standing.items():
            if views not in reached:
                entries.append(await _reverse(submission, award, f"传播数据更正，撤销 {_views_text(views)} 浏览奖励"))
        return entries


async def _tier_awards(submission_id: int) -> tuple[dict[int, LedgerEntry], dict[int, int]]:
    """The submission's tier awards not reversed, and how many were awarded in all, by the tier's views.

    One query, so both come from the same moment: a standing award that a concurrent sync committed
    is either seen (and not awarded again) or unseen and counted as absent (and the new award's key
    is the very one that sync wrote: a unique violation, not a second award)."""
    rows = await LedgerEntry.filter(bonus_of=submission_id, once_key__startswith=f"reach:{submission_id}:")
    reversed_keys = {r.once_key[:-2] for r in rows if r.kind == "reversal" and r.once_key}
    awards = [(int(r.once_key.split(":")[2]), r) for r in rows if r.kind == "award" and r.once_key]
    standing = {views: r for views, r in awards if r.once_key not in reversed_keys}
    return standing, dict(Counter(views for views, _ in awards))


async def _bonus(submission: Submission, points: int, reason: str, once_key: str) -> LedgerEntry:
    return await write_entry(
        submission.user,
        kind="award",
        points=points,
        hours=Decimal("0"),
        reason=reason,
        campaign_id=submission.task.campaign_id,
        bonus_of=submission.id,
        once_key=once_key,
    )


async def _reverse(submission: Submission, award: LedgerEntry, reason: str) -> LedgerEntry:
    return await write_entry(
        submission.user,
        kind="reversal",
        points=-award.points,
        hours=Decimal("0"),
        reason=reason,
        campaign_id=award.campaign_id,
        bonus_of=submission.id,
        once_key=f"{award.once_key}:x",
    )


async def reverse_bonuses(submission: Submission) -> list[LedgerEntry]:
    """Take back every standing bonus of a submission (inside the caller's transaction: a rejection)."""
    rows = await LedgerEntry.filter(bonus_of=submission.id)
    reversed_keys = {r.once_key[:-2] for r in rows if r.kind == "reversal" and r.once_key}
    return [
        await _reverse(submission, r, f"撤销奖励：{r.reason}"[:200])
        for r in rows
        if r.kind == "award" and r.once_key and r.once_key not in reversed_keys
    ]


async def record_repost(
    submission: Submission, staff: User, level: str, url: str, after: AfterCommit
) -> tuple[Repost, list[LedgerEntry]]:
    """Staff record an official site's repost: the level's bonus once, audited; 409 the second time."""
    online = online_of(submission)
    if level not in REPOST_LEVELS:
        raise InvalidRequest.fields({"level": "级别须为 county、city、province 或 national"})
    points = int((online.get("repost_bonus") or {}).get(level) or 0)
    try:
        async with in_transaction():
            # Read under the row lock (PostgreSQL), as a tier sync does: a rejection either waits and reverses
            # this bonus, or has committed and this refuses.
            locked = await Submission.filter(id=submission.id).select_for_update().first()
            if locked is None or locked.status != "approved":
                raise NotApproved("提交通过审核后才能记录转载奖励")
            repost = await Repost.create(
                submission_id=submission.id, level=level, url=url, points=points, recorded_by_id=staff.id
            )
            entries = []
            if points > 0:
                reason = f"作品被{REPOST_NAMES[level]}官方平台转载：{submission.task.title}"
                entries.append(await _bonus(submission, points, reason, f"repost:{submission.id}:{level}"))
            await record(staff, "repost", f"submission:{submission.id}", {"level": level, "url": url, "points": points})
    except IntegrityError:
        raise RepostRecorded(f"该提交的{REPOST_NAMES[level]}转载已记录过") from None
    await after.points_moved(entries)
    return repost, entries


async def reposts_of(submission_id: int) -> list[Repost]:
    return await Repost.filter(submission_id=submission_id).order_by("id")
