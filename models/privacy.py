"""Personal data (PIPL): what a person can take out (export) and have erased.

Kept apart from models.users: both reach into every model that holds a person's
data (campaigns, media, submissions), and models.users is what those import.
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import F
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from media.storage import variant_keys
from models.accounts import accounts_of, erase_accounts, exported
from models.campaigns import Campaign, Enrollment, Task
from models.certificates import Certificate
from models.console import ConsoleSession, ConsoleTicket
from models.hour_requests import HourRequest, HourRequestMedia
from models.idempotency import IdempotencyRecord
from models.ledger import LedgerEntry
from models.media import ERASED_KEY_PREFIX, Media
from models.messages import Message, MessageEvent, MessageMedia
from models.notices import forget_notices, notices_of
from models.org_requests import cancel_pending_request, requests_of
from models.quiz import QuizAttempt
from models.reach import COUNTS, ReachSnapshot
from models.review import AWAITING
from models.sharing import ShareLink, ShareOpen
from models.submission_links import forget_links, free_links
from models.submissions import Submission
from models.users import ERASED_NICKNAME, AuthToken, User
from server.kernel.clock import LOCAL_TZ, now_utc


async def erase_user(user: User) -> list[str]:
    """Erase personal data (PIPL): identity, phone, profile and sessions go; the row and
    its points stay, anonymous, so rankings and reports keep adding up.

    Photos lose their evidence (time, place) and their files: the storage keys to delete
    are returned, to be removed after commit (what a crash leaves, `media sweep` removes,
    since no row points at those keys any more). Submissions lose their text and place.

    What the person can no longer do is let go: evidence awaiting review is withdrawn (no
    reviewer should award points to nobody), the places they held are given back and an
    org change awaiting approval is withdrawn.
    Approved work stays, as its points do. Certificates keep their serial and totals, not
    the name and org they were made out to.

    Messages to the county stay, content and all, since the org handling them still owes a reply
    and reports count them; they keep pointing at the (now nameless) user row, so staff see the
    erased nickname and nobody sees who wrote them. Their place goes, as the submissions' does.

    Notices they received lose them as a recipient (the notice's ``recipients`` stays as sent).
    Make-up requests awaiting review are deleted (nobody should be credited hours for nobody);
    decided ones stay for the ledger entries they explain, their note gone.
    """
    async with in_transaction():
        covers = set(await Campaign.filter(cover_key__isnull=False).values_list("cover_key", flat=True))
        # A campaign's cover belongs to the campaign, not to the staff member who uploaded it.
        owned = await Media.filter(owner_id=user.id).values_list("id", "key")
        photos = [(media_id, key) for media_id, key in owned if key not in covers]
        for media_id, key in photos:
            if not key.startswith(ERASED_KEY_PREFIX):
                await Media.filter(id=media_id).update(key=f"{ERASED_KEY_PREFIX}{media_id}")
        await Media.filter(id__in=[media_id for media_id, _ in photos]).update(lat=None, lng=None, taken_at=None)
        await Submission.filter(user_id=user.id).update(text="", links=[], lat=None, lng=None)
        await forget_links(user.id)
        await Message.filter(writer_id=user.id).update(lat=None, lng=None)
        await _let_go_of_live_work(user)
        await HourRequest.filter(user_id=user.id, status="pending").delete()
        await HourRequest.filter(user_id=user.id).update(note="")
        await Certificate.filter(user_id=user.id).update(name=ERASED_NICKNAME, org="")
        await cancel_pending_request(user.id)
        # Their platform accounts go, so the handles are free to claim again.
        await erase_accounts(user.id)
        await AuthToken.filter(user_id=user.id).delete()
        await ConsoleSession.filter(user_id=user.id).delete()
        await ConsoleTicket.filter(user_id=user.id).delete()
        # Stored first answers hold what the person sent (texts, links, names): they go too.
        await IdempotencyRecord.filter(user_id=user.id).delete()
        # What they were sent and read goes; each notice keeps the count it was sent to.
        await forget_notices(user.id)
        await User.filter(id=user.id).update(
            openid=None,
            unionid=None,
            session_key_enc=None,
            nickname=ERASED_NICKNAME,
            real_name=None,
            avatar_media_id=None,
            avatar_key=None,
            phone_enc=None,
            phone_hash=None,
            phone_masked=None,
            leaderboard_visible=False,
            role="volunteer",
            deleted_at=now_utc(),
        )
    return [k for _, key in photos if not key.startswith(ERASED_KEY_PREFIX) for k in variant_keys(key)]


async def _let_go_of_live_work(user: User) -> None:
    """Withdraw evidence awaiting review, and every enrollment not backed by approved work."""
    awaiting = list(await Submission.filter(user_id=user.id, status__in=AWAITING).values_list("id", flat=True))
    await Submission.filter(id__in=awaiting, status__in=AWAITING).update(status="withdrawn", live_key=None)
    await free_links(awaiting)
    done = set(await Submission.filter(user_id=user.id, status="approved").values_list("task_id", flat=True))
    live = await Enrollment.filter(user_id=user.id).exclude(status="withdrawn").values_list("id", "task_id", "status")
    freed = []
    for enrollment_id, task_id, status in live:
        if task_id in done:
            continue
        # Conditional on the status read, as withdraw() is: a withdrawal racing this one frees the seat once.
        if await Enrollment.filter(id=enrollment_id, status=status).update(status="withdrawn") == 1:
            freed.append(task_id)
    if freed:
        # One enrollment per person and task: each task gets exactly one seat back.
        await Task.filter(id__in=freed).update(enrolled_count=F("enrolled_count") - 1)


async def personal_data(user: User, vault: Any) -> dict[str, Any]:
    """The PIPL export: every personal field we hold, and what the person took part in."""
    tokens = await AuthToken.filter(user_id=user.id).order_by("created_at")
    enrollments = await Enrollment.filter(user_id=user.id).select_related("task").order_by("id")
    photos = await Media.filter(owner_id=user.id).order_by("id")
    submissions = await Submission.filter(user_id=user.id).order_by("id")
    ledger = await LedgerEntry.filter(user_id=user.id).order_by("id")
    certificates = await Certificate.filter(user_id=user.id).order_by("id")
    org_requests = await requests_of(user.id)
    accounts = await accounts_of(user.id)
    # Quiz attempts: their times and scores, never the bank's questions or answers.
    attempts = await QuizAttempt.filter(user_id=user.id).select_related("task").order_by("id")
    reach = await ReachSnapshot.filter(submission__user_id=user.id).order_by("submission_id", "captured_at", "id")
    shares = await ShareLink.filter(user_id=user.id).annotate(opened=Count("opens")).order_by("id")
    opens = await ShareOpen.filter(opener_id=user.id).order_by("id")
    messages = await _messages_of(user.id)
    hour_requests = await _hour_requests_of(user.id)
    return {
        "exported_at": now_utc().astimezone(LOCAL_TZ).isoformat(),
        "user": {
            "id": str(user.id),
            "openid": user.openid,
            "unionid": user.unionid,
            "role": user.role,
            "nickname": user.nickname,
            "real_name": user.real_name,
            "org_id": str(user.org_id) if user.org_id else None,
            "phone": vault.decrypt(user.phone_enc) if user.phone_enc else None,
            "points": user.points,
            "service_hours": float(user.service_hours),
            "credit_hours": float(user.credit_hours),
            "honour_hours": float(user.honour_hours or 0),
            "leaderboard_visible": user.leaderboard_visible,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        },
        "sessions": [{"created_at": t.created_at.isoformat(), "expires_at": t.expires_at.isoformat()} for t in tokens],
        "enrollments": [
            {
                "task_id": str(e.task_id),
                "task_title": e.task.title,
                "status": e.status,
                "enrolled_at": e.enrolled_at.isoformat(),
                "checked_in_at": e.checked_in_at.isoformat() if e.checked_in_at else None,
                "checkin_lat": e.checkin_lat,
                "checkin_lng": e.checkin_lng,
                "checked_out_at": e.checked_out_at.isoformat() if e.checked_out_at else None,
            }
            for e in enrollments
        ],
        "photos": [
            {
                "id": str(m.id),
                "uploaded_at": m.created_at.isoformat(),
                "taken_at": m.taken_at.isoformat() if m.taken_at else None,
                "lat": m.lat,
                "lng": m.lng,
                "width": m.width,
                "height": m.height,
            }
            for m in photos
        ],
        "submissions": [
            {
                "id": str(s.id),
                "task_id": str(s.task_id),
                "status": s.status,
                "text": s.text,
                "links": s.links,
                "lat": s.lat,
                "lng": s.lng,
                "created_at": s.created_at.isoformat(),
                "review": _review(s),
            }
            for s in submissions
        ],
        "ledger": [
            {
                "id": str(e.id),
                "kind": e.kind,
                "points": e.points,
                "service_hours": float(e.service_hours),
                "hours_kind": e.hours_kind,
                "reason": e.reason,
                "submission_id": str(e.submission_id or e.bonus_of) if e.submission_id or e.bonus_of else None,
                "created_at": e.created_at.isoformat(),
            }
            for e in ledger
        ],
        "certificates": [
            {
                "serial": c.serial,
                "name": c.name,
                "org": c.org,
                "service_hours": float(c.service_hours),
                "credit_hours": float(c.credit_hours),
                "honour_hours": float(c.honour_hours),
                "approved_tasks": c.approved_tasks,
                "issued_on": c.issued_on.isoformat(),
            }
            for c in certificates
        ],
        "org_requests": [
            {
                "id": str(r.id),
                "from_org_id": str(r.from_org_id) if r.from_org_id else None,
                "to_org_id": str(r.to_org_id),
                "status": r.status,
                "reason": r.reason,
                "created_at": r.created_at.isoformat(),
                "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            }
            for r in org_requests
        ],
        "accounts": [exported(a) for a in accounts],
        "quiz_attempts": [
            {
                "id": str(a.id),
                "task_id": str(a.task_id),
                "task_title": a.task.title,
                "started_at": a.started_at.isoformat(),
                "deadline": a.deadline.isoformat(),
                "finished_at": a.finished_at.isoformat() if a.finished_at else None,
                "score": float(a.score) if a.score is not None else None,
                "passed": a.passed,
                "points_awarded": a.points_awarded,
            }
            for a in attempts
        ],
        "reach": [
            {
                "submission_id": str(r.submission_id),
                **{name: getattr(r, name) for name in COUNTS},
                "captured_at": r.captured_at.isoformat(),
                "correction": r.correction,
                "created_at": r.created_at.isoformat(),
            }
            for r in reach
        ],
        "shares": [
            {"task_id": str(s.task_id), "shared_at": s.created_at.isoformat(), "opens": s.opened} for s in shares
        ],
        "share_opens": [{"task_id": str(o.task_id), "opened_at": o.created_at.isoformat()} for o in opens],
        "messages": messages,
        "notices": await notices_of(user.id),
        "hour_requests": hour_requests,
    }


async def _hour_requests_of(user_id: int) -> list[dict[str, Any]]:
    """The person's make-up requests and their outcome, in two queries whatever their number."""
    requests = await HourRequest.filter(user_id=user_id).select_related("task").order_by("id")
    photos: dict[int, list[str]] = {}
    for request_id, media_id in (
        await HourRequestMedia.filter(request_id__in=[r.id for r in requests])
        .order_by("position")
        .values_list("request_id", "media_id")
    ):
        photos.setdefault(request_id, []).append(str(media_id))
    return [
        {
            "id": str(r.id),
            "task_id": str(r.task_id),
            "task_title": r.task.title,
            "started_at": r.started_at.isoformat(),
            "ended_at": r.ended_at.isoformat(),
            "hours": float(r.hours),
            "note": r.note,
            "media_ids": photos.get(r.id, []),
            "status": r.status,
            "reason": r.reason,
            "awarded_hours": float(r.awarded_hours),
            "awarded_points": r.awarded_points,
            "created_at": r.created_at.isoformat(),
            "reviewed_at": r.reviewed_at.isoformat() if r.reviewed_at else None,
        }
        for r in requests
    ]


async def _messages_of(user_id: int) -> list[dict[str, Any]]:
    """The person's messages with what they see of the handling: the public steps, not the staff's notes.

    Three queries whatever the number of messages.
    """
    messages = await Message.filter(writer_id=user_id).order_by("id")
    ids = [m.id for m in messages]
    photos: dict[int, list[str]] = {}
    for message_id, media_id in (
        await MessageMedia.filter(message_id__in=ids).order_by("position").values_list("message_id", "media_id")
    ):
        photos.setdefault(message_id, []).append(str(media_id))
    events: dict[int, list[dict[str, Any]]] = {}
    for e in await MessageEvent.filter(message_id__in=ids, public=True).order_by("id"):
        events.setdefault(e.message_id, []).append({"at": e.at.isoformat(), "action": e.action, "note": e.note})
    return [
        {
            "id": str(m.id),
            "number": m.number,
            "category": m.category,
            "title": m.title,
            "content": m.content,
            "media_ids": photos.get(m.id, []),
            "lat": m.lat,
            "lng": m.lng,
            "public_ok": m.public_ok,
            "status": m.status,
            "reply": m.reply,
            "replied_at": m.replied_at.isoformat() if m.replied_at else None,
            "rating": m.rating,
            "rating_comment": m.rating_comment,
            "created_at": m.created_at.isoformat(),
            "events": events.get(m.id, []),
        }
        for m in messages
    ]


def _review(s: Submission) -> dict[str, Any] | None:
    """The reviewer's decision on the person's evidence, and the reason they were given."""
    if s.decision is None or s.reviewed_at is None:
        return None
    return {
        "decision": s.decision,
        "reason": s.reason,
        "points": s.awarded_points,
        "reviewed_at": s.reviewed_at.isoformat(),
    }
