"""Evidence submissions: the rules for handing in photos, and the risk flags reviewers see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.query_utils import Prefetch
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.campaigns import Enrollment, Task
from models.enrollment import CHECKIN_EARLY, MAX_ACCURACY_ALLOWANCE_M, NotEnrolled, distance_m
from models.idempotency import resuming, work_committed
from models.media import Media, near_candidates, owned_media, same_picture, worst
from models.online_links import PLATFORM_NAMES
from models.submission_links import check_links, claimed_by, link_claimed, link_rows, used_before
from models.tasks import TaskClosed
from models.users import User
from server.kernel.clock import now_utc
from server.kernel.errors import ApiError, Conflict

# withdrawn: its author erased their account while it awaited review (models.privacy).
SUBMISSION_STATUSES = ("pending", "approved", "rejected", "flagged", "withdrawn")
# Evidence often goes up in the evening, or the next day where the signal is better.
SUBMIT_GRACE = timedelta(hours=72)
# A photo taken this long outside the task's window is flagged for the reviewer.
WINDOW_SLACK = CHECKIN_EARLY


class TooFewPhotos(ApiError):
    status, code, message = 400, "too_few_photos", "照片数量不足"


class TooManyPhotos(ApiError):
    status, code, message = 400, "too_many_photos", "照片数量超出上限"


class CheckinRequired(Conflict):
    code, message = "checkin_required", "请先完成现场签到再提交材料"


class AlreadySubmitted(Conflict):
    code, message = "already_submitted", "您已提交过该任务的材料，请等待审核"


class Submission(Model):
    """Evidence handed in for a task: text, photos, links, and what the checks found."""

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="submissions", on_delete=fields.RESTRICT
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="submissions", on_delete=fields.RESTRICT
    )
    status = fields.CharField(max_length=16, default="pending", db_index=True)
    text = fields.TextField(default="")
    links = fields.JSONField(default=list)
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    # "<task>:<user>" while the submission is alive (not rejected), NULL after: the unique
    # index lets a person have one live submission per task whatever races.
    live_key = fields.CharField(max_length=24, null=True, unique=True)
    text_check = fields.CharField(max_length=16, default="unchecked")
    duplicate_of = fields.JSONField(default=list)
    outside_area = fields.BooleanField(default=False)
    outside_window = fields.BooleanField(default=False)
    decision = fields.CharField(max_length=16, null=True)
    reason = fields.TextField(null=True)
    awarded_points = fields.IntField(null=True)
    # Online work: the latest reach snapshot's counts (models.reach), NULL before the first.
    views = fields.BigIntField(null=True)
    likes = fields.BigIntField(null=True)
    comments = fields.BigIntField(null=True)
    shares = fields.BigIntField(null=True)
    # Earlier (rejected or withdrawn) submissions that handed in one of these links, and the platforms
    # of links whose account the person has not had verified (models.submission_links).
    link_used = fields.JSONField(default=list)
    account_unverified = fields.JSONField(default=list)
    reviewed_at = fields.DatetimeField(null=True)
    reviewed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reviews", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    task_id: int
    user_id: int
    photos: fields.ReverseRelation[SubmissionMedia]

    class Meta:
        table = "submissions"

    def content_verdict(self, media: list[Media]) -> str:
        """pass|review|risky|unchecked over the text and every photo."""
        return worst([self.text_check, *(m.verdict for m in media)])


class SubmissionMedia(Model):
    """A photo of a submission, in the order the person gave."""

    id = fields.IntField(primary_key=True)
    submission: fields.ForeignKeyRelation[Submission] = fields.ForeignKeyField(
        "models.Submission", related_name="photos", on_delete=fields.CASCADE
    )
    media: fields.ForeignKeyRelation[Media] = fields.ForeignKeyField(
        "models.Media", related_name="uses", on_delete=fields.RESTRICT
    )
    position = fields.IntField()

    submission_id: int
    media_id: int

    class Meta:
        table = "submission_media"
        unique_together = (("submission", "media"),)


@dataclass
class Evidence:
    media_ids: list[int]
    text: str = ""
    lat: float | None = None
    lng: float | None = None
    links: list[str] = field(default_factory=list)


TextCheck = Callable[[str], Awaitable[str]]


async def submit(task: Task, user: User, evidence: Evidence, check_text: TextCheck) -> Submission:
    """Hand in evidence for a task the person enrolled in; see API.md for the rules.

    ``check_text`` returns the content verdict of the text (pass|review|risky|unchecked);
    it runs outside the transaction because it calls WeChat.
    """
    if resuming() and (done := await Submission.get_or_none(live_key=_live_key(task, user))) is not None:
        return done  # this request's own submission: its answer was lost, not its work
    now = now_utc()
    enrollment = await _submittable(task, user, now)
    if len(evidence.media_ids) < task.min_photos:
        raise TooFewPhotos(f"至少需要 {task.min_photos} 张照片")
    if len(evidence.media_ids) > task.max_photos:
        raise TooManyPhotos(f"最多 {task.max_photos} 张照片")
    media = await owned_media(user, evidence.media_ids)
    checked = await check_links(task.online, user, evidence.links) if task.online else None
    if await Submission.exists(live_key=_live_key(task, user)):
        raise AlreadySubmitted()
    if checked is not None and (holder := await claimed_by(checked.keys)) is not None:
        raise link_claimed(holder, user)
    text_check = await check_text(evidence.text) if evidence.text.strip() else "pass"
    risk = await _risk(task, user, media, evidence)
    if checked is not None:
        risk.update(link_used=await used_before(checked.keys), account_unverified=checked.account_unverified)
    try:
        async with in_transaction():
            submission = await Submission.create(
                task_id=task.id,
                user_id=user.id,
                status="flagged" if text_check == "risky" else "pending",
                text=evidence.text,
                links=checked.urls if checked is not None else evidence.links,
                lat=evidence.lat,
                lng=evidence.lng,
                live_key=_live_key(task, user),
                text_check=text_check,
                **risk,
            )
            await SubmissionMedia.bulk_create(
                [SubmissionMedia(submission_id=submission.id, media_id=m.id, position=i) for i, m in enumerate(media)]
            )
            if checked is not None:
                # One row at a time: PostgreSQL reports a bulk insert's unique violation for the whole batch alike.
                for row in link_rows(submission.id, user, checked):
                    await row.save()
            if await Enrollment.filter(id=enrollment.id).exclude(status="withdrawn").update(status="submitted") != 1:
                raise NotEnrolled()  # withdrew while this request was on its way
            await work_committed()
    except IntegrityError:
        # Lost a race: to this person's other hand-in of the task, or to anyone's hand-in of a link.
        if checked is not None and (holder := await claimed_by(checked.keys)) is not None:
            raise link_claimed(holder, user) from None
        raise AlreadySubmitted() from None
    return submission


def _live_key(task: Task, user: User) -> str:
    return f"{task.id}:{user.id}"


async def _submittable(task: Task, user: User, now: datetime) -> Enrollment:
    if task.cancelled_at is not None or task.campaign.status != "published" or now > task.ends_at + SUBMIT_GRACE:
        raise TaskClosed("任务已结束或已取消，不能再提交材料")
    enrollment = await Enrollment.get_or_none(task_id=task.id, user_id=user.id)
    if enrollment is None or enrollment.status == "withdrawn":
        raise NotEnrolled()
    if task.checkin_required and enrollment.checked_in_at is None:
        raise CheckinRequired()
    return enrollment


async def _risk(task: Task, user: User, media: list[Media], evidence: Evidence) -> dict[str, object]:
    low = task.starts_at - WINDOW_SLACK
    high = task.ends_at + WINDOW_SLACK
    outside_window = any(m.taken_at is not None and not (low <= m.taken_at <= high) for m in media)
    return {
        "duplicate_of": await _duplicates(task, user, media),
        "outside_window": outside_window,
        "outside_area": _outside_area(task, media, evidence),
    }


def _outside_area(task: Task, media: list[Media], evidence: Evidence) -> bool:
    if task.lat is None or task.lng is None or task.radius_m is None:
        return False
    allowed = task.radius_m + MAX_ACCURACY_ALLOWANCE_M
    points = [(m.lat, m.lng) for m in media if m.lat is not None and m.lng is not None]
    if evidence.lat is not None and evidence.lng is not None:
        points.append((evidence.lat, evidence.lng))
    return any(distance_m(lat, lng, task.lat, task.lng) > allowed for lat, lng in points)


async def _duplicates(task: Task, user: User, media: list[Media]) -> list[str]:
    """Submissions (by anyone) already holding the same or a near-identical photo.

    One query: candidates share the sha256 or a 16-bit band of the perceptual hash;
    the Hamming distance decides. The person's own earlier submissions for this same
    task (a resubmission after rejection) do not count.
    """
    if not media:
        return []
    rows = (
        # ~Q(a, b) is NOT (a AND b); exclude(a, b) would be NOT a AND NOT b.
        await SubmissionMedia.filter(
            near_candidates(media, "media__"), ~Q(submission__task_id=task.id, submission__user_id=user.id)
        ).select_related("media")
    )
    found = {row.submission_id for row in rows for m in media if same_picture(row.media, m)}
    return [str(i) for i in sorted(found)]


async def apply_media_verdict(trace_id: str, suggest: str) -> bool:
    """Record WeChat's pushed media-check verdict; a risky photo flags its pending submissions.

    False when no media carries ``trace_id`` (unknown or already answered differently is harmless).
    """
    async with in_transaction():
        media = await Media.get_or_none(check_trace_id=trace_id)
        if media is None:
            return False
        await Media.filter(id=media.id).update(check_result=suggest)
        if suggest == "risky":
            holding = await SubmissionMedia.filter(media_id=media.id).values_list("submission_id", flat=True)
            await Submission.filter(id__in=holding, status="pending").update(status="flagged")
    return True


async def submissions_page(
    *,
    owner_id: int | None,
    scope_path: str | None,
    task_id: int | None,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> list[Submission]:
    """Newest first; ``owner_id`` for one person's own, else ``scope_path`` limits staff to their subtree."""
    rows = Submission.all()
    if owner_id is not None:
        rows = rows.filter(user_id=owner_id)
    elif scope_path is not None:
        rows = rows.filter(task__campaign__org__path__startswith=scope_path)
    if task_id is not None:
        rows = rows.filter(task_id=task_id)
    if status is not None:
        rows = rows.filter(status=status)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return await with_relations(rows.order_by("-id").limit(limit + 1))


