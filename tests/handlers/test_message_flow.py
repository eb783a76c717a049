"""Netizen messages over HTTP: the whole walk, routing across orgs and counties, two staff at once,
supervision (job, command, by hand) with its notices, and the per-org report."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from models.calendar import END_OF_DAY
from models.calendar_data import seed_calendar
from models.messages import Message
from models.notifications import Notification
from models.orgs import create_org
from models.users import User
from server.kernel.clock import LOCAL_TZ
from server.runtime.jobs import TryAgain, supervise_messages
from tests.conftest import TEMPLATES
from tests.factories import CONTRACT_MOVES
from tests.support import counting_queries, run_cli, service_env

API = "/api/v1"
REPLY_TEMPLATE = TEMPLATES["message_reply"]
TASK_TEMPLATE = TEMPLATES["message_task"]


class People:
    def __init__(self, api, tree) -> None:
        self.api, self.tree = api, tree
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    async def add(self, name: str, role: str, org_id: int | None) -> None:
        self.tokens[name], self.ids[name] = await self.api.person(role, org_id)

    async def openid(self, name: str) -> str:
        return (await User.get(id=self.ids[name])).openid

    async def act(self, who: str, message_id: str, action: str, body: dict | None = None):
        return await self.api.call(
            "POST", f"{API}/messages/{message_id}/{action}", token=self.tokens[who], json=body or {}
        )

    async def ok(self, who: str, message_id: str, action: str, body: dict | None = None) -> dict:
        reply = await self.act(who, message_id, action, body)
        assert reply.status == 200, (action, reply.body)
        return reply.body

    async def write(self, category: str = "consult", who: str = "writer") -> dict:
        body = {"category": category, "title": "路灯坏了", "content": "东村口的路灯坏了一个月", "public_ok": True}
        reply = await self.api.call("POST", f"{API}/messages", token=self.tokens[who], json=body)
        assert reply.status == 201, reply.body
        return reply.body

    async def read(self, who: str, message_id: str):
        return await self.api.call("GET", f"{API}/messages/{message_id}", token=self.tokens[who])

    async def assigned(self, org_id: int, kind: str = "jiaoban") -> dict:
        message = await self.write()
        await self.ok("county", message["id"], "accept")
        return await self.ok("county", message["id"], "assign", {"org_id": str(org_id), "kind": kind})


@pytest.fixture
async def people(api, tree) -> People:
    crowd = People(api, tree)
    for name, role, org in (
        ("county", "staff", tree.county),
        ("county2", "staff", tree.county),
        ("east", "staff", tree.east),
        ("west", "staff", tree.west),
        ("writer", "volunteer", tree.east_village),
    ):
        await crowd.add(name, role, org.id)
    return crowd


def sent(wechat, template: str) -> list[dict]:
    return [m for m in wechat.sent_messages if m["template_id"] == template]


# -- the walk ------------------------------------------------------------------------------------


async def test_a_message_from_writing_to_closing(api, wechat, people, tree):
    message = await people.write()
    assert re.fullmatch(r"QD\d{8}-\d{4}", message["number"]) and message["status"] == "submitted"
    mid = message["id"]

    assert (await people.ok("county", mid, "accept"))["status"] == "accepted"
    assigned = await people.ok("county", mid, "assign", {"org_id": str(tree.east.id), "kind": "jiaoban"})
    assert (assigned["status"], assigned["org"]["id"]) == ("assigned", str(tree.east.id))
    first_due = datetime.fromisoformat(assigned["due_at"])

    asked = await people.ok("east", mid, "extend", {"days": 3, "reason": "需现场核实"})
    assert asked["extension_asked"] == 3 and datetime.fromisoformat(asked["due_at"]) == first_due
    extended = await people.ok("county", mid, "approve-extension")
    assert datetime.fromisoformat(extended["due_at"]) > first_due and extended["extension_days"] == 3

    returned = await people.ok("east", mid, "return", {"reason": "路灯归西镇管理"})
    assert (returned["status"], returned["org"]["id"]) == ("returned", str(tree.county.id))
    onward = await people.ok("county", mid, "assign", {"org_id": str(tree.west.id), "kind": "zhuanban"})
    assert (onward["status"], onward["org"]["id"]) == ("assigned", str(tree.west.id))

    drafted = await people.ok("west", mid, "draft-reply", {"content": "已安排维修"})
    assert drafted["status"] == "replying" and drafted["draft"] == "已安排维修"
    await api.settle()
    wechat.sent_messages.clear()
    replied = await people.ok("county", mid, "approve-reply")
    assert replied["status"] == "replied" and replied["reply"]["content"] == "已安排维修"
    await api.settle()
    (told,) = sent(wechat, REPLY_TEMPLATE)
    assert told["touser"] == await people.openid("writer")
    assert told["page"] == f"pages/message/detail?id={mid}"

    reopened = await people.ok("writer", mid, "rate", {"rating": "unsatisfied", "comment": "灯还是不亮"})
    assert (reopened["status"], reopened["org"]["id"], reopened["reply"]) == ("assigned", str(tree.west.id), None)
    assert reopened["due_at"] is not None
    await people.ok("west", mid, "draft-reply", {"content": "已更换灯泡"})
    await people.ok("county", mid, "approve-reply")
    closed = await people.ok("writer", mid, "rate", {"rating": "satisfied"})
    assert (closed["status"], closed["rating"]) == ("closed", "satisfied")

    staff_view = (await people.read("county", mid)).body
    assert [e["action"] for e in staff_view["events"]] == [
        "submit",
        "accept",
        "assign",
        "extend",
        "approve-extension",
        "return",
        "assign",
        "draft-reply",
        "approve-reply",
        "reopen",
        "draft-reply",
        "approve-reply",
        "rate",
    ]
    writer_view = (await people.read("writer", mid)).body
    assert [e["action"] for e in writer_view["events"]] == [
        "submit",
        "accept",
        "assign",
        "assign",
        "approve-reply",
        "reopen",
        "approve-reply",
        "rate",
    ]
    assert writer_view.get("writer") is None  # the writer's own view carries no staff extras


async def test_a_move_the_status_does_not_allow_is_409_and_a_second_extension_over_the_cap_400(people, tree):
    message = await people.assigned(tree.east.id)
    reply = await people.act("writer", message["id"], "rate", {"rating": "satisfied"})
    assert (reply.status, reply.error_code) == (409, "bad_transition")
    reply = await people.act("county", message["id"], "accept")
    assert (reply.status, reply.error_code) == (409, "bad_transition")
    await people.ok("east", message["id"], "extend", {"days": 15, "reason": "需协调多个部门"})
    await people.ok("county", message["id"], "approve-extension")
    reply = await people.act("east", message["id"], "extend", {"days": 1, "reason": "再延一天"})
    assert reply.status == 400 and "days" in reply.body["error"]["details"]["fields"]
    reply = await people.act("east", message["id"], "extend", {"days": 16, "reason": "太多"})
    assert reply.status == 400 and "days" in json.dumps(reply.body["error"]["details"])


async def test_rating_a_reply_older_than_15_days_is_409(people, tree):
    message = await people.assigned(tree.east.id)
    await people.ok("east", message["id"], "draft-reply", {"content": "已安排维修"})
    await people.ok("county", message["id"], "approve-reply")
    old = datetime.now(LOCAL_TZ) - timedelta(days=16)
    await Message.filter(id=int(message["id"])).update(replied_at=old)
    reply = await people.act("writer", message["id"], "rate", {"rating": "satisfied"})
    assert (reply.status, reply.error_code) == (409, "bad_transition")


# Who may take each action, and with what (so that a refusal is the state machine's, not a 403).
ACTIONS = {
    "accept": ("county", {}),
    "reject": ("county", {"reason": "不属于受理范围"}),
    "assign": ("county", {"kind": "jiaoban"}),  # org_id: west, filled in below
    "return": ("east", {"reason": "不属本镇职责"}),
    "extend": ("east", {"days": 3, "reason": "需现场核实"}),
    "approve-extension": ("county", {}),
    "draft-reply": ("east", {"content": "已安排维修"}),
    "approve-reply": ("county", {}),
    "supervise": ("admin", {"note": "请尽快办理"}),  # above the county itself only an admin is
    "rate": ("writer", {"rating": "satisfied"}),
}
PATHS = {  # status → the moves (who, action) that bring a new message there
    "submitted": [],
    "accepted": [("county", "accept")],
    "rejected": [("county", "reject")],
    "assigned": [("county", "accept"), ("county", "assign")],
    "returned": [("county", "accept"), ("county", "assign"), ("east", "return")],
    "replying": [("county", "accept"), ("county", "assign"), ("east", "draft-reply")],
    "replied": [("county", "accept"), ("county", "assign"), ("east", "draft-reply"), ("county", "approve-reply")],
}
PATHS["closed"] = [*PATHS["replied"], ("writer", "rate")]


@pytest.mark.parametrize("status", sorted(PATHS))
async def test_every_action_over_http_from_every_status(people, tree, status):
    await people.add("admin", "admin", None)
    bodies = {action: body for action, (_, body) in ACTIONS.items()}
    bodies["assign"] = {"kind": "jiaoban", "org_id": str(tree.west.id)}
    for action, (who, _) in ACTIONS.items():
        message = await people.write()
        for actor, step in PATHS[status]:
            body = {**bodies[step], "org_id": str(tree.east.id)} if step == "assign" else bodies[step]
            await people.ok(actor, message["id"], step, body)
        if action == "approve-extension" and status in ("assigned", "replying"):
            await people.ok("east", message["id"], "extend", bodies["extend"])
        if who == "east" and status in ("submitted", "accepted", "rejected", "returned"):
            who = "county"  # not (or no longer) the east's, which cannot even see it (404): the county tries
        reply = await people.act(who, message["id"], action, bodies[action])
        if (status, action) in CONTRACT_MOVES:
            assert reply.status == 200, (status, action, reply.body)
            assert reply.body["status"] == CONTRACT_MOVES[status, action]
        else:
            assert (reply.status, reply.error_code) == (409, "bad_transition"), (status, action, reply.body)
            assert (await people.read("county", message["id"])).body["status"] == status


async def test_staff_open_by_id_exactly_what_they_list(api, people, tree):
    """One rule for reading and listing: the holder's org and those above it, and the assigning org."""
    await people.add("village", "staff", tree.east_village.id)
    fresh = await people.write()
    at_east = await people.assigned(tree.east.id)
    at_village = await people.assigned(tree.east_village.id)
    returned = await people.assigned(tree.east.id)
    await people.ok("east", returned["id"], "return", {"reason": "不属本镇职责"})
    handed_down = await people.assigned(tree.east.id)
    await people.ok("east", handed_down["id"], "assign", {"kind": "jiaoban", "org_id": str(tree.east_village.id)})
    every = {m["id"] for m in (fresh, at_east, at_village, returned, handed_down)}
    expected = {
        "county": every,
        "east": {at_east["id"], at_village["id"], handed_down["id"]},
        "village": {at_village["id"], handed_down["id"]},
        "west": set(),
    }
    for who, ids in expected.items():
        listed = await api.call("GET", f"{API}/messages?limit=50", token=people.tokens[who])
        assert listed.status == 200
        assert {m["id"] for m in listed.body["items"]} == ids, who
        opened = {mid for mid in every if (await people.read(who, mid)).status == 200}
        assert opened == ids, who


