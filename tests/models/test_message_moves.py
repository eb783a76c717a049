"""Netizen messages as domain operations: every (status, action) pair, deadlines over the 2026
Spring Festival, the extension cap, the rating window, and the daily supervision."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.calendar import END_OF_DAY
from models.calendar_data import seed_calendar
from models.messages import (
    ACTIONS,
    MOVES,
    STATUSES,
    BadTransition,
    Draft,
    Message,
    MessageEvent,
    Move,
    deadline,
    get_message,
    move,
    supervise_overdue,
    write_message,
)
from models.users import User
from server.config import MESSAGE_DAYS
from server.kernel.clock import LOCAL_TZ
from server.kernel.errors import Forbidden, InvalidRequest
from tests.factories import CONTRACT_MOVES as EXPECTED
from tests.factories import Tree, org_tree


class World:
    """A county tree, its staff and a writer, and the way to move their messages."""

    def __init__(self, api, tree: Tree, people: dict[str, User]) -> None:
        self.api = api
        self.tree = tree
        self.people = people

    async def write(self, category: str = "consult") -> Message:
        draft = Draft(
            category=category, title="路灯坏了", content="东村口的路灯坏了一个月", public_ok=True, media_ids=[]
        )
        written = await write_message(self.people["writer"], draft, self.api.service.services.effects)
        return await get_message(written.id)

    async def do(self, message: Message, who: str, step: Move) -> Message:
        fresh = await get_message(message.id)
        return await move(
            fresh, self.people[who], step, self.api.service.services.effects, days_by_category=dict(MESSAGE_DAYS)
        )

    async def in_status(self, status: str) -> Message:
        """A fresh message brought to ``status`` by the moves of the contract."""
        message = await self.write()
        if status == "submitted":
            return message
        if status == "rejected":
            return await self.do(message, "county", Move("reject", reason="重复留言"))
        message = await self.do(message, "county", Move("accept"))
        if status == "accepted":
            return message
        message = await self.do(message, "county", Move("assign", org_id=self.tree.east.id, kind="jiaoban"))
        if status == "assigned":
            return message
        if status == "returned":
            return await self.do(message, "east", Move("return", reason="不属本镇职责"))
        message = await self.do(message, "east", Move("draft-reply", content="已安排维修"))
        if status == "replying":
            return message
        message = await self.do(message, "county", Move("approve-reply"))
        if status == "replied":
            return message
        assert status == "closed"
        return await self.do(message, "writer", Move("rate", rating="satisfied"))


@pytest.fixture
async def world(api) -> World:
    tree = await org_tree()
    people = {}
    for name, role, org in (
        ("county", "staff", tree.county),
        ("east", "staff", tree.east),
        ("west", "staff", tree.west),
        ("admin", "admin", None),
        ("writer", "volunteer", tree.east_village),
    ):
        _, uid = await api.person(role, org.id if org else None)
        people[name] = await User.get(id=uid).select_related("org")
    return World(api, tree, people)


# Who may take each action (so that a refusal is the state machine's, not a 403), and with what.
ACTORS = {
    "accept": "county",
    "reject": "county",
    "assign": "county",
    "return": "east",
    "extend": "east",
    "approve-extension": "county",
    "draft-reply": "east",
    "approve-reply": "county",
    "supervise": "admin",  # above the county itself (accepted, returned) only an admin is
    "rate": "writer",
}


def step_for(action: str, world: World) -> Move:
    return {
        "accept": Move("accept"),
        "reject": Move("reject", reason="不属于受理范围"),
        "assign": Move("assign", org_id=world.tree.west.id, kind="jiaoban", note="请西镇办理"),
        "return": Move("return", reason="不属本镇职责"),
        "extend": Move("extend", days=3, reason="需现场核实"),
        "approve-extension": Move("approve-extension"),
        "draft-reply": Move("draft-reply", content="已安排维修"),
        "approve-reply": Move("approve-reply"),
        "supervise": Move("supervise", note="请尽快办理"),
        "rate": Move("rate", rating="satisfied"),
    }[action]


def test_the_table_is_the_contract():
    table = {(s, a) for a, (sources, _) in MOVES.items() for s in sources}
    assert table == set(EXPECTED)


@pytest.mark.parametrize("status", STATUSES)
async def test_every_action_from_every_status(world, status):
    for action in ACTIONS:
        message = await world.in_status(status)
        assert message.status == status
        if action == "approve-extension" and status in MOVES["extend"][0]:
            message = await world.do(message, "east", Move("extend", days=3, reason="需现场核实"))
        events_before = await MessageEvent.filter(message_id=message.id).count()
        if (status, action) in EXPECTED:
            moved = await world.do(message, ACTORS[action], step_for(action, world))
            assert moved.status == EXPECTED[status, action], (status, action)
            assert moved.version == message.version + 1
            assert await MessageEvent.filter(message_id=message.id).count() == events_before + 1
        else:
            with pytest.raises(BadTransition):
                await world.do(message, ACTORS[action], step_for(action, world))
            unchanged = await Message.get(id=message.id)
            assert (unchanged.status, unchanged.version) == (status, message.version), (status, action)
            assert await MessageEvent.filter(message_id=message.id).count() == events_before


async def test_township_staff_cannot_accept_a_message_of_the_county(world):
    message = await world.write()
    with pytest.raises(Forbidden):
        await world.do(message, "east", Move("accept"))


async def test_the_holder_does_not_supervise_itself_but_the_assigner_does(world):
    message = await world.in_status("assigned")
    with pytest.raises(Forbidden):
        await world.do(message, "east", Move("supervise"))
    raised = await world.do(message, "county", Move("supervise", note="请尽快办理"))
    assert raised.supervision == 1


# -- deadlines ---------------------------------------------------------------------------------


def local(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("assigned_on", "days", "due_on"),
    [
        # Thu 02-12: Fri 13, make-up Sat 14, (holiday 15-23), Tue 24, Wed 25, Thu 26 …
        (date(2026, 2, 12), 5, date(2026, 2, 26)),
        (date(2026, 2, 12), 7, date(2026, 2, 28)),  # … Fri 27, make-up Sat 28
        (date(2026, 2, 13), 5, date(2026, 2, 27)),  # Sat 14, 24, 25, 26, 27
        (date(2026, 2, 13), 7, date(2026, 3, 2)),  # … 28 (make-up), then Sun 03-01 rests: Mon 03-02
    ],
)
async def test_deadlines_over_the_2026_spring_festival(api, assigned_on, days, due_on):
    await seed_calendar([2026])
    due = await deadline(local(assigned_on), days)
    assert due == datetime.combine(due_on, END_OF_DAY, LOCAL_TZ)


async def test_an_assignment_gets_the_category_deadline_from_the_day_after(world):
    message = await world.in_status("assigned")
    today = datetime.now(UTC)
    assert message.due_at == await deadline(today, MESSAGE_DAYS["consult"])
    complaint = await world.write("complain")
    complaint = await world.do(complaint, "county", Move("accept"))
    complaint = await world.do(complaint, "county", Move("assign", org_id=world.tree.east.id, kind="jiaoban"))
    assert complaint.due_at == await deadline(today, MESSAGE_DAYS["complain"])


async def test_an_approved_extension_moves_the_deadline_by_working_days(world):
    message = await world.in_status("assigned")
    old_due = message.due_at
    message = await world.do(message, "east", Move("extend", days=3, reason="需现场核实"))
    assert message.due_at == old_due and message.extension_asked == 3
    with pytest.raises(Forbidden):  # the assignee does not approve its own extension
        await world.do(message, "east", Move("approve-extension"))
    message = await world.do(message, "county", Move("approve-extension"))
    from models.messages import deadline_from_day

    assert message.due_at == await deadline_from_day(old_due.astimezone(LOCAL_TZ).date(), 3)
    assert (message.extension_days, message.extension_asked) == (3, None)


async def test_extensions_stop_at_15_working_days_in_all(world):
    message = await world.in_status("assigned")
    message = await world.do(message, "east", Move("extend", days=12, reason="需现场核实"))
    message = await world.do(message, "county", Move("approve-extension"))
    with pytest.raises(InvalidRequest) as refused:
        await world.do(message, "east", Move("extend", days=4, reason="还需协调"))
    assert "days" in refused.value.details["fields"]
    message = await world.do(message, "east", Move("extend", days=3, reason="还需协调"))
    message = await world.do(message, "county", Move("approve-extension"))
    assert message.extension_days == 15
    with pytest.raises(InvalidRequest):
        await world.do(message, "east", Move("extend", days=1, reason="再延一天"))


async def test_approving_an_extension_nobody_asked_for_is_refused(world):
    message = await world.in_status("assigned")
    with pytest.raises(BadTransition):
        await world.do(message, "county", Move("approve-extension"))


async def test_rating_after_15_days_is_refused(world):
    message = await world.in_status("replied")
    await Message.filter(id=message.id).update(replied_at=datetime.now(UTC) - timedelta(days=15, minutes=1))
    with pytest.raises(BadTransition):
        await world.do(message, "writer", Move("rate", rating="satisfied"))
    await Message.filter(id=message.id).update(replied_at=datetime.now(UTC) - timedelta(days=14, hours=23))
    closed = await world.do(message, "writer", Move("rate", rating="satisfied"))
    assert closed.status == "closed"


async def test_unsatisfied_reopens_once_then_closes(world):
    message = await world.in_status("replied")
    reopened = await world.do(message, "writer", Move("rate", rating="unsatisfied", comment="路灯还是不亮"))
    assert (reopened.status, reopened.reopened, reopened.reply) == ("assigned", True, None)
    assert reopened.due_at is not None and reopened.org_id == world.tree.east.id
    again = await world.do(reopened, "east", Move("draft-reply", content="已更换灯泡"))
    again = await world.do(again, "county", Move("approve-reply"))
    closed = await world.do(again, "writer", Move("rate", rating="unsatisfied"))
    assert (closed.status, closed.rating) == ("closed", "unsatisfied")


# -- supervision ---------------------------------------------------------------------------------


async def overdue_since(world: World, due_on: date) -> Message:
    message = await world.in_status("assigned")
    await Message.filter(id=message.id).update(due_at=datetime.combine(due_on, END_OF_DAY, LOCAL_TZ))
    return message


async def test_supervision_raises_one_level_per_overdue_working_day_up_to_three(world):
    await seed_calendar([2026])
    message = await overdue_since(world, date(2026, 3, 2))  # a Monday
    assert await supervise_overdue(date(2026, 3, 2)) == []  # due today: not yet overdue
    for day, level in ((date(2026, 3, 3), 1), (date(2026, 3, 4), 2), (date(2026, 3, 5), 3)):
        assert await supervise_overdue(day) == [message.id]
        again = await supervise_overdue(day)  # twice a day raises once
        assert again == []
        row = await Message.get(id=message.id)
        assert (row.supervision, row.overdue, row.supervised_on) == (level, True, day)
    assert await supervise_overdue(date(2026, 3, 6)) == []  # at 3 it stays
    assert (await Message.get(id=message.id)).supervision == 3
    notes = await MessageEvent.filter(message_id=message.id, action="supervise").values_list("note", flat=True)
    assert notes == ["超期自动督办（1 级）", "超期自动督办（2 级）", "超期自动督办（3 级）"]


async def test_weekends_and_holidays_raise_nothing(world):
    await seed_calendar([2026])
    message = await overdue_since(world, date(2026, 2, 13))  # a Friday before the Spring Festival
    assert await supervise_overdue(date(2026, 2, 14)) == [message.id]  # Saturday, but a make-up workday
    for rest in (date(2026, 2, 15), date(2026, 2, 18), date(2026, 2, 23), date(2026, 3, 1)):
        assert await supervise_overdue(rest) == []
    assert (await Message.get(id=message.id)).supervision == 1
    assert await supervise_overdue(date(2026, 2, 24)) == [message.id]
    assert (await Message.get(id=message.id)).supervision == 2


async def test_supervision_leaves_replied_and_unassigned_messages_alone(world):
    await seed_calendar([2026])
    replied = await world.in_status("replied")
    await Message.filter(id=replied.id).update(due_at=datetime(2026, 3, 2, tzinfo=LOCAL_TZ))
    waiting = await world.in_status("accepted")
    assert waiting.due_at is None
    assert await supervise_overdue(date(2026, 3, 10)) == []
    assert (await Message.get(id=replied.id)).supervision == 0