def awaiting_review(rows: QuerySet[Submission]) -> QuerySet[Submission]:
    """What the review queue holds by default: pending and flagged, of tasks that were not cancelled."""
    return rows.filter(status__in=("pending", "flagged"), task__cancelled_at__isnull=True)


async def review_queue(
    *, scope_path: str | None, campaign_id: int | None, status: str | None, after_id: int | None, limit: int
) -> list[Submission]:
    """Oldest first, for staff of ``scope_path`` (None: everywhere). Without ``status``: all awaiting
    review (pending and flagged) of tasks that were not cancelled."""
    rows = Submission.all()
    if scope_path is not None:
        rows = rows.filter(task__campaign__org__path__startswith=scope_path)
    if campaign_id is not None:
        rows = rows.filter(task__campaign_id=campaign_id)
    if status is None:
        rows = awaiting_review(rows)
    else:
        rows = rows.filter(status=status)
    if after_id is not None:
        rows = rows.filter(id__gt=after_id)
    return await with_relations(rows.order_by("id").limit(limit + 1))


async def with_relations(rows: QuerySet[Submission]) -> list[Submission]:
    """Submissions with their user (and org), task, campaign org and photos in a fixed number of queries."""
    photos = Prefetch("photos", queryset=SubmissionMedia.all().order_by("position").select_related("media"))
    return await rows.select_related("user__org", "task__campaign__org").prefetch_related(photos)


