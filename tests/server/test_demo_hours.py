"""The demo's make-up requests: one pending with a real photo, one approved with its hours on the ledger."""

from __future__ import annotations

from decimal import Decimal

from models.hour_requests import HourRequest
from models.ledger import LedgerEntry
from models.media import Media
from models.users import User
from server.demo import seed
from server.demo_hours import CHEN, WANG, tell_hours


async def test_the_demo_has_one_pending_and_one_approved_make_up(api):
    ids = await seed()
    staff = await User.get(openid="demo-openid-staff").select_related("org")
    storage = api.service.services.storage

    await tell_hours(ids, ids["campaign"], staff, storage)

    wang, chen = await User.get(openid=WANG), await User.get(openid=CHEN)
    pending = await HourRequest.get(user_id=wang.id).prefetch_related("photos__media")
    assert pending.status == "pending" and pending.hours == Decimal("3.00")
    (photo,) = pending.photos
    media = await Media.get(id=photo.media_id)
    assert media.width == 1600 and storage.open(media.display_key)[:2] == b"\xff\xd8"  # a JPEG
    approved = await HourRequest.get(user_id=chen.id)
    assert approved.status == "approved" and approved.awarded_hours == Decimal("3.00") and approved.awarded_points == 6
    (entry,) = await LedgerEntry.filter(user_id=chen.id)
    assert entry.once_key == f"hour_request:{approved.id}" and entry.hours_kind == "credit"
