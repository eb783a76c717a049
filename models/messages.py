"""Netizen messages (网民留言办理): accepted, handed to the responsible org, supervised, replied, rated.

    submitted ──accept──▶ accepted ──assign──▶ assigned ──draft-reply──▶ replying ──approve-reply──▶ replied
    submitted | accepted | returned ──reject (reason)──▶ rejected (不予受理, final)
    assigned ──assign──▶ assigned          (the holder hands it on: 交办 down its subtree, 转办 across)
    assigned ──return (reason)──▶ returned  (back to the org that assigned it, which assigns again)
    returned ──assign──▶ assigned
    replying ──draft-reply──▶ replying      (the draft revised before approval)
    replied ──rate satisfied|basically──▶ closed
    replied ──rate unsatisfied──▶ assigned  (once, with a new deadline; a second time it closes)
    extend, approve-extension: assigned | replying, status unchanged (the deadline moves)
    supervise: accepted | assigned | replying | returned, status unchanged (supervision + 1, at most 3)
    (the daily job, ``supervise_overdue``, raises overdue ones the same way, once a working day)

Any other move is 409 ``bad_transition``. Each move is one conditional UPDATE on the message's
``version`` (and status), in one transaction with its event and audit entry, so of two concurrent
moves exactly one wins and the other answers 409. Notifications go after commit.

Who may move it (``server.web.permissions`` checks who is staff where; the rules are here):
the *holder* is the org the message sits with (``org``; before assignment the county that
received it, ``home_org``). Staff of the holder or above accept, reject and assign; staff above
the holder (not its own) or of the assigning org supervise; staff of the holder itself return,
ask for extensions and draft the reply; staff of the assigning org (``assigner_org``) or
above, or an admin, approve extensions and the reply.
交办 (jiaoban) goes to an org inside the caller's subtree; 转办 (zhuanban) to any org of the
caller's county, or to another county itself (never below it: that county routes it on).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.query_utils import Prefetch
from tortoise.transactions import in_transaction

from models.audit import record
from models.calendar import calendar_for, due_at, is_workday
from models.media import Media, owned_media
from models.notifications import PHRASE_MAX, cut, thing_field, time_field
from models.orgs import Org
from models.users import STAFF_ROLES, User
from server.kernel.clock import LOCAL_TZ, now_utc
from server.kernel.effects import AfterCommit
from server.kernel.errors import Conflict, Forbidden, InvalidRequest, NotFound
from server.kernel.ids import is_id

CATEGORIES = ("consult", "suggest", "complain", "help", "clue")
STATUSES = ("submitted", "accepted", "assigned", "replying", "replied", "closed", "rejected", "returned")
ACTIONS = (
    "accept",
    "reject",
    "assign",
    "return",
    "extend",
    "approve-extension",
    "draft-reply",
    "approve-reply",
    "supervise",
    "rate",
)
RATINGS = ("satisfied", "basically", "unsatisfied")
ASSIGN_KINDS = ("jiaoban", "zhuanban")
MAX_EXTENSION_DAYS = 15
RATING_WINDOW = timedelta(days=15)
MAX_SUPERVISION = 3
NUMBER_PREFIX = "QD"
# Still being handled: supervision and overdue apply.
OPEN = ("accepted", "assigned", "replying", "returned")

# action → (the statuses it may leave, the status it goes to; None: unchanged). ``rate`` goes to
# closed or, unsatisfied the first time, back to assigned.
MOVES: dict[str, tuple[frozenset[str], str | None]] = {
    "accept": (frozenset({"submitted"}), "accepted"),
    "reject": (frozenset({"submitted", "accepted", "returned"}), "rejected"),
    "assign": (frozenset({"accepted", "assigned", "returned"}), "assigned"),
    "return": (frozenset({"assigned"}), "returned"),
    "extend": (frozenset({"assigned", "replying"}), None),
    "approve-extension": (frozenset({"assigned", "replying"}), None),
    "draft-reply": (frozenset({"assigned", "replying"}), "replying"),
    "approve-reply": (frozenset({"replying"}), "replied"),
    "supervise": (frozenset(OPEN), None),
    "rate": (frozenset({"replied"}), "closed"),
}
# What the writer sees of the history.
PUBLIC_ACTIONS = frozenset({"submit", "accept", "reject", "assign", "approve-reply", "rate", "reopen", "close"})


class BadTransition(Conflict):
    code, message = "bad_transition", "留言当前的状态不能进行此操作"


class Message(Model):
    """A netizen's message and where its handling stands."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=24, unique=True)
    writer: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    category = fields.CharField(max_length=16)
    title = fields.CharField(max_length=100)
    content = fields.TextField()
    lat = fields.FloatField(null=True)
    lng = fields.FloatField(null=True)
    public_ok = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default="submitted", db_index=True)
    # Bumped by every move: the conditional update on it lets one of two concurrent moves win.
    version = fields.IntField(default=0)
    home_org: fields.ForeignKeyRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="messages_received", on_delete=fields.RESTRICT
    )
    org: fields.ForeignKeyNullableRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="messages_held", null=True, on_delete=fields.RESTRICT
    )
    assigner_org: fields.ForeignKeyNullableRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="messages_assigned", null=True, on_delete=fields.RESTRICT
    )
    assign_kind = fields.CharField(max_length=16, null=True)
    co_org_ids = fields.JSONField(default=list)
    due_at = fields.DatetimeField(null=True, db_index=True)
    overdue = fields.BooleanField(default=False)
    supervision = fields.IntField(default=0)
    supervised_on = fields.DateField(null=True)  # the last day the supervision job raised it
    extension_days = fields.IntField(default=0)
    extension_asked = fields.IntField(null=True)  # days asked, awaiting the assigner
    extension_reason = fields.CharField(max_length=200, null=True)
    draft = fields.TextField(null=True)
    reply = fields.TextField(null=True)
    replied_at = fields.DatetimeField(null=True)
    rating = fields.CharField(max_length=16, null=True)
    rating_comment = fields.CharField(max_length=500, null=True)
    reopened = fields.BooleanField(default=False)
    closed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    writer_id: int | None
    home_org_id: int
    org_id: int | None
    assigner_org_id: int | None

    class Meta:
        table = "messages"

    @property
    def holder(self) -> Org:
        """The org the message sits with: the assignee, or before that the county that received it."""
        return self.org if self.org_id is not None and self.org else self.home_org

    def is_overdue(self, now: datetime) -> bool:
        return self.overdue or (self.status in OPEN and self.due_at is not None and now > self.due_at)


