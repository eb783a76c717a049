"""The in-process caches across hosts: a write through one `wenming serve` is in the very next read of the other.

Two service processes on one database and one Redis. Every read below goes to the process that
did NOT take the write, right after the write's answer and with no waiting, after that process
has cached what the write changes (``server.web.caches``): the feed page, the caller's
enrollments, the leaderboard and the caller's token.
"""

from __future__ import annotations

import pytest

from models.orgs import create_org
from models.users import User
from tests.e2e.processes import staff_of, two_processes
from tests.factories import TASKS, hand_in, make_campaign, make_task
from tests.handlers.test_review import review_path

BOARD = "/api/v1/leaderboard?limit=10"


async def _feed(api, token: str) -> dict[str, dict]:
    reply = await api.call("GET", f"{TASKS}?limit=20", token=token)
    assert reply.status == 200, reply.body
    return {item["id"]: item for item in reply.body["items"]}


async def _feed_twice(api, token: str) -> dict[str, dict]:
    """The feed, read twice: the second answer comes from the cache the first one filled."""
    first = await _feed(api, token)
    assert await _feed(api, token) == first
    return first


async def test_a_write_on_one_host_is_in_the_next_read_on_the_other(api, database_url, wechat, redis_url):
    async with two_processes(database_url, wechat, redis_url) as (a, b):
        county = await create_org("县", "county", None)
        staff = await staff_of(a, county.id, "o-coherent-staff")
        admin = await staff_of(a, county.id, "o-coherent-admin")
        await User.filter(openid="o-coherent-admin").update(role="admin")  # before any request of theirs
        volunteer, me = await a.login("o-coherent-volunteer")
        await User.filter(id=int(me["id"])).update(org_id=county.id)
        campaign = await make_campaign(a, staff, county.id)

        # A task published on A: B's cached (empty) feed page gives way.
        assert await _feed_twice(b, volunteer) == {}
        task = await make_task(a, staff, campaign["id"], title="清朗网络进乡村")
        seen = await _feed_twice(b, volunteer)
        assert seen[task["id"]]["title"] == "清朗网络进乡村"
        assert seen[task["id"]]["my_enrollment"] is None

        # Edited on A.
        reply = await a.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"title": "清朗网络进万家"})
        assert reply.status == 200, reply.body
        seen = await _feed_twice(b, volunteer)
        assert seen[task["id"]]["title"] == "清朗网络进万家"

        # An enrollment on A: B's cached enrollments of the volunteer and the task's count.
        submission = await hand_in(a, volunteer, task)
        seen = await _feed_twice(b, volunteer)
        assert seen[task["id"]]["my_enrollment"]["status"] == "submitted"
        assert seen[task["id"]]["enrolled_count"] == 1

        # An approval on A moves B's cached board and the volunteer's rank.
        before = await b.call("GET", BOARD, token=volunteer)
        assert before.status == 200 and before.body["me"] is None, before.body
        assert (await b.call("GET", BOARD, token=volunteer)).body == before.body
        reply = await a.call("POST", review_path(submission), token=staff, json={"decision": "approve"})
        assert reply.status == 200, reply.body
        after = await b.call("GET", BOARD, token=volunteer)
        assert after.body["me"] == {"rank": 1, "points": task["points"]}, after.body
        assert [item["is_me"] for item in after.body["items"]] == [True]

        # Cancelled on A.
        assert (await a.call("POST", f"{TASKS}/{task['id']}/cancel", token=staff)).status == 200
        seen = await _feed_twice(b, volunteer)
        assert seen[task["id"]]["status"] == "cancelled"

        # Demoted on A: B's cached token of the staff member loses the staff routes at once.
        assert (await b.call("GET", f"{TASKS}/{task['id']}/enrollments", token=staff)).status == 200
        staff_id = (await b.call("GET", "/api/v1/me", token=staff)).body["id"]
        reply = await a.call("PATCH", f"/api/v1/users/{staff_id}", token=admin, json={"role": "volunteer"})
        assert reply.status == 200, reply.body
        denied = await b.call("GET", f"{TASKS}/{task['id']}/enrollments", token=staff)
        assert denied.status == 403, denied.body

        # Erased on A (the person's own request): B's cached token is refused at once.
        assert (await b.call("GET", "/api/v1/me", token=volunteer)).status == 200
        assert (await a.call("DELETE", "/api/v1/me", token=volunteer)).status in (200, 204)
        gone = await b.call("GET", "/api/v1/me", token=volunteer)
        assert gone.status == 401, gone.body


@pytest.mark.parametrize("rounds", [20])
async def test_every_one_of_many_quick_edits_is_seen_at_once(api, database_url, wechat, redis_url, rounds):
    """No lucky timing: edit on A and read on B, back to back, many times."""
    async with two_processes(database_url, wechat, redis_url) as (a, b):
        county = await create_org("县", "county", None)
        staff = await staff_of(a, county.id, "o-quick-staff")
        volunteer, _ = await a.login("o-quick-volunteer")
        campaign = await make_campaign(a, staff, county.id)
        task = await make_task(a, staff, campaign["id"])
        for n in range(rounds):
            await _feed(b, volunteer)
            title = f"第{n}次修改"
            reply = await a.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json={"title": title})
            assert reply.status == 200, reply.body
            assert (await _feed(b, volunteer))[task["id"]]["title"] == title, n
