"""Every list route makes a fixed number of SQL statements, whatever the page size.

One world is seeded through the API; each route is read with a page of one and a
page of many, and both must cost the same statements. A list route of the spec
that is missing from the table fails the last test, so a new list cannot skip this.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.orgs import create_org
from tests.factories import SPOT, TASKS, iso, make_campaign, make_task
from tests.images import encode, scene
from tests.questions import QUESTIONS, single
from tests.support import counting_queries

PEOPLE = 6
NOTICE = {"title": "周六集合", "content": "请于周六上午九点到文化广场集合。"}

# path (with {task} for the seeded task's id) → who reads it
LIST_ROUTES = {
    "/api/v1/tasks": "volunteer",
    "/api/v1/tasks?mine=1": "volunteer",
    "/api/v1/tasks?near=30.0,120.0": "volunteer",
    "/api/v1/campaigns": "staff",
    "/api/v1/tasks/{task}/enrollments": "staff",
    "/api/v1/users": "staff",
    "/api/v1/submissions": "staff",
    "/api/v1/submissions?mine=1": "volunteer",
    "/api/v1/review/queue": "staff",
    "/api/v1/me/points": "volunteer",
    "/api/v1/audit": "admin",
    "/api/v1/org-requests": "staff",
    "/api/v1/leaderboard": "volunteer",
    "/api/v1/questions": "staff",
    "/api/v1/questions?tag=宪法": "staff",
    "/api/v1/accounts": "staff",
    "/api/v1/messages": "admin",
    "/api/v1/messages?mine=1": "volunteer",
    "/api/v1/public/messages": "volunteer",
    "/api/v1/notices": "volunteer",
    "/api/v1/notices?sent=1": "staff",
    "/api/v1/hour-requests?mine=1": "volunteer",
    "/api/v1/hour-requests": "staff",
}


@pytest.fixture
async def world(api, tree):
    """Six volunteers; the first hands in evidence to six tasks and is approved in each, the others
    to the first task (half of them approved); each asks to move org and binds a platform account:
    every list has more than one row."""
    staff, _ = await api.person("staff", tree.east.id)
    admin, _ = await api.person("admin")
    people = [(await api.person("volunteer", tree.east_village.id))[0] for _ in range(PEOPLE)]
    for extra in range(PEOPLE):
        await make_campaign(api, staff, tree.east.id, publish=extra % 2 == 0, title=f"活动{extra}")
    campaign = await make_campaign(api, staff, tree.east.id)
    tasks = [await make_task(api, staff, campaign["id"], location=SPOT, title=f"任务{i}") for i in range(PEOPLE)]

    async def hand_in(token: str, task: dict, seed: int) -> str:
        assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
        upload = await api.upload(token, encode(scene((64, 48), seed=seed), "JPEG"))
        assert upload.status == 201, upload.body
        body = {"media_ids": [upload.body["id"]], "text": "走访"}
        reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
        assert reply.status == 201, reply.body
        return reply.body["id"]

    approve = []
    for i, task in enumerate(tasks):
        approve.append(await hand_in(people[0], task, seed=i))
    for n, token in enumerate(people[1:], 1):
        sid = await hand_in(token, tasks[0], seed=100 + n)
        if n % 2:
            approve.append(sid)
    for sid in approve:
        reply = await api.call("POST", f"/api/v1/submissions/{sid}/review", token=staff, json={"decision": "approve"})
        assert reply.status == 200, reply.body
    for token in people:  # each asks to move up to the township: requests for the staff to decide
        reply = await api.call("PATCH", "/api/v1/me", token=token, json={"org_id": str(tree.east.id)})
        assert reply.status == 200, reply.body
    for n in range(PEOPLE):
        question = single(f"宪法第{n}题", tags=["宪法"])
        assert (await api.call("POST", QUESTIONS, token=staff, json=question)).status == 201
    for n, token in enumerate(people):  # each binds a platform account for the staff to verify
        body = {"platform": "douyin", "handle": f"east_{n}"}
        assert (await api.call("POST", "/api/v1/me/accounts", token=token, json=body)).status == 201
    for n in range(3):  # the first writes messages the admin handles; two get published replies
        body = {"category": "suggest", "title": f"建议{n}", "content": "多办活动", "public_ok": True}
        message = await api.call("POST", "/api/v1/messages", token=people[0], json=body)
        assert message.status == 201, message.body
        moves = [("accept", {}), ("assign", {"org_id": str(tree.east.id), "kind": "jiaoban"})]
        moves += [("draft-reply", {"content": "已采纳"}), ("approve-reply", {})] if n else []
        for action, move in moves:
            reply = await api.call("POST", f"/api/v1/messages/{message.body['id']}/{action}", token=admin, json=move)
            assert reply.status == 200, reply.body
    await api.settle()
    for n, task in enumerate(tasks):  # the first asks make-up hours of every task (补录), with a photo each
        upload = await api.upload(people[0], encode(scene((64, 48), seed=300 + n), "JPEG"))
        claim = {
            "task_id": task["id"],
            "started_at": iso(-timedelta(minutes=50)),
            "ended_at": iso(-timedelta(minutes=5)),
        }
        made = await api.call(
            "POST", "/api/v1/hour-requests", token=people[0], json=claim | {"media_ids": [upload.body["id"]]}
        )
        assert made.status == 201, made.body
    for n in range(PEOPLE):  # notices to the east, the first half read
        notice = await api.call(
            "POST", "/api/v1/notices", token=staff, json=NOTICE | {"title": f"通知{n}", "org_id": str(tree.east.id)}
        )
        assert notice.status == 201, notice.body
        if n % 2 == 0:
            read = await api.call("POST", f"/api/v1/notices/{notice.body['id']}/read", token=people[0])
            assert read.status == 204
    await api.settle()  # the subscribe messages are sent: their statements are not the lists'
    return {"volunteer": people[0], "staff": staff, "admin": admin, "task": tasks[0]["id"]}


async def _read(api, path: str, token: str, limit: int) -> tuple[int, int]:
    """(rows answered, statements run) for one page of ``limit``, with every in-process cache cold."""
    joiner = "&" if "?" in path else "?"
    api.service.services.caches.clear()
    with counting_queries() as log:
        reply = await api.call("GET", f"{path}{joiner}limit={limit}", token=token)
    assert reply.status == 200, reply.body
    return len(reply.body["items"]), len(log.statements)


@pytest.mark.parametrize("route", sorted(LIST_ROUTES))
async def test_a_list_costs_the_same_statements_for_one_row_or_many(api, world, route):
    path = route.format(task=world["task"])
    token = world[LIST_ROUTES[route]]

    one_row, small = await _read(api, path, token, 1)
    many_rows, large = await _read(api, path, token, 50)

    assert one_row == 1
    assert many_rows > 1, "the seeded world must give this list more than one row"
    assert small > 0
    assert large == small
    if route in ("/api/v1/tasks", "/api/v1/tasks?mine=1", "/api/v1/tasks?near=30.0,120.0"):
        assert small <= 3, "the feed: the token, the page, the caller's enrollments"


@pytest.mark.parametrize("path", ["/api/v1/orgs", "/api/v1/leaderboard/orgs?parent_id={west}"])
async def test_a_whole_org_list_costs_the_same_statements_however_large(api, tree, path):
    token, _ = await api.person("volunteer", tree.east.id)
    path = path.format(west=tree.west.id)
    with counting_queries() as before:
        first = await api.call("GET", path, token=token)
    for n in range(10):
        await create_org(f"新村{n}", "village", tree.west.id)
    with counting_queries() as after:
        reply = await api.call("GET", path, token=token)

    assert first.status == reply.status == 200
    assert len(after.statements) == len(before.statements) > 0


async def test_every_list_route_of_the_spec_is_counted(api):
    spec = (await api.call("GET", "/docs/openapi.json")).body
    lists = set()
    for path, operations in spec["paths"].items():
        ok = operations.get("get", {}).get("responses", {}).get("200", {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        if "next_cursor" in schema.get("properties", {}):
            lists.add(path)
    counted = {route.split("?")[0].replace("{task}", "{task_id}") for route in LIST_ROUTES} | {"/api/v1/orgs"}

    assert lists, "the spec lists no paginated route: the check below would pass vacuously"
    assert lists <= counted, f"list routes without a query-count test: {sorted(lists - counted)}"
