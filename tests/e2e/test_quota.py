"""The quota holds when enrollments race through two separate service processes."""

import asyncio

from models.campaigns import Enrollment, Task
from models.orgs import create_org
from tests.e2e.processes import staff_of, two_processes
from tests.factories import TASKS, published_task


async def test_two_processes_never_exceed_the_quota(api, database_url, wechat, redis_url):
    async with two_processes(database_url, wechat, redis_url) as (first, second):
        county = await create_org("县", "county", None)
        staff_token = await staff_of(first, county.id, "o-quota-staff")
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