# -- routing -------------------------------------------------------------------------------------


@pytest.fixture
async def other_county(api):
    county = await create_org("邻县", "county", None)
    township = await create_org("邻镇", "township", county.id)
    return county, township


async def test_jiaoban_stays_in_the_callers_subtree(people, tree, other_county):
    _, their_township = other_county
    message = await people.write()
    await people.ok("county", message["id"], "accept")
    reply = await people.act("county", message["id"], "assign", {"org_id": str(their_township.id), "kind": "jiaoban"})
    assert reply.status == 400 and "org_id" in reply.body["error"]["details"]["fields"]
    await people.ok("county", message["id"], "assign", {"org_id": str(tree.east.id), "kind": "jiaoban"})
    # The holder hands on inside its own subtree, not sideways to another township.
    reply = await people.act("east", message["id"], "assign", {"org_id": str(tree.west.id), "kind": "jiaoban"})
    assert reply.status == 400 and "org_id" in reply.body["error"]["details"]["fields"]
    handed = await people.ok("east", message["id"], "assign", {"org_id": str(tree.east_village.id), "kind": "jiaoban"})
    assert handed["org"]["id"] == str(tree.east_village.id)
    # Still visible above the holder: the township and the county.
    assert (await people.read("east", message["id"])).status == 200
    assert (await people.read("county", message["id"])).status == 200
    assert (await people.read("west", message["id"])).status == 404


