"""Two service processes behind a real nginx, sharing PostgreSQL and Redis (a province's setup)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest

from models.campaigns import Enrollment
from models.orgs import create_org
from models.users import User
from tests.conftest import Api
from tests.deploy.test_deploy import NGINX_CONF, localize_nginx_conf, nginx_binary, write_self_signed_cert
from tests.factories import TASKS, published_task
from tests.handlers.test_review import review_path
from tests.support import ServiceProcess, free_port, run_cli, service_env


@dataclass
class Site:
    base_url: str
    ssl: ssl.SSLContext


@pytest.fixture
async def two_behind_nginx(api, database_url, wechat, redis_url, tmp_path: Path) -> AsyncIterator[tuple]:
    env = service_env(database_url, wechat, WENMING_REDIS_URL=redis_url, WENMING_LIMIT_SIGNIN="1000/minute")
    assert (await run_cli("migrate", env=env))[0] == 0
    async with ServiceProcess(env) as one, ServiceProcess(env) as two:
        https = free_port()
        text = localize_nginx_conf(
            NGINX_CONF.read_text(),
            tmp_path,
            http_port=free_port(),
            https_port=https,
            # Both instances take traffic (the shipped config keeps the second as a backup).
            backends={
                "127.0.0.1:8000 max_fails=3 fail_timeout=10s": f"127.0.0.1:{one.port}",
                "127.0.0.1:8001 backup": f"127.0.0.1:{two.port}",
            },
        )
        conf = tmp_path / "nginx.conf"
        conf.write_text(text)
        cafile = write_self_signed_cert(tmp_path / "tls")
        proc = await asyncio.create_subprocess_exec(
            nginx_binary(), "-e", str(tmp_path / "err.log"), "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;",
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            for _ in range(150):
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", https)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            context = ssl.create_default_context(cafile=str(cafile))
            yield one, two, Site(f"https://127.0.0.1:{https}", context)
        finally:
            proc.terminate()
            await proc.wait()


async def test_sign_in_on_one_call_the_other_and_quota_and_rankings_hold(two_behind_nginx, wechat) -> None:
    one, two, site = two_behind_nginx
    connector = aiohttp.TCPConnector(ssl=site.ssl)
    async with (
        aiohttp.ClientSession() as s1,
        aiohttp.ClientSession() as s2,
        aiohttp.ClientSession(connector=connector) as s3,
    ):
        first = Api(SimpleNamespace(base_url=one.base_url), wechat, s1)
        second = Api(SimpleNamespace(base_url=two.base_url), wechat, s2)
        front = Api(SimpleNamespace(base_url=site.base_url), wechat, s3)

        # Signed in on one process, known to the other.
        token, me = await first.login("o-scale-1")
        assert (await second.call("GET", "/api/v1/me", token=token)).body["id"] == me["id"]

        county = await create_org("县", "county", None)
        staff, staff_user = await first.login("o-scale-staff")
        await User.filter(id=int(staff_user["id"])).update(role="staff", org_id=county.id)
        task = await published_task(first, staff, county.id, quota=5, points=10)

        # Enrollments through nginx, spread over both processes: the quota holds.
        tokens = [(await front.login(f"o-scale-many-{i}"))[0] for i in range(20)]
        replies = await asyncio.gather(*(front.call("POST", f"{TASKS}/{task['id']}/enroll", token=t) for t in tokens))
        assert sorted(r.status for r in replies).count(201) == 5
        assert await Enrollment.filter(task_id=int(task["id"]), status="enrolled").count() == 5

        # An approval on one process shows in the ranking read on the other.
        volunteer = next(t for t, r in zip(tokens, replies, strict=True) if r.status == 201)
        sid = await hand_in_via(first, volunteer, task)
        assert (await first.call("POST", review_path(sid), token=staff, json={"decision": "approve"})).status == 200
        board = await second.call("GET", "/api/v1/leaderboard", token=volunteer)
        assert board.body["me"] == {"rank": 1, "points": 10}
        assert (await front.call("GET", "/healthz")).status == 200


async def hand_in_via(api, token: str, task: dict) -> str:
    """Like tests.handlers.test_review.hand_in, for someone already enrolled."""
    from tests.images import encode, scene

    upload = await api.upload(token, encode(scene((320, 240)), "JPEG"))
    body = {"media_ids": [upload.body["id"]], "text": "现场照片"}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    return reply.body["id"]
