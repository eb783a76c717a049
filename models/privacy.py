"""Personal data (PIPL): what a person can take out (export) and have erased.

Kept apart from models.users: both reach into every model that holds a person's
data (campaigns, media, submissions), and models.users is what those import.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from media.storage import variant_keys
from models.campaigns import Campaign, Enrollment
from models.media import ERASED_KEY_PREFIX, Media
from models.submissions import Submission
from models.users import ERASED_NICKNAME, AuthToken, User
from server.kernel.clock import now_utc


async def erase_user(user: User) -> list[str]:
    """Erase personal data (PIPL): identity, phone, profile and sessions go; the row and
    its points stay, anonymous, so rankings and reports keep adding up.

    Photos lose their evidence (time, place) and their files: the storage keys to delete
    are returned, to be removed after commit (what a crash leaves, `media sweep` removes,
    since no row points at those keys any more). Submissions lose their text and place.
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
        await AuthToken.filter(user_id=user.id).delete()
        await User.filter(id=user.id).update(
            openid=None,
            unionid=None,
            session_key_enc=None,
            nickname=ERASED_NICKNAME,
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


async def personal_data(user: User, vault: Any) -> dict[str, Any]:
    """The PIPL export: every personal field we hold, and what the person took part in."""
    tokens = await AuthToken.filter(user_id=user.id).order_by("created_at")
    enrollments = await Enrollment.filter(user_id=user.id).select_related("task").order_by("id")
    photos = await Media.filter(owner_id=user.id).order_by("id")
    submissions = await Submission.filter(user_id=user.id).order_by("id")
    return {
        "exported_at": now_utc().isoformat(),
        "user": {
            "id": str(user.id),
            "openid": user.openid,
            "unionid": user.unionid,
            "role": user.role,
            "nickname": user.nickname,
            "org_id": str(user.org_id) if user.org_id else None,
            "phone": vault.decrypt(user.phone_enc) if user.phone_enc else None,
            "points": user.points,
            "service_hours": float(user.service_hours),
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
            }
            for s in submissions
        ],
    }