class MessageMedia(Model):
    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="photos", on_delete=fields.CASCADE
    )
    media: fields.ForeignKeyRelation[Media] = fields.ForeignKeyField(
        "models.Media", related_name="message_uses", on_delete=fields.RESTRICT
    )
    position = fields.IntField()

    message_id: int
    media_id: int

    class Meta:
        table = "message_media"


class MessageEvent(Model):
    """One step of a message's handling, in order: the ``public`` ones are shown to the writer."""

    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="events", on_delete=fields.CASCADE
    )
    action = fields.CharField(max_length=24)
    org: fields.ForeignKeyNullableRelation[Org] = fields.ForeignKeyField(
        "models.Org", related_name="message_events", null=True, on_delete=fields.SET_NULL
    )
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="message_events", null=True, on_delete=fields.SET_NULL
    )
    note = fields.TextField(default="")
    public = fields.BooleanField(default=False)
    at = fields.DatetimeField(auto_now_add=True)

    message_id: int
    org_id: int | None

    class Meta:
        table = "message_events"


# -- writing ---------------------------------------------------------------------------------------


@dataclass
class Draft:
    category: str
    title: str
    content: str
    public_ok: bool
    media_ids: list[int]
    lat: float | None = None
    lng: float | None = None


async def receiving_org(writer: User) -> Org:
    """The county a message goes to: the top org of the writer's tree, else the first county."""
    if writer.org_id:
        org = writer.org if writer.org else await Org.get(id=writer.org_id)
        top = org.path.strip("/").split("/")[0]
        if top and top.isdigit() and (county := await Org.get_or_none(id=int(top))) is not None:
            return county
        return org
    county = await Org.filter(parent_id=None).order_by("id").first()
    if county is None:
        raise Conflict("还没有建立组织，暂不能留言")
    return county


