"""A staff edit racing enrollments through two service processes loses none of them.

A PATCH used to write back every column of the row it had read, so an enrollment
that committed in between was undone in ``enrolled_count`` (seen: 1 → 0).
"""

import asyncio

from models.campaigns import Enrollment, Task
from models.orgs import create_org
from tests.e2e.processes import staff_of, two_processes
from tests.factories import TASKS, published_task

PEOPLE = 50


async def test_title_edits_racing_enrollments_keep_enrolled_count(api, database_url, wechat, redis_url):
    async with two_processes(database_url, wechat, redis_url) as (first, second):
        county = await create_org("县", "county", None)
        staff_token = await staff_of(first, county.id, "o-edit-race-staff")
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
