"""``wenming demo``: a fresh SQLite file, a fake WeChat in-process, demo people."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import NoReturn

from server.config import Config
from server.kernel.clock import now_utc
from server.wechat.fake import FakeWeChat

COUNTY = "祁东县"
STAFF_OPENID = "demo-openid-staff"
INFLUENCER_OPENID = "demo-openid-influencer"
TOWNSHIPS = ("洪桥街道", "白地市镇", "归阳镇", "金桥镇", "过水坪镇")
VILLAGES = {"归阳镇": ("湘江村",), "洪桥街道": ("育贤社区",)}
# (login code, openid, nickname, role, org name)
PEOPLE = (
    ("demo-staff", STAFF_OPENID, "县委网信办·李老师", "staff", COUNTY),
    ("demo-admin", "demo-openid-admin", "系统管理员", "admin", COUNTY),
    ("demo-volunteer", "demo-openid-volunteer", "志愿者小王", "volunteer", "洪桥街道"),
    ("demo-volunteer-2", "demo-openid-volunteer-2", "志愿者小陈", "volunteer", "归阳镇"),
    ("demo-influencer", INFLUENCER_OPENID, "祁东美食达人", "influencer", "金桥镇"),
)


async def seed() -> dict[str, int]:
    """Create the demo org tree, people and one open task; returns ids by name (orgs, and "task")."""
    from models.calendar_data import seed_calendar
    from models.users import User

    # Message deadlines count working days: the demo knows the published holidays.
    await seed_calendar()
    orgs = await seed_orgs()
    for _code, openid, nickname, role, org in PEOPLE:
        await User.create(openid=openid, nickname=nickname, role=role, org_id=orgs[org])
    orgs["task"], orgs["campaign"] = await _seed_task(orgs[COUNTY])
    return orgs


async def seed_orgs() -> dict[str, int]:
    """The demo county, its townships and villages; ids by name."""
    from models.orgs import Org, create_org

    county = await create_org(COUNTY, "county", None)
    # Who the county's certificates name (组织 → 证明签发信息 in the console).
    await Org.filter(id=county.id).update(cert_leader="王建国", cert_handler="李红", cert_contact="0734-6123456")
    orgs = {COUNTY: county.id}
    for name in TOWNSHIPS:
        orgs[name] = (await create_org(name, "township", county.id)).id
    for township, villages in VILLAGES.items():
        for name in villages:
            orgs[name] = (await create_org(name, "village", orgs[township])).id
    return orgs


async def _seed_task(county_id: int) -> tuple[int, int]:
    from datetime import timedelta

    from models.campaigns import Campaign, Task

    now = now_utc()
    campaign = await Campaign.create(
        title="网络大V进乡村·美丽祁东行",
        kind="village_visit",
        description="走进乡村，用镜头记录家乡新面貌",
        org_id=county_id,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
        status="published",
        published_at=now,
    )
    task = await Task.create(
        campaign=campaign,
        title="湘江村采风：拍摄村容村貌",
        description="拍摄 1–3 张照片，配一段文字介绍",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
        quota=50,
        points=10,
        service_hours=2,
        min_photos=1,
        max_photos=3,
    )
    return task.id, campaign.id


def _sample_photo(path: Path) -> None:
    """A photo to upload in the demo (a landscape drawn with Pillow)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1600, 1200), (135, 190, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 700, 1600, 1200), fill=(70, 140, 60))
    draw.polygon([(200, 700), (600, 250), (1000, 700)], fill=(90, 110, 90))
    draw.rectangle((1000, 520, 1300, 760), fill=(235, 225, 200))
    draw.polygon([(980, 520), (1150, 400), (1320, 520)], fill=(150, 60, 50))
    draw.ellipse((1300, 80, 1450, 230), fill=(250, 220, 80))
    img.save(path, format="JPEG", quality=90)


DEMO_PUSH_TOKEN = "wenming-demo-push-token"


def run_demo(host: str, port: int) -> None:
    """Serve the demo until Ctrl-C or SIGTERM; its data (database, photos) goes with it."""
    workdir = Path(tempfile.mkdtemp(prefix="wenming-demo-"))
    # Until the server's own handler takes over, SIGTERM would end the process on the spot,
    # skipping the clean-up below: make it unwind like Ctrl-C instead.
    previous = signal.signal(signal.SIGTERM, _unwind)
    try:
        _serve_demo(workdir, host, port)
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workdir, ignore_errors=True)


