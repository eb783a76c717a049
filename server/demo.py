"""``wenming demo``: a fresh SQLite file, a fake WeChat in-process, demo people."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from server.config import Config
from server.devtools.fake_wechat import FakeWeChat

COUNTY = "祁东县"
TOWNSHIPS = ("洪桥街道", "白地市镇", "归阳镇", "金桥镇", "过水坪镇")
VILLAGES = {"归阳镇": ("湘江村",), "洪桥街道": ("育贤社区",)}
# (login code, openid, nickname, role, org name)
PEOPLE = (
    ("demo-staff", "demo-openid-staff", "县委网信办·李老师", "staff", COUNTY),
    ("demo-admin", "demo-openid-admin", "系统管理员", "admin", COUNTY),
    ("demo-volunteer", "demo-openid-volunteer", "志愿者小王", "volunteer", "洪桥街道"),
    ("demo-volunteer-2", "demo-openid-volunteer-2", "志愿者小陈", "volunteer", "归阳镇"),
    ("demo-influencer", "demo-openid-influencer", "祁东美食达人", "influencer", "金桥镇"),
)


async def seed() -> dict[str, int]:
    """Create the demo org tree and people; returns org ids by name."""
    from models.orgs import create_org
    from models.users import User

    county = await create_org(COUNTY, "county", None)
    orgs = {COUNTY: county.id}
    for name in TOWNSHIPS:
        orgs[name] = (await create_org(name, "township", county.id)).id
    for township, villages in VILLAGES.items():
        for name in villages:
            orgs[name] = (await create_org(name, "village", orgs[township])).id
    for _code, openid, nickname, role, org in PEOPLE:
        await User.create(openid=openid, nickname=nickname, role=role, org_id=orgs[org])
    return orgs


def run_demo(host: str, port: int) -> None:
    from server.cli import run_server, with_db
    from server.db import apply_migrations

    workdir = Path(tempfile.mkdtemp(prefix="wenming-demo-"))
    fake = FakeWeChat(appid="wxdemoappid", secret="demo-secret")
    for code, openid, *_ in PEOPLE:
        fake.add_reusable_code(code, openid)
    api_base = fake.run_in_thread()
    base = f"http://{host}:{port}"
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
        }
    )
    os.environ.pop("WENMING_REDIS_URL", None)
    config = Config.from_env()

    async def prepare() -> dict[str, int]:
        await apply_migrations()
        return await seed()

    with_db(config, prepare)
    print(_instructions(base, workdir, api_base), flush=True)
    run_server(host, port, 1)


def _instructions(base: str, workdir: Path, api_base: str) -> str:
    login = (
        f"curl -s -X POST {base}/api/v1/auth/wechat-login -H 'Content-Type: application/json' -d '{{\"code\": \"%s\"}}'"
    )
    token = " | python3 -c 'import sys, json; print(json.load(sys.stdin)[\"token\"])'"
    lines = [
        "",
        "wenming demo is starting",
        f"  API:         {base}/api/v1   (OpenAPI: {base}/docs)",
        f"  data:        {workdir}  (SQLite + media, fresh each run)",
        f"  fake WeChat: {api_base}",
        "",
        "Sign in as a volunteer (志愿者小王), then read your profile:",
        f"  TOKEN=$({login % 'demo-volunteer'}{token})",
        f'  curl -s {base}/api/v1/me -H "Authorization: Bearer $TOKEN"',
        "",
        "Sign in as staff (县委网信办·李老师), then list the people of the county:",
        f"  STAFF=$({login % 'demo-staff'}{token})",
        f'  curl -s {base}/api/v1/users -H "Authorization: Bearer $STAFF"',
        "",
        "Other demo sign-in codes: " + ", ".join(p[0] for p in PEOPLE[1:] if p[0] != "demo-volunteer"),
        "",
    ]
    return "\n".join(lines)
