"""The demo's story so far: volunteers who took part, photos awaiting review, some already approved.

Made with the domain operations themselves (enroll, store the photo, submit, review), so the console
shows what it would show in the county: a review queue with a duplicate photo, a photo taken outside
the task's area and one taken before the task, two weeks of history for the charts.
"""

from __future__ import annotations

import math
import random
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PIL import ExifTags, Image, ImageDraw

from media.storage import Storage
from media.uploads import store_upload
from models.audit import AuditEntry
from models.campaigns import Campaign, Enrollment, Task
from models.enrollment import enroll
from models.ledger import LedgerEntry
from models.media import Media, create_media
from models.review import Decision, review
from models.submissions import Evidence, Submission, get_submission, submit
from models.users import User
from server.kernel.clock import LOCAL_TZ, now_local, now_utc

# (nickname, real name, org) of the volunteers in the story
VOLUNTEERS = (
    ("湘江边的小刘", "刘晓燕", "湘江村"),
    ("归阳阿明", "周明", "归阳镇"),
    ("育贤小林", "林思琪", "育贤社区"),
    ("金桥老赵", "赵建国", "金桥镇"),
    ("白地市小胡", None, "白地市镇"),
    ("过水坪阿芳", "谢芳", "过水坪镇"),
    ("洪桥小何", "何雨萱", "洪桥街道"),
    ("育贤小周", "周子涵", "育贤社区"),
    ("湘江小唐", None, "湘江村"),
)
SPOT = (26.7870, 111.8700)  # the village square of the demo tasks (lat, lng)
TEXTS = (
    "湘江村新修的文化广场，村民在广场上跳舞。",
    "村里的网络文明宣传栏，更新了本月的内容。",
    "和村干部一起给老人讲解防范网络诈骗。",
    "拍摄了村口的新农村风貌，道路很干净。",
    "文化礼堂里正在开展网络普法讲座。",
    "参加了清朗网络空间主题宣传活动。",
    "给留守儿童上了一堂网络安全课。",
    "在礼堂门口发放网络文明倡议书。",
    "拍了讲座现场，来了三十多位村民。",
)


class NoEffects:
    """The demo is built before the service runs: no rankings to move yet (rebuilt from the ledger), no messages."""

    async def points_moved(self, entries: Any) -> None:
        return None

    async def notify(self, job: str, *args: Any) -> None:
        return None


@dataclass
class Story:
    task_id: int
    pending: int
    approved: int


async def tell(orgs: dict[str, int], campaign_id: int, storage: Storage, reviewer: User) -> Story:
    """Add the story's people, a task at the village square and its evidence; returns what was made."""
    campaign = await Campaign.get(id=campaign_id).select_related("org")
    now = now_utc()
    task = await Task.create(
        campaign=campaign,
        title="网络普法进乡村：文化礼堂宣传",
        description="在村文化礼堂开展网络普法宣传，拍摄 1–3 张现场照片并简要说明",
        starts_at=now - timedelta(days=20),
        ends_at=now + timedelta(days=10),
        quota=30,
        points=8,
        service_hours=3,
        min_photos=1,
        max_photos=3,
        lat=SPOT[0],
        lng=SPOT[1],
        radius_m=300,
        location_name="湘江村文化礼堂",
    )
    task = await Task.get(id=task.id).select_related("campaign__org")
    people = [
        await User.create(openid=f"demo-openid-story-{i}", nickname=nick, real_name=real, org_id=orgs[org])
        for i, (nick, real, org) in enumerate(VOLUNTEERS)
    ]
    shared_photo = village_photo(seed=99, taken=now)
    plans: list[dict[str, Any]] = [
        {"seed": 1, "approve_days_ago": 13},
        {"seed": 2, "approve_days_ago": 9},
        {"seed": 3, "approve_days_ago": 4},
        {"seed": 4, "approve_days_ago": 1},
        {"photo": shared_photo},  # both hand in the same picture: 重复照片
        {"photo": shared_photo},
        {"seed": 6, "at": _offset(SPOT, 4200)},  # 4 km away: 位置不符
        {"seed": 7, "taken": now - timedelta(days=51)},  # taken a month before the task began: 时间不符
        {"seed": 8, "check": "review"},  # WeChat's photo check asks for a person's look: 内容存疑
    ]
    approved = pending = 0
    for i, (person, plan) in enumerate(zip(people, plans, strict=True)):
        await enroll(task, person)
        taken = plan.get("taken") or now - timedelta(days=plan.get("approve_days_ago", 0), hours=2)
        media = await store_photo(person, plan.get("photo") or village_photo(seed=plan["seed"], taken=taken), storage)
        # As WeChat's photo check would have answered by now.
        await Media.filter(id=media.id).update(check_result=plan.get("check", "pass"))
        lat, lng = plan.get("at", SPOT)
        evidence = Evidence(media_ids=[media.id], text=TEXTS[i], lat=lat, lng=lng)
        submission = await submit(task, person, evidence, passes_check)
        if "approve_days_ago" in plan:
            await approve_in_the_past(submission.id, reviewer, now - timedelta(days=plan["approve_days_ago"]))
            approved += 1
        else:
            pending += 1
    return Story(task_id=task.id, pending=pending, approved=approved)


