"""The demo's online work (网络传播): a hometown showcase campaign with an online task, the demo
influencer's verified Weibo account, and an approved post whose reach grew past the first tier.

Made with the domain operations (claim and verify the account, enroll, submit with the link, review,
record reach, record an official repost), so the console's task page, reach page and the ledger show
what they would in the county.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from media.storage import Storage
from models.accounts import claim_account, decide_account
from models.campaigns import Campaign
from models.enrollment import enroll
from models.reach import Reach, add_snapshot, record_repost
from models.submissions import Evidence, get_submission, submit
from models.tasks import create_task
from models.users import User
from server.demo_story import NoEffects, approve_in_the_past, passes_check, store_photo, village_photo
from server.kernel.clock import now_utc

CAMPAIGN_TITLE = "网络达人爱家乡·美丽祁东巡礼"
TASK_TITLE = "发布一条“美丽祁东”短视频或图文"
ONLINE = {
    "platforms": ["douyin", "weibo", "wechat_channels"],
    "require_link": True,
    "own_account": True,
    "reach_tiers": [{"views": 10_000, "points": 5}, {"views": 100_000, "points": 20}],
    "repost_bonus": {"county": 1, "city": 2, "province": 3, "national": 5},
    "share_points": 1,
    "share_daily_cap": 10,
}
# The influencer's Weibo account (uid in the profile URL) and a post of it.
WEIBO_PROFILE = "https://weibo.com/u/1642634100"
WEIBO_POST = "https://weibo.com/1642634100/z0JH2lOMb"
COUNTY_REPOST = "https://www.qidong.gov.cn/xwzx/zwdt/202612/t20261203_1001.html"


@dataclass(frozen=True)
class OnlineStory:
    task_id: int
    submission_id: int


async def tell_online(county_id: int, influencer: User, staff: User, storage: Storage) -> OnlineStory:
    """The online campaign, task, verified account, approved submission, its reach and a county repost."""
    now = now_utc()
    effects = NoEffects()
    campaign = await Campaign.create(
        title=CAMPAIGN_TITLE,
        kind="hometown_showcase",
        description="用短视频、图文展示祁东的山水、美食和新农村面貌，在抖音、微博或视频号发布后提交作品链接",
        org_id=county_id,
        starts_at=now - timedelta(days=10),
        ends_at=now + timedelta(days=30),
        status="published",
        published_at=now - timedelta(days=10),
    )
    campaign = await Campaign.get(id=campaign.id).select_related("org")
    columns = {
        "title": TASK_TITLE,
        "description": "在抖音、微博或视频号用本人已认证账号发布作品，提交作品链接；通过后按浏览量和官方转载另得积分",
        "starts_at": now - timedelta(days=7),
        "ends_at": now + timedelta(days=21),
        "points": 10,
        "min_photos": 0,
        "max_photos": 3,
        "online": ONLINE,
    }
    task = await create_task(campaign, columns, effects)
    account = await claim_account(
        influencer, platform="weibo", handle="祁东美食达人", profile_url=WEIBO_PROFILE, followers=52_000
    )
    await decide_account(account.id, staff, None, verify=True, reason=None)
    await enroll(task, influencer)
    text = "祁东黄花菜丰收季，跟着镜头走进田间地头。"
    submission = await submit(task, influencer, Evidence(media_ids=[], text=text, links=[WEIBO_POST]), passes_check)
    await approve_in_the_past(submission.id, staff, now - timedelta(days=3))
    # The owner's two records: the day after approval, then this morning past 1 万 浏览 (tier 1).
    shot = await store_photo(influencer, village_photo(seed=77, taken=now - timedelta(hours=5)), storage)
    for views, likes, days, media_id in ((3_200, 180, 2, None), (12_800, 640, 0, shot.id)):
        fresh = await get_submission(submission.id)
        assert fresh is not None
        reach = Reach(views, likes, likes // 8, likes // 12, now - timedelta(days=days, hours=5), media_id)
        await add_snapshot(fresh, influencer, reach, effects)
    fresh = await get_submission(submission.id)
    assert fresh is not None
    await record_repost(fresh, staff, "county", COUNTY_REPOST, effects)
    return OnlineStory(task_id=task.id, submission_id=submission.id)
