"""Twenty approvals of one submission racing through two service processes award once."""

import asyncio
from types import SimpleNamespace

import aiohttp

from models.ledger import LedgerEntry
from models.orgs import create_org
from models.users import User
from tests.conftest import Api
from tests.factories import TASKS, published_task
from tests.images import encode, scene
from tests.support import ServiceProcess, run_cli, service_env


async def test_twenty_racing_approvals_on_two_processes_award_once(api, database_url, wechat, redis_url):
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
        reviewers = []
        for i in range(2):
            token, staff = await first.login(f"o-race-staff-{i}")
            await User.filter(id=int(staff["id"])).update(role="staff", org_id=county.id)
            reviewers.append(token)
        task = await published_task(first, reviewers[0], county.id, points=8, service_hours="1.5")
        volunteer, person = await first.login("o-race-volunteer")
        assert (await first.call("POST", f"{TASKS}/{task['id']}/enroll", token=volunteer)).status == 201
        photo = await first.upload(volunteer, encode(scene((320, 240)), "JPEG"))
        body = {"media_ids": [photo.body["id"]], "text": "现场照片"}
        submission = await first.call("POST", f"{TASKS}/{task['id']}/submissions", token=volunteer, json=body)
        assert submission.status == 201, submission.body
        path = f"/api/v1/submissions/{submission.body['id']}/review"

        replies = await asyncio.gather(
            *(
                (first if i % 2 else second).call(
                    "POST", path, token=reviewers[i % 4 // 2], json={"decision": "approve"}
                )
                for i in range(20)
            )
        )
        board = await second.call("GET", "/api/v1/leaderboard", token=volunteer)

    outcomes = sorted((r.status, r.error_code) for r in replies)
    assert outcomes == [(200, None)] + [(409, "already_reviewed")] * 19
    assert await LedgerEntry.filter(submission_id=int(submission.body["id"])).count() == 1
    user = await User.get(id=int(person["id"]))
    assert (user.points, float(user.service_hours)) == (8, 1.5)
    assert board.body["me"] == {"rank": 1, "points": 8}