async def test_zhuanban_reaches_another_county_only_at_its_top(api, people, tree, other_county):
    their_county, their_township = other_county
    await people.add("neighbour", "staff", their_county.id)
    message = await people.write()
    await people.ok("county", message["id"], "accept")
    body = {"org_id": str(their_township.id), "kind": "zhuanban"}
    reply = await people.act("county", message["id"], "assign", body)
    assert reply.status == 400 and "org_id" in reply.body["error"]["details"]["fields"]
    assert (await people.read("neighbour", message["id"])).status == 404
    moved = await people.ok("county", message["id"], "assign", {"org_id": str(their_county.id), "kind": "zhuanban"})
    assert moved["org"]["id"] == str(their_county.id)
    seen = await people.read("neighbour", message["id"])
    assert seen.status == 200 and seen.body["writer"] is not None
    assert (await people.read("county", message["id"])).status == 200  # the assigner keeps sight of it
    # The other county routes it on inside its own tree.
    onward = await people.ok(
        "neighbour", message["id"], "assign", {"org_id": str(their_township.id), "kind": "jiaoban"}
    )
    assert onward["org"]["id"] == str(their_township.id)


async def test_a_township_cannot_accept_a_message_of_the_county(people):
    message = await people.write()
    reply = await people.act("east", message["id"], "accept")
    assert reply.status == 404  # a fresh message is the county's: a township does not even see it
    assert (await people.read("county", message["id"])).body["status"] == "submitted"


