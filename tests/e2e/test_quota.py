"""The quota holds when enrollments race through two separate service processes."""

import asyncio
from types import SimpleNamespace

import aiohttp

from models.campaigns import Enrollment, Task
from models.orgs import create_org
from models.users import User
from tests.conftest import Api
from tests.factories import TASKS, published_task
from tests.support import ServiceProcess, run_cli, service_env


async def test_two_processes_never_exceed_the_quota(api, database_url, wechat, redis_url):
    env = service_env(database_url, wechat, WENMING_REDIS_URL=redis_url, WENMING_LIMIT_SIGNIN="1000/minute")
    assert (await run_cli("migrate", env=env))[0] == 0
    async with (
        ServiceProcess(env) as one,
        ServiceProcess(env) as two,
        aiohttp.ClientSession() as s1,
        aiohttp.ClientSession() as s2,
    ):
        first = Api(SimpleNamespace(base_url=one.base_url), wechat, s1)
        second = Api(SimpleNamespace(base_url=two.base_url), wechat, s2)
        county = await create_org("县", "county", None)
        staff_token, staff = await first.login("o-quota-staff")
        await User.filter(id=int(staff["id"])).update(role="staff", org_id=county.id)
        task = await published_task(first, staff_token, county.id, quota=10)
        tokens = [(await first.login(f"o-quota-{i}"))[0] for i in range(50)]

        replies = await asyncio.gather(
            *(
                (first if i % 2 else second).call("POST", f"{TASKS}/{task['id']}/enroll", token=token)
                for i, token in enumerate(tokens)
            )
        )

    outcomes = [(r.status, r.error_code) for r in replies]
    assert outcomes.count((201, None)) == 10
    assert outcomes.count((409, "task_full")) == 40
    assert await Enrollment.filter(task_id=int(task["id"]), status="enrolled").count() == 10
    assert (await Task.get(id=int(task["id"]))).enrolled_count == 10