async def get_submission(submission_id: int) -> Submission | None:
    rows = await with_relations(Submission.filter(id=submission_id))
    return rows[0] if rows else None


# -- what a reviewer reads beside the risk flags ---------------------------------------------


@dataclass(frozen=True)
class DuplicateSource:
    """An earlier submission holding the same or a near-identical photo, or one of the same links."""

    id: int
    visible: bool  # inside the reviewer's subtree: its person and task may be shown
    person: str
    task_title: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class AreaMiss:
    """The farthest point (a photo's GPS or the submission's position) from the task's spot."""

    source: str  # "第 2 张照片" | "提交时定位"
    distance_m: int
    radius_m: int

    @property
    def beyond_m(self) -> int:
        return max(0, self.distance_m - self.radius_m)

    @property
    def text(self) -> str:
        far, beyond = _metres(self.distance_m), _metres(self.beyond_m)
        return f"{self.source}距任务地点约 {far}，超出签到范围（{self.radius_m} 米）约 {beyond}"


@dataclass(frozen=True)
class WindowMiss:
    """A photo taken before the task started or after it ended."""

    source: str
    before_start: bool
    by: timedelta

    @property
    def text(self) -> str:
        return f"{self.source}拍摄于任务{'开始前' if self.before_start else '结束后'} {_span(self.by)}"


