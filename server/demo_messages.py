"""The demo's netizen messages: one in each state the 留言 page shows, made by the domain's own moves.

Volunteers write them; 县委网信办·李老师 (county staff) accepts, assigns, approves and supervises; the
townships' side (the draft reply) is played by the demo admin, as the demo has no township staff.
One assigned message is already past its deadline (set back in time, the only thing not done by a
move), and the supervision job has raised it, so the queue opens with an overdue, supervised row.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from media.storage import Storage
from models.messages import Draft, Message, Move, get_message, move, supervise_overdue, write_message
from models.users import User
from server.config import MESSAGE_DAYS
from server.demo_story import NoEffects, store_photo, village_photo
from server.kernel.clock import LOCAL_TZ, now_utc

WANG, CHEN = "demo-openid-volunteer", "demo-openid-volunteer-2"
# (writer's openid, category, title, content, public_ok, where its handling stops, township)
MESSAGES = (
    (WANG, "help", "育贤社区路灯坏了一周",
     "育贤社区 3 栋旁的路灯坏了一周，晚上出行不便，请尽快维修。", True, "submitted", None),
    (CHEN, "suggest", "建议湘江村增设公交站点",
     "湘江村到县城的班车站点较远，建议在村委会附近增设一个停靠点。", True, "accepted", None),
    (CHEN, "complain", "归阳镇河道有人倾倒垃圾",
     "归阳镇老街旁的河道近期常有人倾倒建筑垃圾，影响水质和环境。", False, "overdue", "归阳镇"),
    (WANG, "consult", "洪桥街道志愿服务时长如何认定",
     "参加社区网络文明宣传活动的时长如何计入志愿服务时长？", True, "replying", "洪桥街道"),
    (WANG, "help", "老旧小区网络信号差",
     "洪桥街道育贤社区老旧小区手机信号差，希望协调运营商改善。", True, "replied", "洪桥街道"),
    (CHEN, "consult", "网络文明志愿者如何报名",
     "想加入网络文明志愿者队伍，请问需要什么条件、在哪里报名？", True, "closed", "归阳镇"),
    (WANG, "clue", "外省某网站的广告问题",
     "在外省某购物网站看到夸大宣传的广告。", False, "rejected", None),
)  # fmt: skip
REPLIES = {
    "replying": "参加社区网络文明宣传活动，经组织方审核通过后按实际时长计入志愿服务时长。",
    "replied": "已联系运营商现场勘查，计划本月内在小区增设信号基站，请耐心等待。",
    "closed": "可在小程序“活动”中报名参加任意志愿活动，县委网信办将统一登记为网络文明志愿者。",
}


async def tell_messages(orgs: dict[str, int], staff: User, admin: User, storage: Storage) -> None:
    """Write the demo's messages and move each to the state it shows."""
    effects = NoEffects()
    days = dict(MESSAGE_DAYS)
    for openid, category, title, content, public_ok, stop, township in MESSAGES:
        writer = await User.get(openid=openid).select_related("org")
        media = [] if stop != "submitted" else [await store_photo(writer, _night_photo(), storage)]
        draft = Draft(category, title, content, public_ok, [m.id for m in media])
        message = await get_message((await write_message(writer, draft, effects)).id)

        async def step(actor: User, action: Move) -> None:
            nonlocal message
            message = await move(message, actor, action, effects, days_by_category=days)

        if stop == "rejected":
            await step(staff, Move("reject", reason="反映的是外省网站的问题，不属于本县受理范围，请向属地网信部门反映"))
            continue
        if stop == "submitted":
            continue
        await step(staff, Move("accept"))
        if township is None:
            continue
        await step(staff, Move("assign", org_id=orgs[township], kind="jiaoban", note=f"请{township}按期办理"))
        if stop == "overdue":
            await _past_its_deadline(message, staff, effects, days)
            continue
        await step(admin, Move("draft-reply", content=REPLIES[stop]))
        if stop == "replying":
            continue
        await step(staff, Move("approve-reply"))
        if stop == "closed":
            await step(writer, Move("rate", rating="satisfied", comment="答复很及时，谢谢"))


async def _past_its_deadline(message: Message, staff: User, effects: NoEffects, days: dict[str, int]) -> None:
    """Its deadline two days gone; the supervision job raises it (on a working day), else staff 督办 it."""
    today = datetime.now(LOCAL_TZ).date()
    # As a deadline falls: 23:59:59 local on its last day.
    await Message.filter(id=message.id).update(due_at=datetime.combine(today - timedelta(days=2), time.max, LOCAL_TZ))
    if message.id in await supervise_overdue(today):
        return
    await move(
        await get_message(message.id),
        staff,
        Move("supervise", note="已超期，请加快办理"),
        effects,
        days_by_category=days,
    )


def _night_photo() -> bytes:
    return village_photo(seed=17, taken=now_utc() - timedelta(days=1))