# -- two staff at once ---------------------------------------------------------------------------


async def test_two_staff_approving_one_reply_at_once_one_wins(people, tree):
    message = await people.assigned(tree.east.id)
    await people.ok("east", message["id"], "draft-reply", {"content": "已安排维修"})
    replies = await asyncio.gather(
        people.act("county", message["id"], "approve-reply"), people.act("county2", message["id"], "approve-reply")
    )
    assert sorted(r.status for r in replies) == [200, 409]
    assert [r.error_code for r in replies if r.status == 409] == ["bad_transition"]
    events = (await people.read("county", message["id"])).body["events"]
    assert [e["action"] for e in events].count("approve-reply") == 1


async def test_two_staff_assigning_one_message_at_once_one_wins(people, tree):
    message = await people.write()
    await people.ok("county", message["id"], "accept")
    replies = await asyncio.gather(
        people.act("county", message["id"], "assign", {"org_id": str(tree.east.id), "kind": "jiaoban"}),
        people.act("county2", message["id"], "assign", {"org_id": str(tree.west.id), "kind": "jiaoban"}),
    )
    assert sorted(r.status for r in replies) == [200, 409]
    winner = next(r for r in replies if r.status == 200).body
    assert (await people.read("county", message["id"])).body["org"]["id"] == winner["org"]["id"]


# -- supervision -------------------------------------------------------------------------------


async def overdue(people: People, org_id: int, due_on: date) -> dict:
    message = await people.assigned(org_id)
    await Message.filter(id=int(message["id"])).update(due_at=datetime.combine(due_on, END_OF_DAY, LOCAL_TZ))
    return message


