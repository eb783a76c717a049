"""Several worker processes share what must be shared (needs Redis)."""

import asyncio

import aiohttp

from server.wechat.client import PHONE_PATH, STABLE_TOKEN_PATH
from tests.support import ServiceProcess, run_cli, service_env


async def test_two_workers_share_one_access_token(database_url, wechat, redis, redis_url):
    env = service_env(database_url, wechat, WENMING_REDIS_URL=redis_url, WENMING_LIMIT_SIGNIN="1000/minute")
    assert (await run_cli("migrate", env=env))[0] == 0
    wechat.reset()
    async with ServiceProcess(env, workers=2) as svc, aiohttp.ClientSession() as session:

        async def sign_in_and_bind(i: int) -> tuple[int, int]:
            async with session.post(
                f"{svc.base_url}/api/v1/auth/wechat-login", json={"code": wechat.issue_code(f"o-w{i}")}
            ) as resp:
                token = (await resp.json())["token"]
            async with session.post(
                f"{svc.base_url}/api/v1/auth/phone",
                json={"code": wechat.issue_phone_code(f"1390000{i:04d}")},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                return resp.status, i

        # New connections each round so the kernel spreads them over both workers.
        results = await asyncio.gather(*(sign_in_and_bind(i) for i in range(40)))
    assert {status for status, _ in results} == {200}
    assert wechat.count(PHONE_PATH) == 40
    assert wechat.count(STABLE_TOKEN_PATH) == 1
    assert await redis.exists(f"wenming:wx:token:{wechat.appid}")


async def test_token_from_one_worker_works_on_every_worker(database_url, wechat, redis_url):
    env = service_env(database_url, wechat, WENMING_REDIS_URL=redis_url)
    assert (await run_cli("migrate", env=env))[0] == 0
    async with ServiceProcess(env, workers=2) as svc:
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{svc.base_url}/api/v1/auth/wechat-login", json={"code": wechat.issue_code()}
            ) as resp:
                token = (await resp.json())["token"]
        statuses = []
        for _ in range(20):
            # A fresh connection per call, so calls land on either worker.
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{svc.base_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}) as resp,
            ):
                statuses.append(resp.status)
        async with aiohttp.ClientSession() as session:
            await session.post(f"{svc.base_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
        after = []
        for _ in range(10):
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{svc.base_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}) as resp,
            ):
                after.append(resp.status)
    assert set(statuses) == {200}
    assert set(after) == {401}


async def test_readyz_is_503_when_redis_is_unreachable(tmp_path, wechat):
    env = service_env(f"sqlite://{tmp_path / 'r.sqlite3'}", wechat, WENMING_REDIS_URL="redis://127.0.0.1:1/0")
    assert (await run_cli("migrate", env=env))[0] == 0
    async with ServiceProcess(env) as svc, aiohttp.ClientSession() as session:
        async with session.get(f"{svc.base_url}/readyz") as resp:
            body = await resp.json()
            assert resp.status == 503
            assert body["error"]["code"] == "service_unavailable"
            assert "redis" in body["error"]["message"]
            assert resp.headers["Retry-After"]
