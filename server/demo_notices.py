"""The demo's notices (通知): one to the whole county, one to the village story's campaign, partly read.

Sent by 县委网信办·李老师 through the domain's own operation (recipients, audit entry). Some of the
people have read them, so the 通知 page shows read rates and who has not read yet.
"""

from __future__ import annotations

from models.campaigns import Campaign
from models.notices import NoticeDraft, NoticeRecipient, mark_read, send_notice
from models.orgs import Org
from models.users import User
from server.demo_story import NoEffects

NOTICES = (
    (
        "关于开展“清朗·祁东”网络文明志愿服务月的通知",
        "各位网络文明志愿者、网络达人：\n本月为“清朗·祁东”网络文明志愿服务月，请大家在小程序“活动”中报名"
        "参加各乡镇的志愿服务，及时上传活动照片。服务时长以签到签退为准。\n县委网信办",
    ),
    (
        "湘江村文化礼堂普法宣传：请尽快提交活动照片",
        "参加湘江村文化礼堂网络普法宣传的志愿者：请在任务结束前提交 1–3 张现场照片并简要说明，已提交的请留意审核结果。",
    ),
)


async def tell_notices(county_id: int, campaign_id: int, staff: User) -> None:
    """Send the county's notice and the campaign's, and have about half of each read."""
    effects = NoEffects()
    county = await Org.get(id=county_id)
    campaign = await Campaign.get(id=campaign_id).select_related("org")
    drafts = (
        NoticeDraft(*NOTICES[0], org=county),
        NoticeDraft(*NOTICES[1], org=county, campaign=campaign),
    )
    for n, draft in enumerate(drafts):
        notice = await send_notice(staff, draft, effects)
        people = await NoticeRecipient.filter(notice_id=notice.id).order_by("id").values_list("user_id", flat=True)
        for i, user_id in enumerate(people):
            if (i + n) % 2 == 0:
                await mark_read(notice.id, user_id)