async def write_message(writer: User, draft: Draft, after: AfterCommit) -> Message:
    """A new message, numbered ``QD<yyyymmdd>-<nnnn>`` by the local day, its staff told after commit."""
    if draft.category not in CATEGORIES:
        raise InvalidRequest.fields({"category": "留言类别须为：" + "、".join(CATEGORIES)})
    media = await owned_media(writer, draft.media_ids) if draft.media_ids else []
    county = await receiving_org(writer)
    day = now_utc().astimezone(LOCAL_TZ).strftime("%Y%m%d")
    for _ in range(5):
        try:
            async with in_transaction() as conn:
                await _numbering_lock(conn)
                message = await Message.create(
                    number=await _next_number(day),
                    writer_id=writer.id,
                    category=draft.category,
                    title=draft.title,
                    content=draft.content,
                    lat=draft.lat,
                    lng=draft.lng,
                    public_ok=draft.public_ok,
                    home_org_id=county.id,
                )
                await MessageMedia.bulk_create(
                    [MessageMedia(message_id=message.id, media_id=m.id, position=i) for i, m in enumerate(media)]
                )
                await MessageEvent.create(message_id=message.id, action="submit", org_id=county.id, public=True)
            break
        except IntegrityError:
            continue  # two messages took the same number: the later one takes the next
    else:
        raise Conflict("留言提交繁忙，请稍后重试")
    await after.notify("notify_message", message.id, "submit", message.version)
    return message


# The key of the PostgreSQL advisory lock that numbering holds (any constant the app uses nowhere else).
NUMBERING_LOCK = 0x51440001


async def _numbering_lock(conn: Any) -> None:
    """Number one message at a time, to the transaction's end: the numbers follow the stored order
    however many are written at once, where reading the last number and retrying on a clash let
    a burst of writers collide again and again. SQLite writes one transaction at a time anyway."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [NUMBERING_LOCK])


async def _next_number(day: str) -> str:
    prefix = f"{NUMBER_PREFIX}{day}-"
    last = await Message.filter(number__startswith=prefix).order_by("-number").first()
    seq = int(last.number.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


# -- reading ---------------------------------------------------------------------------------------


async def get_message(message_id: int) -> Message:
    rows = await with_relations(Message.filter(id=message_id)) if is_id(message_id) else []
    if not rows:
        raise NotFound("留言不存在")
    return rows[0]


async def with_relations(rows: Any) -> list[Message]:
    photos = Prefetch("photos", queryset=MessageMedia.all().order_by("position").select_related("media"))
    events = Prefetch("events", queryset=MessageEvent.all().order_by("id").select_related("org"))
    return await rows.select_related("writer__org", "home_org", "org", "assigner_org").prefetch_related(photos, events)


def handles(staff: User, message: Message) -> bool:
    """Staff of the holder or above (or an admin): who may see the writer and move the message."""
    return staff.role == "admin" or _above(staff, message.holder) or _above(staff, message.assigner_org)


def _above(staff: User, org: Org | None) -> bool:
    """``staff`` works at ``org`` or an org above it."""
    path = staff.org.path if staff.org_id and staff.org else None
    return bool(path and org is not None and org.path.startswith(path))


def _at(staff: User, org: Org | None) -> bool:
    """``staff`` works at ``org`` itself: its own people, who do the work it was handed."""
    return org is not None and staff.org_id == org.id


def may_read(user: User, message: Message) -> bool:
    """The writer, and staff who handle it (``handles``): what ``staff_filter`` lists, one rule for both.

    Not everyone below the county that received it: a fresh message is the county's until assigned,
    and a township's message is not its villages' unless handed down to them.
    """
    if message.writer_id == user.id:
        return True
    return user.is_staff and handles(user, message)


def staff_filter(staff: User) -> Q:
    """SQL form of ``handles`` for staff lists: held in, received by or assigned from their subtree."""
    path = staff.org.path if staff.org_id and staff.org else None
    if staff.role == "admin" or path is None:
        return Q()
    return (
        Q(org__path__startswith=path)
        | Q(org_id__isnull=True, home_org__path__startswith=path)
        | Q(assigner_org__path__startswith=path)
    )


def todo_filter(staff: User) -> Q | None:
    """What waits for the staff member's own org to act (待我办理), None for someone without an org.

    Held there and not finished (to accept, hand on or answer), or assigned from there with a
    reply or an extension waiting for approval.
    """
    if not staff.org_id:
        return None
    held = Q(org_id=staff.org_id) | Q(org_id__isnull=True, home_org_id=staff.org_id)
    waiting = Q(status="replying") | Q(extension_asked__isnull=False, status__in=OPEN)
    return (held & Q(status__in=("submitted", "accepted", "assigned", "returned"))) | (
        Q(assigner_org_id=staff.org_id) & waiting
    )


async def messages_page(
    *, writer_id: int | None, staff: User | None, status: str | None, overdue: bool, before_id: int | None, limit: int
) -> list[Message]:
    """Newest first: one writer's own (``writer_id``), or what ``staff`` may read; ``limit + 1`` rows."""
    rows = Message.all()
    if writer_id is not None:
        rows = rows.filter(writer_id=writer_id)
    elif staff is not None:
        rows = rows.filter(staff_filter(staff))
    if status is not None:
        rows = rows.filter(status=status)
    if overdue:
        rows = rows.filter(Q(overdue=True) | Q(status__in=OPEN, due_at__lt=now_utc()))
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return await with_relations(rows.order_by("-id").limit(limit + 1))