async def tell_checkout(campaign_id: int, volunteer: User, forgetful: User, reviewer: User, storage: Storage) -> int:
    """A task needing check-out, held yesterday 09:00–12:00: ``volunteer`` checked in at 09:05 and out at
    11:40, handed in a photo, and was approved for 2.5 hours (2 h 35 min on site, rounded down to the half
    hour, within the task's 3). ``forgetful`` checked in at 09:10 and never out: their photo awaits review,
    where the card proposes 0 hours and the reviewer may give some. Returns the task's id."""
    yesterday = (now_local() - timedelta(days=1)).replace(second=0, microsecond=0)

    def at(hour: int, minute: int) -> datetime:
        return yesterday.replace(hour=hour, minute=minute)

    task = await Task.create(
        campaign_id=campaign_id,
        title="湘江河畔净滩志愿服务",
        description="在湘江村河畔清理垃圾、劝导文明游玩；到场签到，离开时签退，服务时长按在岗时间计",
        starts_at=at(9, 0),
        ends_at=at(12, 0),
        quota=20,
        points=6,
        service_hours=3,
        min_photos=1,
        max_photos=3,
        lat=SPOT[0],
        lng=SPOT[1],
        radius_m=300,
        location_name="湘江村河畔",
        checkin_required=True,
        checkout_required=True,
        enrolled_count=2,
    )
    task = await Task.get(id=task.id).select_related("campaign__org")
    # The morning as the phone recorded it: enrolled the day before, GPS check-in and check-out at the river.
    await Enrollment.create(
        task_id=task.id,
        user_id=volunteer.id,
        enrolled_at=at(9, 0) - timedelta(days=1),
        status="checked_in",
        checked_in_at=at(9, 5),
        checkin_method="gps",
        checkin_lat=SPOT[0],
        checkin_lng=SPOT[1],
        checkin_distance_m=40,
        checked_out_at=at(11, 40),
        checkout_method="gps",
        checkout_distance_m=60,
    )
    await Enrollment.create(
        task_id=task.id,
        user_id=forgetful.id,
        enrolled_at=at(9, 0) - timedelta(days=1),
        status="checked_in",
        checked_in_at=at(9, 10),
        checkin_method="scene",
    )
    texts = ("和村民一起清理了河滩上的垃圾，捡拾了十余袋。", "在河畔劝导游客文明游玩，发放倡议书。")
    for seed, person, text in ((21, volunteer, texts[0]), (22, forgetful, texts[1])):
        media = await store_photo(person, village_photo(seed=seed, taken=at(10, 30)), storage)
        await Media.filter(id=media.id).update(check_result="pass")
        evidence = Evidence(media_ids=[media.id], text=text, lat=SPOT[0], lng=SPOT[1])
        submission = await submit(task, person, evidence, passes_check)
        if person is volunteer:
            await approve_in_the_past(submission.id, reviewer, at(14, 0))
    return task.id


async def passes_check(_text: str) -> str:
    return "pass"


async def approve_in_the_past(submission_id: int, reviewer: User, when: datetime) -> None:
    submission = await get_submission(submission_id)
    assert submission is not None
    entries = await review(submission, reviewer, Decision("approve"), NoEffects())
    # Spread over the last two weeks, so the dashboard's chart has a history to show.
    handed_in = when - timedelta(hours=5)
    await Submission.filter(id=submission_id).update(created_at=handed_in, reviewed_at=when)
    await LedgerEntry.filter(id__in=[e.id for e in entries]).update(created_at=when)
    await AuditEntry.filter(action="review", target=f"submission:{submission_id}").update(created_at=when)


async def store_photo(person: User, photo: bytes, storage: Storage) -> Any:
    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(photo)
        file.flush()
        stored = store_upload(file.name, storage)
    return await create_media(person, stored.stem, stored.image, len(photo))


def _offset(at: tuple[float, float], metres: float) -> tuple[float, float]:
    """A point ``metres`` east of ``at``."""
    lat, lng = at
    return lat, lng + metres / (111_320 * math.cos(math.radians(lat)))


def village_photo(*, seed: int, taken: datetime) -> bytes:
    """A village scene in JPEG with the capture time a phone would write."""
    rng = random.Random(seed)
    sky = (rng.randint(110, 170), rng.randint(170, 210), rng.randint(220, 250))
    img = Image.new("RGB", (1600, 1200), sky)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 760, 1600, 1200), fill=(rng.randint(50, 90), rng.randint(120, 160), rng.randint(40, 70)))
    for _ in range(rng.randint(2, 4)):  # houses with red roofs
        x = rng.randint(0, 1300)
        w = rng.randint(180, 320)
        top = rng.randint(480, 600)
        draw.rectangle((x, top, x + w, 780), fill=(236, 230, 214))
        draw.polygon([(x - 20, top), (x + w // 2, top - 110), (x + w + 20, top)], fill=(170, 50, 40))
        draw.rectangle((x + w // 2 - 25, 700, x + w // 2 + 25, 780), fill=(90, 60, 40))
    for _ in range(rng.randint(3, 7)):  # trees
        x = rng.randint(0, 1550)
        draw.ellipse((x - 60, 600, x + 60, 740), fill=(40, rng.randint(100, 140), 50))
        draw.rectangle((x - 8, 720, x + 8, 790), fill=(90, 70, 40))
    draw.ellipse((1320, 90, 1460, 230), fill=(250, 215, 90))
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken.astimezone(LOCAL_TZ).strftime(
        "%Y:%m:%d %H:%M:%S"
    )
    out = tempfile.SpooledTemporaryFile()
    img.save(out, format="JPEG", quality=85, exif=exif.tobytes())
    out.seek(0)
    return out.read()
