"""A staff edit racing enrollments through two service processes loses none of them.

A PATCH used to write back every column of the row it had read, so an enrollment
that committed in between was undone in ``enrolled_count`` (seen: 1 → 0).
"""

import asyncio
from types import SimpleNamespace

import aiohttp

from models.campaigns import Enrollment, Task
from models.orgs import create_org
from models.users import User
from tests.conftest import Api
from tests.factories import TASKS, published_task
from tests.support import ServiceProcess, run_cli, service_env

PEOPLE = 50


async def test_title_edits_racing_enrollments_keep_enrolled_count(api, database_url, wechat, redis_url):
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
        staff_token, staff = await first.login("o-edit-race-staff")
        await User.filter(id=int(staff["id"])).update(role="staff", org_id=county.id)
        task = await published_task(first, staff_token, county.id, quota=None)
        tokens = [(await first.login(f"o-edit-race-{i}"))[0] for i in range(PEOPLE)]
        path = f"{TASKS}/{task['id']}"

        calls = []
        for i, token in enumerate(tokens):
            # Each process serves both kinds, interleaved, so reads and writes overlap everywhere.
            calls.append((first if i % 2 else second).call("POST", f"{path}/enroll", token=token))
            calls.append(
                (second if i % 2 else first).call("PATCH", path, token=staff_token, json={"title": f"拍摄村貌 {i}"})
            )
        replies = await asyncio.gather(*calls)

    enrolls, patches = replies[0::2], replies[1::2]
    assert [r.status for r in enrolls] == [201] * PEOPLE, [r.body for r in enrolls if r.status != 201]
    assert [r.status for r in patches] == [200] * PEOPLE, [r.body for r in patches if r.status != 200]
    live = await Enrollment.filter(task_id=int(task["id"])).exclude(status="withdrawn").count()
    assert live == PEOPLE
    assert (await Task.get(id=int(task["id"]))).enrolled_count == live
