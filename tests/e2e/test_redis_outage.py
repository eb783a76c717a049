"""Redis stopped while serving: reads degrade, what needs Redis answers 503, and it all comes back."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from types import SimpleNamespace

import aiohttp
import pytest

from tests.conftest import PUSH_TOKEN, Api
from tests.support import ServiceProcess, free_port, run_cli, service_env


class RedisServer:
    """A redis-server of our own on a free port, so it can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server", path="/usr/local/bin:/usr/bin:/usr/sbin")
        if binary is None:
            pytest.fail("redis-server is needed for this test (it stops and restarts its own)")
        self.proc = await asyncio.create_subprocess_exec(
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def ready(api: Api) -> int:
    return (await api.call("GET", "/readyz")).status


async def test_service_degrades_without_redis_and_recovers(database_url, wechat, tmp_path) -> None:
    redis = RedisServer()
    await redis.start()
    env = service_env(
        f"sqlite://{tmp_path / 'outage.sqlite3'}",
        wechat,
        WENMING_REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        WENMING_WECHAT_PUSH_TOKEN=PUSH_TOKEN,
    )
    assert (await run_cli("migrate", env=env))[0] == 0
    try:
        async with ServiceProcess(env) as svc, aiohttp.ClientSession() as session:
            api = Api(SimpleNamespace(base_url=svc.base_url), wechat, session)
            token, _ = await api.login()
            assert await ready(api) == 200
            assert (await api.call("GET", "/api/v1/leaderboard", token=token)).status == 200

            await redis.stop()

            assert await ready(api) == 503
            again, _ = await api.login()  # sign-in limits counted in process
            assert (await api.call("GET", "/api/v1/me", token=again)).status == 200
            board = await api.call("GET", "/api/v1/leaderboard", token=token)  # read from SQL
            assert board.status == 200 and board.body["items"] == []
            wechat.configure_push(f"{svc.base_url}/api/v1/wechat/push", PUSH_TOKEN)
            status, body = await wechat.push_media_verdict("trace-x", "pass")
            assert status == 503 and "service_unavailable" in body  # replay protection needs Redis

            await redis.start()  # same port, empty

            for _ in range(50):
                if await ready(api) == 200:
                    break
                await asyncio.sleep(0.1)
            assert await ready(api) == 200
            assert await wechat.push_media_verdict("trace-y", "pass") == (200, "success")
            assert (await api.call("GET", "/api/v1/leaderboard", token=token)).status == 200
    finally:
        await redis.stop()