async def public_page(before_id: int | None, limit: int) -> list[Message]:
    """Replied messages whose writers allowed them to be shown, newest first, ``limit + 1`` rows."""
    rows = Message.filter(public_ok=True, status__in=("replied", "closed"), reply__isnull=False)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return await with_relations(rows.order_by("-id").limit(limit + 1))


# -- moving ----------------------------------------------------------------------------------------


@dataclass
class Move:
    action: str
    reason: str | None = None
    note: str | None = None
    org_id: int | None = None
    kind: str | None = None
    co_org_ids: list[int] | None = None
    days: int | None = None
    content: str | None = None
    rating: str | None = None
    comment: str | None = None


def check_move(message: Message, action: str) -> None:
    """409 ``bad_transition`` unless ``action`` may leave the message's status."""
    if action not in MOVES:
        raise NotFound("没有这个操作")
    allowed, _ = MOVES[action]
    if message.status not in allowed:
        raise BadTransition(f"留言当前为“{STATUS_NAMES[message.status]}”，不能{ACTION_NAMES[action]}")


STATUS_NAMES = {
    "submitted": "待受理",
    "accepted": "已受理",
    "assigned": "办理中",
    "replying": "答复待审核",
    "replied": "已答复",
    "closed": "已办结",
    "rejected": "不予受理",
    "returned": "已退回",
}
ACTION_NAMES = {
    "accept": "受理",
    "reject": "不予受理",
    "assign": "交办或转办",
    "return": "退回",
    "extend": "申请延期",
    "approve-extension": "批准延期",
    "draft-reply": "拟写答复",
    "approve-reply": "审核通过答复",
    "supervise": "督办",
    "rate": "评价",
}


async def move(
    message: Message, actor: User, step: Move, after: AfterCommit, *, days_by_category: dict[str, int]
) -> Message:
    """Apply one move (see the module docstring) and return the message as it now is."""
    # Who in kind (the writer rates, staff handle), then when, then where: a caller who may read
    # the message (else 404 before this) knows its state, so a move the contract does not list is
    # 409 for them whatever their org.
    _check_kind(message, actor, step.action)
    check_move(message, step.action)
    _authorize(message, actor, step.action)
    now = now_utc()
    changes, event = await _plan(message, actor, step, now, days_by_category)
    async with in_transaction():
        moved = await Message.filter(id=message.id, version=message.version, status=message.status).update(
            **changes, version=F("version") + 1
        )
        if moved != 1:
            raise BadTransition("留言刚被他人处理过，请刷新后再试")
        await MessageEvent.create(message_id=message.id, actor_id=actor.id, **event)
        await record(actor, f"message_{step.action.replace('-', '_')}", f"message:{message.id}", _audit(step))
    # The version the move made names the notice, so a job run twice tells each person once.
    await after.notify("notify_message", message.id, step.action, message.version + 1)
    return await get_message(message.id)