async def test_the_daily_job_raises_overdue_messages_and_tells_the_assignee(api, wechat, people, tree):
    await seed_calendar([2026])
    message = await overdue(people, tree.east.id, date(2026, 3, 2))
    await api.settle()
    wechat.sent_messages.clear()
    ctx = api.service.services.jobs.ctx
    assert await supervise_messages(ctx, "2026-03-03") == "1 message(s) raised"
    assert await supervise_messages(ctx, "2026-03-03") == "0 message(s) raised"  # once a day
    (told,) = sent(wechat, TASK_TEMPLATE)
    assert told["touser"] == await people.openid("east")
    rows = await Notification.filter(ref_id=int(message["id"]), event__startswith="message_task:auto")
    assert [(r.user_id, r.status) for r in rows] == [(people.ids["east"], "sent")]
    seen = (await people.read("county", message["id"])).body
    assert (seen["supervision"], seen["overdue"]) == (1, True)
    assert await supervise_messages(ctx, "2026-03-07") == "0 message(s) raised"  # a Saturday


async def test_a_busy_wechat_holds_back_one_notice_and_the_retry_sends_only_that_one(api, wechat, people, tree):
    await seed_calendar([2026])
    await overdue(people, tree.east.id, date(2026, 3, 2))
    await overdue(people, tree.west.id, date(2026, 3, 2))
    await api.settle()
    wechat.sent_messages.clear()
    wechat.fail_next("/cgi-bin/message/subscribe/send", 45009)  # rate-limited: the first send waits
    ctx = api.service.services.jobs.ctx
    with pytest.raises(TryAgain):
        await supervise_messages(ctx, "2026-03-03")
    assert [m["touser"] for m in sent(wechat, TASK_TEMPLATE)] == [await people.openid("west")]
    assert await supervise_messages(ctx, "2026-03-03") == "0 message(s) raised"  # the job's retry
    told = sorted(m["touser"] for m in sent(wechat, TASK_TEMPLATE))
    assert told == sorted([await people.openid("east"), await people.openid("west")])


async def test_the_command_supervises_as_of_a_day_and_says_how_many(api, wechat, database_url, people, tree):
    await seed_calendar([2026])
    message = await overdue(people, tree.east.id, date(2026, 3, 2))
    await overdue(people, tree.west.id, date(2026, 3, 3))
    await api.settle()
    wechat.sent_messages.clear()
    env = service_env(database_url, wechat, WENMING_SUBSCRIBE_TEMPLATES=json.dumps(TEMPLATES))
    status, out, err = await run_cli("messages", "supervise", "--as-of", "2026-03-03", env=env)
    assert status == 0, err
    assert out.strip() == "2026-03-03: raised 1 overdue message(s)"
    assert [m["touser"] for m in sent(wechat, TASK_TEMPLATE)] == [await people.openid("east")]
    status, out, _ = await run_cli("messages", "supervise", "--as-of", "2026-03-04", env=env)
    assert out.strip() == "2026-03-04: raised 2 overdue message(s)"
    status, out, _ = await run_cli("messages", "supervise", "--as-of", "2026-03-04", env=env)
    assert out.strip() == "2026-03-04: raised 0 overdue message(s)"
    assert (await Message.get(id=int(message["id"]))).supervision == 2
    status, out, _ = await run_cli("messages", "supervise", "--as-of", "2026-03-07", env=env)
    assert (
        out.strip()
        == "2026-03-07: raised 0 overdue message(s) (not a working day: nothing is raised on weekends and holidays)"
    )
    status, _, err = await run_cli("messages", "supervise", "--as-of", "03/04/2026", env=env)
    assert status == 2 and "YYYY-MM-DD" in err


