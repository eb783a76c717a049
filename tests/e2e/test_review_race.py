"""Twenty approvals of one submission racing through two service processes award once."""

import asyncio

from models.ledger import LedgerEntry
from models.orgs import create_org
from models.users import User
from tests.e2e.processes import staff_of, two_processes
from tests.factories import TASKS, published_task
from tests.images import encode, scene


async def test_twenty_racing_approvals_on_two_processes_award_once(api, database_url, wechat, redis_url):
    async with two_processes(database_url, wechat, redis_url) as (first, second):
        county = await create_org("县", "county", None)
        reviewers = [await staff_of(first, county.id, f"o-race-staff-{i}") for i in range(2)]
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
