"""Two `wenming serve` processes on one database and one Redis, for the races that need two."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import aiohttp

from models.users import User
from server.wechat.fake import FakeWeChat
from tests.conftest import Api
from tests.support import ServiceProcess, run_cli, service_env


@asynccontextmanager
async def two_processes(database_url: str, wechat: FakeWeChat, redis_url: str) -> AsyncIterator[tuple[Api, Api]]:
    """Migrate the database, serve it from two processes sharing Redis; yields a client of each."""
    env = service_env(database_url, wechat, WENMING_REDIS_URL=redis_url, WENMING_LIMIT_SIGNIN="1000/minute")
    assert (await run_cli("migrate", env=env))[0] == 0
    async with (
        ServiceProcess(env) as one,
        ServiceProcess(env) as two,
        aiohttp.ClientSession() as s1,
        aiohttp.ClientSession() as s2,
    ):
        yield (
            Api(SimpleNamespace(base_url=one.base_url), wechat, s1),
            Api(SimpleNamespace(base_url=two.base_url), wechat, s2),
        )


async def staff_of(api: Api, org_id: int, openid: str) -> str:
    """Sign ``openid`` in and make them staff of ``org_id`` (as an operator would); returns their token."""
    token, user = await api.login(openid)
    await User.filter(id=int(user["id"])).update(role="staff", org_id=org_id)
    return token