async def test_staff_above_supervise_by_hand_and_the_assignee_is_told(api, wechat, people, tree):
    message = await people.assigned(tree.east.id)
    await api.settle()
    wechat.sent_messages.clear()
    reply = await people.act("east", message["id"], "supervise", {"note": "自己督办自己"})
    assert reply.status == 403
    raised = await people.ok("county", message["id"], "supervise", {"note": "请尽快办理"})
    assert raised["supervision"] == 1 and raised["events"][-1]["note"] == "请尽快办理"
    await api.settle()
    assert [m["touser"] for m in sent(wechat, TASK_TEMPLATE)] == [await people.openid("east")]
    for _ in range(2):
        await people.ok("county", message["id"], "supervise")
    reply = await people.act("county", message["id"], "supervise")
    assert (reply.status, reply.error_code) == (409, "bad_transition")


# -- the report ----------------------------------------------------------------------------------


async def closed_message(people: People, org_id: int, rating: str, *, late: bool = False) -> dict:
    message = await people.assigned(org_id)
    holder = "east" if org_id == people.tree.east.id else "west"
    await people.ok(holder, message["id"], "draft-reply", {"content": "已办理"})
    await people.ok("county", message["id"], "approve-reply")
    if late:
        row = await Message.get(id=int(message["id"]))
        await Message.filter(id=row.id).update(due_at=row.replied_at - timedelta(days=1))
    return await people.ok("writer", message["id"], "rate", {"rating": rating})


async def test_the_messages_report_has_one_row_per_child_org(api, people, tree):
    await closed_message(people, tree.east.id, "satisfied")
    late = await people.assigned(tree.east_village.id)  # counts for the township above the village
    await Message.filter(id=int(late["id"])).update(due_at=datetime.now(LOCAL_TZ) - timedelta(days=2))
    await people.ok("county", late["id"], "supervise")
    await closed_message(people, tree.west.id, "basically", late=True)
    rejected = await people.write()
    await people.ok("county", rejected["id"], "reject", {"reason": "重复留言"})
    waiting = await people.write()
    await people.ok("county", waiting["id"], "accept")

    today = datetime.now(LOCAL_TZ).date().isoformat()
    await api.settle()  # the notices of the moves above are sent, so only the report's statements count
    with counting_queries() as log:
        status, body = await download(api, people.tokens["county"], f"?from={today}&to={today}")
    assert status == 200
    rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True)]
    assert rows == [
        ["组织", "受理", "办结", "按期办结率", "满意率", "超期", "督办"],
        ["东镇", 2, 1, 100.0, 100.0, 1, 1],
        ["西镇", 1, 1, 0.0, 100.0, 1, 0],
        ["合计", 3, 2, 50.0, 100.0, 2, 1],
    ]
    few = log.selects

    for _ in range(3):  # unsatisfied the first time: reopened, so handled but not closed
        await closed_message(people, tree.west.id, "unsatisfied")
    await api.settle()
    with counting_queries() as log:
        status, body = await download(api, people.tokens["county"])
    assert status == 200 and log.selects == few
    rows = list(openpyxl.load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True))
    assert rows[2] == ("西镇", 4, 1, 0.0, 100.0, 1, 0)


async def download(api, token: str, query: str = "") -> tuple[int, bytes]:
    url = f"{api.service.base_url}{API}/reports/messages.xlsx{query}"
    async with api.session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        if resp.status == 200:
            assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
            assert "attachment" in resp.headers["Content-Disposition"]
        return resp.status, await resp.read()


async def test_the_messages_report_is_refused_outside_the_callers_subtree(api, people, tree):
    reply = await api.call("GET", f"{API}/reports/messages.xlsx?org_id={tree.county.id}", token=people.tokens["east"])
    assert reply.status == 403
    reply = await api.call("GET", f"{API}/reports/messages.xlsx", token=people.tokens["writer"])
    assert reply.status == 403
    reply = await api.call(
        "GET", f"{API}/reports/messages.xlsx?from=2026-05-02&to=2026-05-01", token=people.tokens["east"]
    )
    assert reply.status == 400


async def test_an_org_without_children_gives_the_header_alone(api, people, tree):
    await people.assigned(tree.east_village.id)
    status, body = await download(api, people.tokens["east"], f"?org_id={tree.east_village.id}")
    assert status == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True))
    assert rows == [("组织", "受理", "办结", "按期办结率", "满意率", "超期", "督办")]