def _check_kind(message: Message, actor: User, action: str) -> None:
    if action == "rate" and message.writer_id != actor.id:
        raise Forbidden("只有留言人可以评价")
    if action != "rate" and not actor.is_staff:
        raise Forbidden()


def _authorize(message: Message, actor: User, action: str) -> None:
    _check_kind(message, actor, action)
    if action == "rate":
        return
    holder = message.holder
    if actor.role == "admin":
        return
    if action in ("return", "extend", "draft-reply"):
        ok = _at(actor, holder)
    elif action in ("approve-extension", "approve-reply"):
        ok = _above(actor, message.assigner_org)
    elif action == "supervise":
        # Supervision comes from above: the holder's own staff do not supervise themselves, but the
        # org that assigned it does, even across counties after 转办.
        ok = (_above(actor, holder) and actor.org_id != holder.id) or (
            message.assigner_org_id not in (None, holder.id) and _above(actor, message.assigner_org)
        )
    else:  # accept, reject, assign
        ok = _above(actor, holder)
    if not ok:
        raise Forbidden(f"您所在的组织不能{ACTION_NAMES[action]}这条留言")


def may_move(message: Message, actor: User, action: str) -> bool:
    """Whether ``actor`` may make ``action`` now (the message's status and who they are): the buttons to offer."""
    allowed, _ = MOVES[action]
    if message.status not in allowed:
        return False
    try:
        _authorize(message, actor, action)
    except Forbidden:
        return False
    return True


