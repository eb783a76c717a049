"""The demo's make-up requests (补录): one awaiting review with a photo, one approved, made by the domain's own moves.

志愿者小王 forgot to check in at this morning's outreach in 育贤社区 and asks for the time with a photo
(pending, on the 补录审核 page); 志愿者小陈 served at yesterday's anti-fraud outreach without a phone
signal and was credited by 县委网信办·李老师 (approved: credit hours and points on the ledger).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from media.storage import Storage
from models.campaigns import Task
from models.makeup import Claim, Verdict, get_hour_request, request_hours, review_hours
from models.users import User
from server.demo_story import NoEffects, store_photo, village_photo
from server.kernel.clock import now_utc

WANG, CHEN = "demo-openid-volunteer", "demo-openid-volunteer-2"


async def tell_hours(orgs: dict[str, int], campaign_id: int, staff: User, storage: Storage) -> None:
    """A pending request on this morning's outreach and an approved one on yesterday's."""
    now = now_utc()
    wang = await User.get(openid=WANG).select_related("org")
    morning = await _task(campaign_id, "育贤社区网络文明宣传", now - timedelta(hours=6), now - timedelta(hours=2), 8)
    photo = await store_photo(wang, village_photo(seed=77, taken=now - timedelta(hours=4)), storage)
    claim = Claim(
        task_id=morning.id,
        started_at=now - timedelta(hours=6),
        ended_at=now - timedelta(hours=2, minutes=40),
        note="到社区时手机没电，没能签到签退；照片是充上电后在宣传点补拍的，社区主任可以证明。",
        media_ids=[photo.id],
    )
    await request_hours(wang, morning, claim)

    chen = await User.get(openid=CHEN).select_related("org")
    outreach = await _task(campaign_id, "归阳镇集市防诈骗宣传", now - timedelta(hours=23), now - timedelta(hours=19), 6)
    proof = await store_photo(chen, village_photo(seed=78, taken=now - timedelta(hours=21)), storage)
    made = await request_hours(
        chen,
        outreach,
        Claim(
            task_id=outreach.id,
            started_at=now - timedelta(hours=23),
            ended_at=now - timedelta(hours=20),
            note="集市上没有信号，签到没成功。",
            media_ids=[proof.id],
        ),
    )
    found = await get_hour_request(made.id)
    assert found is not None
    await review_hours(found, staff, Verdict("approve", "与集市摊位的签到表一致"), NoEffects())


async def _task(campaign_id: int, title: str, starts_at: datetime, ends_at: datetime, points: int) -> Task:
    """A four-hour outreach task of the demo's campaign, with its campaign and org as reviews read them."""
    made = await Task.create(
        campaign_id=campaign_id,
        title=title,
        description="摆摊发放宣传单，讲解网络文明与防范电信诈骗知识",
        starts_at=starts_at,
        ends_at=ends_at,
        quota=20,
        points=points,
        service_hours=4,
        min_photos=1,
        max_photos=3,
    )
    return await Task.get(id=made.id).select_related("campaign__org")
