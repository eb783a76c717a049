"""The demo's netizen messages: one in each state, by the domain's moves, the overdue one supervised."""

from __future__ import annotations

from models.audit import AuditEntry
from models.messages import Message
from models.users import User
from server.demo import COUNTY, PEOPLE, seed_orgs
from server.demo_messages import MESSAGES, tell_messages


async def test_the_demo_messages_stand_in_every_state(api):
    orgs = await seed_orgs()
    for _code, openid, nickname, role, org in PEOPLE:
        await User.create(openid=openid, nickname=nickname, role=role, org_id=orgs[org])
    staff = await User.get(openid=PEOPLE[0][1]).select_related("org")
    admin = await User.get(openid=PEOPLE[1][1]).select_related("org")

    await tell_messages(orgs, staff, admin, api.service.services.storage)

    by_title = {m.title: m for m in await Message.all()}
    states = {title: by_title[title].status for _, _, title, *_ in MESSAGES}
    assert sorted(states.values()) == sorted(
        ["submitted", "accepted", "assigned", "replying", "replied", "closed", "rejected"]
    )
    late = by_title["归阳镇河道有人倾倒垃圾"]
    assert late.org_id == orgs["归阳镇"] and late.supervision == 1 and late.due_at is not None
    closed = by_title["网络文明志愿者如何报名"]
    assert closed.rating == "satisfied" and closed.reply and closed.home_org_id == orgs[COUNTY]
    assert await AuditEntry.filter(action="message_approve_reply").count() == 2  # replied and closed