async def _plan(
    message: Message, actor: User, step: Move, now: datetime, days_by_category: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The columns the move sets and its event (org, note, public)."""
    action = step.action
    note = (step.reason or step.note or "").strip()
    holder = message.holder
    _, target = MOVES[action]
    changes: dict[str, Any] = {"status": target} if target else {}
    event: dict[str, Any] = {"action": action, "org_id": holder.id, "note": note, "public": action in PUBLIC_ACTIONS}
    if action in ("reject", "return") and not note:
        raise InvalidRequest.fields({"reason": "须说明原因"})
    if action == "accept":
        pass
    elif action == "reject":
        changes.update(closed_at=now)
    elif action == "assign":
        org = await _assignable(actor, step)
        changes.update(
            org_id=org.id,
            # An admin outside the tree assigns on behalf of the org holding it, which then approves.
            assigner_org_id=actor.org_id or holder.id,
            assign_kind=step.kind,
            co_org_ids=step.co_org_ids or [],
        )
        if message.status != "assigned" or message.due_at is None:
            # A fresh assignment (first, or after a return) gets the full time; handing on keeps the clock.
            changes.update(due_at=await deadline(now, days_by_category[message.category]), overdue=False)
        event.update(org_id=org.id, note=note or ("交办" if step.kind == "jiaoban" else "转办") + f"至{org.name}")
    elif action == "return":
        # Back with the assigner, no deadline runs and a pending extension request lapses.
        changes.update(org_id=message.assigner_org_id, due_at=None, overdue=False, extension_asked=None)
    elif action == "extend":
        days = step.days or 0
        if not 1 <= days <= MAX_EXTENSION_DAYS - message.extension_days:
            left = MAX_EXTENSION_DAYS - message.extension_days
            raise InvalidRequest.fields({"days": f"延期须为 1 到 {left} 个工作日（累计最多 {MAX_EXTENSION_DAYS} 个）"})
        if not note:
            raise InvalidRequest.fields({"reason": "须说明延期原因"})
        changes.update(extension_asked=days, extension_reason=note[:200])
        event["note"] = f"申请延期 {days} 个工作日：{note}"
    elif action == "approve-extension":
        if not message.extension_asked:
            raise BadTransition("没有待批准的延期申请")
        days = message.extension_asked
        base = message.due_at.astimezone(LOCAL_TZ).date() if message.due_at else now.astimezone(LOCAL_TZ).date()
        changes.update(
            due_at=await deadline_from_day(base, days),
            extension_days=message.extension_days + days,
            extension_asked=None,
            overdue=False,
        )
        event["note"] = f"批准延期 {days} 个工作日" + (f"：{note}" if note else "")
    elif action == "draft-reply":
        content = (step.content or "").strip()
        if not content:
            raise InvalidRequest.fields({"content": "答复内容不能为空"})
        changes.update(draft=content)
        event.update(note="")
    elif action == "approve-reply":
        changes.update(reply=message.draft, replied_at=now, overdue=False)
        event.update(note=message.draft or "")
    elif action == "supervise":
        if message.supervision >= MAX_SUPERVISION:
            raise BadTransition(f"督办已达最高级别（{MAX_SUPERVISION} 级）")
        changes.update(supervision=message.supervision + 1)
    elif action == "rate":
        changes.update(_rating(message, step, now))
        if changes["status"] == "assigned":
            changes.update(due_at=await deadline(now, days_by_category[message.category]), overdue=False)
            event.update(action="reopen", note="留言人对答复不满意，重新办理")
        event["public"] = True
    return changes, event


def _rating(message: Message, step: Move, now: datetime) -> dict[str, Any]:
    if step.rating not in RATINGS:
        raise InvalidRequest.fields({"rating": "评价须为 satisfied、basically 或 unsatisfied"})
    if message.replied_at is not None and now > message.replied_at + RATING_WINDOW:
        raise BadTransition("答复已超过 15 天，不能再评价")
    rated = {"rating": step.rating, "rating_comment": (step.comment or "").strip()[:500] or None}
    if step.rating == "unsatisfied" and not message.reopened:
        return rated | {"status": "assigned", "reopened": True, "reply": None, "replied_at": None, "draft": None}
    return rated | {"status": "closed", "closed_at": now}


async def _assignable(actor: User, step: Move) -> Org:
    """The org a message may be handed to by ``actor``: see the module docstring."""
    if step.kind not in ASSIGN_KINDS:
        raise InvalidRequest.fields({"kind": "须为 jiaoban（交办）或 zhuanban（转办）"})
    org = await Org.get_or_none(id=step.org_id) if step.org_id and is_id(step.org_id) else None
    if org is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    co = set(step.co_org_ids or [])
    if co and await Org.filter(id__in=co).count() != len(co):
        raise InvalidRequest.fields({"co_org_ids": "协办组织不存在"})
    if actor.role == "admin":
        return org
    mine = actor.org.path if actor.org_id and actor.org else None
    if mine is None:
        raise Forbidden("您不属于任何组织，不能交办或转办")
    county = "/" + mine.strip("/").split("/")[0] + "/"
    if step.kind == "jiaoban" and not (org.path.startswith(mine) and org.path != mine):
        raise InvalidRequest.fields({"org_id": "交办只能交给本组织的下级组织"})
    if step.kind == "zhuanban" and not (org.path.startswith(county) or org.kind == "county"):
        raise InvalidRequest.fields({"org_id": "转办只能转给本县的组织，或其他县（区）本级"})
    return org


def _audit(step: Move) -> dict[str, Any]:
    details = {"reason": step.reason, "note": step.note, "org_id": step.org_id, "kind": step.kind, "days": step.days}
    details.update(rating=step.rating)
    return {k: v for k, v in details.items() if v is not None}


# -- deadlines and supervision ---------------------------------------------------------------------


async def deadline(assigned_at: datetime, days: int) -> datetime:
    """23:59:59 local on the ``days``-th working day after the day of ``assigned_at``."""
    year = assigned_at.astimezone(LOCAL_TZ).year
    return due_at(assigned_at, days, await calendar_for([year, year + 1]))


async def deadline_from_day(day: date, days: int) -> datetime:
    """An extended deadline: ``days`` more working days after the day the old one fell on."""
    return due_at(datetime.combine(day, time(12), LOCAL_TZ), days, await calendar_for([day.year, day.year + 1]))


async def supervise_overdue(as_of: date) -> list[int]:
    """Mark every open message past its deadline overdue and raise it one supervision level, once a day.

    On a working day only (a weekend or holiday is not an overdue working day), so a message is
    raised once per overdue working day up to level 3; one already at 3 is only marked overdue.
    Idempotent per day: the conditional update on ``supervised_on`` lets one run a day through
    however often it runs, and concurrent runs each win a message at most once. Returns the ids raised.
    """
    if not is_workday(as_of, await calendar_for([as_of.year])):
        return []
    day_start = datetime.combine(as_of, time.min, tzinfo=LOCAL_TZ)
    not_today = Q(supervised_on__isnull=True) | Q(supervised_on__lt=as_of)
    late = Message.filter(status__in=OPEN, due_at__lt=day_start)
    # At the top level there is nothing left to raise: marked overdue in one statement, no event, and
    # ``supervised_on`` keeps the day it was last raised (so that it names the days someone was told).
    await late.filter(supervision__gte=MAX_SUPERVISION, overdue=False).update(overdue=True)
    raised = []
    for message in await late.filter(supervision__lt=MAX_SUPERVISION).filter(not_today):
        level = message.supervision + 1
        async with in_transaction():
            moved = await (
                Message.filter(id=message.id, version=message.version, status=message.status)
                .filter(not_today)
                .update(overdue=True, supervision=level, supervised_on=as_of, version=F("version") + 1)
            )
            if moved != 1:
                continue  # moved meanwhile (replied, or another run raised it): left for tomorrow
            await MessageEvent.create(
                message_id=message.id, action="supervise", org_id=message.org_id, note=f"超期自动督办（{level} 级）"
            )
            await record(None, "message_supervise", f"message:{message.id}", {"level": level, "as_of": str(as_of)})
        raised.append(message.id)
    return raised


async def supervised_on(day: date) -> list[int]:
    """The messages the daily job raised on ``day`` (their assignees are told, again if a send failed)."""
    return list(await Message.filter(supervised_on=day, status__in=OPEN).order_by("id").values_list("id", flat=True))


# -- who is told -----------------------------------------------------------------------------------

_STAFF_NEWS = {"submit": "新留言", "assign": "交办", "return": "退回", "supervise": "督办", "rate": "重新办理"}


People = Callable[[], Awaitable[list[int]]]


def message_notice(message: Message, action: str) -> tuple[str, People, dict[str, Any], str] | None:
    """(template event, the people to tell, fields, page) for a move, or None when nobody is told.

    The writer hears of the approved reply (``message_reply``); the staff of the org now holding it
    hear of work for them (``message_task``): a new message, an assignment, a return, supervision,
    a reopening after an unsatisfied rating.
    """
    page = f"pages/message/detail?id={message.id}"
    if action == "approve-reply" and message.writer_id:
        data = {
            "thing1": thing_field(message.title),
            "phrase2": {"value": cut("已答复", PHRASE_MAX)},
            "thing3": thing_field("请查看答复并评价"),
            "time4": time_field(message.replied_at or now_utc()),
        }
        writer_id = message.writer_id
        return "message_reply", lambda: _ids([writer_id]), data, page
    if action not in _STAFF_NEWS or (action == "rate" and message.status != "assigned"):
        return None
    data = {
        "thing1": thing_field(message.title),
        "phrase2": {"value": cut(_STAFF_NEWS[action], PHRASE_MAX)},
        "time3": time_field(message.due_at or message.created_at),
        "thing4": thing_field(f"留言编号 {message.number}"),
    }
    holder = message.holder
    return "message_task", lambda: staff_of(holder), data, page


async def _ids(ids: list[int]) -> list[int]:
    return ids


async def staff_of(org: Org) -> list[int]:
    """Staff working at ``org`` itself, who can be told."""
    return list(
        await User.filter(
            org_id=org.id, role__in=STAFF_ROLES, deleted_at__isnull=True, openid__isnull=False
        ).values_list("id", flat=True)
    )