@dataclass(frozen=True)
class RiskDetails:
    duplicates: list[DuplicateSource]
    area: AreaMiss | None
    window: list[WindowMiss]
    content: str  # pass|unchecked|review|risky over the text and the photos
    content_parts: list[str]  # what the content check found doubtful: "文字", "第 1 张照片"
    link_used: list[DuplicateSource]  # earlier hand-ins of the same links
    unverified: list[str]  # Chinese names of the platforms of links whose account is not verified

    @property
    def content_text(self) -> str:
        verdict = "判定为违规风险" if self.content == "risky" else "建议人工复核"
        found = "、".join(self.content_parts) or "内容"
        return f"微信内容安全检测：{found}{verdict}"


def _metres(m: int) -> str:
    return f"{m / 1000:.1f} 公里" if m >= 10_000 else f"{m} 米"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} 天"
    if minutes >= 120:
        return f"{minutes // 60} 小时"
    return f"{max(minutes, 1)} 分钟"


async def risk_details(submissions: list[Submission], scope_path: str | None) -> dict[int, RiskDetails]:
    """Why each submission carries its risk flags, for a reviewer of ``scope_path`` (None: everywhere).

    ``submissions`` come from ``with_relations``; the earlier submissions they duplicate (a photo or a
    link) are read in one query for all of them. One outside the reviewer's subtree is named by id only.
    """
    wanted = {int(i) for s in submissions for i in (*s.duplicate_of, *s.link_used)}
    sources: dict[int, DuplicateSource] = {}
    if wanted:
        rows = await Submission.filter(id__in=wanted).select_related("user", "task__campaign__org")
        for row in rows:
            visible = scope_path is None or row.task.campaign.org.path.startswith(scope_path)
            sources[row.id] = DuplicateSource(
                id=row.id,
                visible=visible,
                person=row.user.name_on_record if visible else "",
                task_title=row.task.title if visible else "",
                status=row.status,
                created_at=row.created_at,
            )
    return {s.id: _details(s, sources) for s in submissions}


def _details(s: Submission, sources: dict[int, DuplicateSource]) -> RiskDetails:
    media = [p.media for p in s.photos]
    content_parts = (["文字"] if s.text_check in ("review", "risky") else []) + [
        f"第 {i} 张照片" for i, m in enumerate(media, 1) if m.verdict in ("review", "risky")
    ]
    return RiskDetails(
        duplicates=[sources[int(i)] for i in s.duplicate_of if int(i) in sources],
        area=_farthest(s, media) if s.outside_area else None,
        window=_window_misses(s.task, media) if s.outside_window else [],
        content=s.content_verdict(media),
        content_parts=content_parts,
        link_used=[sources[int(i)] for i in s.link_used if int(i) in sources],
        unverified=[PLATFORM_NAMES.get(p, p) for p in s.account_unverified],
    )


def _farthest(s: Submission, media: list[Media]) -> AreaMiss | None:
    task = s.task
    if task.lat is None or task.lng is None or task.radius_m is None:
        return None  # the task lost its spot since: the flag stands, the distance cannot be told
    points = [(f"第 {i} 张照片", m.lat, m.lng) for i, m in enumerate(media, 1) if m.lat is not None]
    if s.lat is not None and s.lng is not None:
        points.append(("提交时定位", s.lat, s.lng))
    if not points:
        return None
    source, lat, lng = max(points, key=lambda p: distance_m(p[1], p[2], task.lat, task.lng))
    return AreaMiss(source, round(distance_m(lat, lng, task.lat, task.lng)), task.radius_m)


def _window_misses(task: Task, media: list[Media]) -> list[WindowMiss]:
    misses = []
    for i, m in enumerate(media, 1):
        if m.taken_at is None:
            continue
        if m.taken_at < task.starts_at - WINDOW_SLACK:
            misses.append(WindowMiss(f"第 {i} 张照片", True, task.starts_at - m.taken_at))
        elif m.taken_at > task.ends_at + WINDOW_SLACK:
            misses.append(WindowMiss(f"第 {i} 张照片", False, m.taken_at - task.ends_at))
    return misses


async def pending_by_campaign(scope_path: str | None) -> list[tuple[int, str, int]]:
    """(campaign id, title, submissions awaiting review) in the subtree, for the queue's filter."""
    rows = awaiting_review(Submission.all())
    if scope_path is not None:
        rows = rows.filter(task__campaign__org__path__startswith=scope_path)
    counted = (
        await rows.annotate(n=Count("id"))
        .group_by("task__campaign_id", "task__campaign__title")
        .order_by("task__campaign_id")
        .values_list("task__campaign_id", "task__campaign__title", "n")
    )
    return [(int(cid), title, int(n)) for cid, title, n in counted]