def _unwind(signum: int, _frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


def _serve_demo(workdir: Path, host: str, port: int) -> None:
    from server.cli import console_secret, console_url, run_server, with_db
    from server.runtime.db import apply_migrations

    fake = FakeWeChat(appid="wxdemoappid", secret="demo-secret")
    for code, openid, *_ in PEOPLE:
        fake.add_reusable_code(code, openid)
    api_base = fake.run_in_thread()
    base = f"http://{host}:{port}"
    # Photo checks come back by push a moment later, as from WeChat.
    fake.configure_push(f"{base}/api/v1/wechat/push", DEMO_PUSH_TOKEN)
    fake.auto_verdict = ("pass", 2.0)
    # Workers are separate processes that read the environment: configure through it.
    os.environ.update(
        {
            "WENMING_ENV": "demo",
            "WENMING_DATABASE_URL": f"sqlite://{workdir / 'wenming.sqlite3'}",
            "WENMING_MEDIA_ROOT": str(workdir / "media"),
            "WENMING_WECHAT_API_BASE": api_base,
            "WENMING_WECHAT_APPID": fake.appid,
            "WENMING_WECHAT_SECRET": fake.secret,
            "WENMING_PUBLIC_BASE_URL": base,
            "WENMING_WECHAT_PUSH_TOKEN": DEMO_PUSH_TOKEN,
        }
    )
    os.environ.pop("WENMING_REDIS_URL", None)
    config = Config.from_env()

    async def prepare() -> tuple[dict[str, int], str]:
        from models.users import User
        from server.app import make_storage
        from server.demo_hours import tell_hours
        from server.demo_messages import tell_messages
        from server.demo_notices import tell_notices
        from server.demo_online import tell_online
        from server.demo_quiz import seed_quiz
        from server.demo_story import tell, tell_checkout

        await apply_migrations()
        ids = await seed()
        ids.update(await seed_quiz(ids, ids[COUNTY]))
        staff = await User.get(openid=STAFF_OPENID).select_related("org")
        storage = make_storage(config)
        await tell(ids, ids["campaign"], storage, staff)
        influencer = await User.get(openid=INFLUENCER_OPENID).select_related("org")
        await tell_online(ids[COUNTY], influencer, staff, storage)
        admin = await User.get(openid="demo-openid-admin").select_related("org")
        await tell_messages(ids, staff, admin, storage)
        await tell_notices(ids[COUNTY], ids["campaign"], staff)
        await tell_hours(ids, ids["campaign"], staff, storage)
        # Last, so the tasks and submissions made before keep their ids (docs/console/screenshots.py).
        volunteer = await User.get(openid="demo-openid-volunteer").select_related("org")
        forgetful = await User.get(openid="demo-openid-volunteer-2").select_related("org")
        ids["checkout_task"] = await tell_checkout(ids["campaign"], volunteer, forgetful, staff, storage)
        return ids, await console_secret(STAFF_OPENID)

    ids, secret = with_db(config, prepare)
    _sample_photo(workdir / "sample.jpg")
    console = console_url(base, secret)
    instructions = _instructions(base, workdir, api_base, ids["task"], console, ids["quiz_task"])
    checkout = (
        "A task with check-out (签退): 志愿者小王 was credited 2.5 hours; 志愿者小陈 never checked out and"
        f" awaits review: {base}/console/tasks/{ids['checkout_task']}"
    )
    print(f"{instructions}{checkout}\n", flush=True)
    run_server(host, port, 1)


def _instructions(base: str, workdir: Path, api_base: str, task_id: int, console: str, quiz_task_id: int) -> str:
    login = (
        f"curl -s -X POST {base}/api/v1/auth/wechat-login -H 'Content-Type: application/json' -d '{{\"code\": \"%s\"}}'"
    )
    token = " | python3 -c 'import sys, json; print(json.load(sys.stdin)[\"token\"])'"
    media_id = " | python3 -c 'import sys, json; print(json.load(sys.stdin)[\"id\"])'"
    volunteer = '-H "Authorization: Bearer $TOKEN"'
    evidence = '{\\"media_ids\\": [\\"$MEDIA\\"], \\"text\\": \\"湘江村新修的文化广场\\"}'
    task = f"{base}/api/v1/tasks/{task_id}"
    lines = [
        "",
        "wenming demo is starting",
        f"  API:         {base}/api/v1   (OpenAPI: {base}/docs)",
        f"  data:        {workdir}  (SQLite + media, fresh each run)",
        f"  fake WeChat: {api_base}",
        "",
        "Staff console (管理后台) for 县委网信办·李老师: open this one-time link (10 minutes) in a browser:",
        f"  {console}",
        f"  (later: {base}/console/login, or `wenming console link --openid {STAFF_OPENID}` with this demo's settings)",
        f"Or sign in by scanning: open {base}/console/login, read its code with any QR scanner",
        "  (wxa://…?scene=login:TICKET), then confirm as the mini-program would, signed in as staff ($STAFF below):",
        f'  TICKET=...; curl -s -X POST {base}/api/v1/console/tickets/$TICKET/confirm -H "Authorization: Bearer $STAFF"',  # noqa: E501
        "",
        "Sign in as a volunteer (志愿者小王), then read your profile:",
        f"  TOKEN=$({login % 'demo-volunteer'}{token})",
        f'  curl -s {base}/api/v1/me -H "Authorization: Bearer $TOKEN"',
        "",
        "Sign in as staff (县委网信办·李老师), then list the people of the county:",
        f"  STAFF=$({login % 'demo-staff'}{token})",
        f'  curl -s {base}/api/v1/users -H "Authorization: Bearer $STAFF"',
        "",
        "As the volunteer, enroll in the demo task, upload a photo and hand it in as evidence:",
        f"  curl -s -X POST {task}/enroll {volunteer}",
        f'  MEDIA=$(curl -s -F "file=@{workdir / "sample.jpg"}" {base}/api/v1/media {volunteer}{media_id})',
        f"  curl -s -X POST {task}/submissions {volunteer} -H 'Content-Type: application/json' -d \"{evidence}\"",
        "",
        "As staff, read the evidence with its risk flags (the photo check answers by push after ~2 s):",
        f'  curl -s {base}/api/v1/submissions -H "Authorization: Bearer $STAFF"',
        "",
        *_quiz_instructions(base, quiz_task_id),
        "",
        "Other demo sign-in codes: " + ", ".join(p[0] for p in PEOPLE[1:] if p[0] != "demo-volunteer"),
        "",
    ]
    return "\n".join(lines)


def _quiz_instructions(base: str, quiz_task_id: int) -> list[str]:
    """Start an attempt, answer its first question, or all of them with their first option (judge: true), finish.

    No line starts with ``curl `` or ``TOKEN=``: tests/e2e/test_demo.py runs those lines, and these need
    the quiz routes.
    """
    bearer = '-H "Authorization: Bearer $TOKEN"'
    attempt = f"{base}/api/v1/quiz-attempts/$ATTEMPT"
    first = 'q["questions"][0]'

    def read(expression: str) -> str:
        return 'echo "$QUIZ" | python3 -c \'import sys, json; q = json.load(sys.stdin); print(' + expression + ")'"

    put_all = (
        "import sys, json, urllib.request as u; q = json.load(sys.stdin); "
        "[u.urlopen(u.Request(" + f'"{base}/api/v1/quiz-attempts/%s/answers/%s"' + ' % (q["id"], x["id"]), '
        'method="PUT", data=json.dumps({"choice": True if x["type"] == "judge" else [0]}).encode(), '
        'headers={"Authorization": "Bearer " + sys.argv[1], "Content-Type": "application/json"})) '
        'for x in q["questions"]]; print("answered", len(q["questions"]))'
    )
    choice_body = '"{\\"choice\\": $CHOICE}"'
    return [
        "Take the 网络普法 quiz as the volunteer (10 questions in 10 minutes; after the TOKEN= line above):",
        f"  QUIZ=$(curl -s -X POST {base}/api/v1/tasks/{quiz_task_id}/quiz/attempts {bearer})",
        "  ATTEMPT=$(" + read('q["id"]') + ")",
        "  QUESTION=$(" + read(first + '["id"]') + ")",
        "  CHOICE=$(" + read("json.dumps(True if " + first + '["type"] == "judge" else [0])') + ")",
        f"  ANSWERED=$(curl -s -o /dev/null -w '%{{http_code}}' -X PUT {attempt}/answers/$QUESTION {bearer}"
        f" -H 'Content-Type: application/json' -d {choice_body}); echo \"$ANSWERED\"",
        "Or answer every question with its first option (judge: true); then finish and read the score:",
        f'  echo "$QUIZ" | python3 -c \'{put_all}\' "$TOKEN"',
        f'  RESULT=$(curl -s -X POST {attempt}/finish {bearer}); echo "$RESULT"',
    ]
