"""留言: the queue (overdue first, only what the staff member may read), a message's page and its moves as forms."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import openpyxl
import pytest

from models.audit import AuditEntry
from models.messages import Message
from server.kernel.clock import now_utc
from tests.console.conftest import ConsoleClient, sign_in
from tests.images import encode, scene


async def leave(api, token: str, title: str, *, photo: bool = False) -> Message:
    media_ids = []
    if photo:
        uploaded = await api.upload(token, encode(scene(seed=3), "JPEG"))
        assert uploaded.status == 201, uploaded.body
        media_ids = [uploaded.body["id"]]
    body = {"category": "complain", "title": title, "content": f"{title}：详情如下", "public_ok": False}
    reply = await api.call("POST", "/api/v1/messages", token=token, json={**body, "media_ids": media_ids})
    assert reply.status == 201, reply.body
    return await Message.get(id=int(reply.body["id"]))


@pytest.fixture
async def writer(api, tree) -> str:
    token, user_id = await api.person("volunteer", tree.east_village.id)
    from models.users import User

    await User.filter(id=user_id).update(nickname="留言人老张")
    return token


@pytest.fixture
async def county_console(api, tree) -> AsyncIterator[ConsoleClient]:
    """A staff member of the county, who receives the messages."""
    _, user_id = await api.person("staff", tree.county.id)
    client = await sign_in(api.service.base_url, user_id)
    yield client
    await client.close()


async def hand_to(message: Message, org_id: int, assigner_id: int, *, days_left: int, supervision: int = 0) -> None:
    """A message as the county assigned it some time ago (its deadline ``days_left`` days from now)."""
    due = now_utc() + timedelta(days=days_left)
    await Message.filter(id=message.id).update(
        status="assigned", org_id=org_id, assigner_org_id=assigner_id, assign_kind="jiaoban", due_at=due,
        supervision=supervision, overdue=days_left < 0,
    )  # fmt: skip


async def test_the_queue_puts_overdue_first_with_its_badges(api, tree, writer, county_console):
    finished = await leave(api, writer, "道路破损")
    fresh = await leave(api, writer, "路灯不亮")
    later = await leave(api, writer, "广告牌松动")
    soon = await leave(api, writer, "垃圾清运")
    late = await leave(api, writer, "噪音扰民")
    await hand_to(finished, tree.east.id, tree.county.id, days_left=1)
    await Message.filter(id=finished.id).update(status="closed")
    await hand_to(later, tree.east.id, tree.county.id, days_left=6)
    await hand_to(soon, tree.east.id, tree.county.id, days_left=3)
    await hand_to(late, tree.east.id, tree.county.id, days_left=-2, supervision=1)

    page = await county_console.get("/console/messages")

    assert page.status == 200
    text = page.text
    order = [late, soon, later, fresh, finished]
    assert sorted(order, key=lambda m: text.index(m.number)) == order
    late_row = text[text.index(f'data-id="{late.id}"') : text.index(f'data-id="{soon.id}"')]
    assert "超期" in late_row and "督办 1 级" in late_row and "东镇" in late_row and "办理中" in late_row
    assert "投诉" in late_row
    assert 'aria-current="page">留言' in text


async def test_a_status_tab_lists_only_that_status(api, tree, writer, county_console):
    waiting = await leave(api, writer, "路灯不亮")
    handled = await leave(api, writer, "垃圾清运")
    await hand_to(handled, tree.east.id, tree.county.id, days_left=3)

    page = await county_console.get("/console/messages?status=submitted")

    assert waiting.number in page.text and handled.number not in page.text
    assert '待受理 <span class="count">1</span>' in page.text


async def test_the_detail_shows_content_photo_writer_and_the_moves_allowed(api, tree, writer, county_console):
    message = await leave(api, writer, "路灯不亮", photo=True)

    page = await county_console.get(f"/console/messages/{message.id}")

    assert page.status == 200
    assert "路灯不亮：详情如下" in page.text and "留言人老张" in page.text
    assert '<img src="' in page.text and 'alt="留言照片 1"' in page.text
    assert 'data-action="accept"' in page.text and 'data-action="reject"' in page.text
    assert 'data-action="draft-reply"' not in page.text  # not for a message still waiting
    assert "提交留言" in page.text  # the timeline


async def test_accept_then_assign_through_the_forms(api, tree, writer, county_console):
    message = await leave(api, writer, "路灯不亮")
    await county_console.get(f"/console/messages/{message.id}")

    accepted = await county_console.post(f"/console/messages/{message.id}/accept", {})

    assert accepted.status == 200 and accepted.url.endswith(f"/console/messages/{message.id}?done=accept")
    assert "已受理" in accepted.text and (await Message.get(id=message.id)).status == "accepted"
    assert await AuditEntry.filter(action="message_accept", target=f"message:{message.id}").count() == 1

    form = {"org_id": str(tree.east.id), "kind": "jiaoban", "co_org_ids": str(tree.west.id), "note": "请尽快处理"}
    assigned = await county_console.post(f"/console/messages/{message.id}/assign", form)

    assert assigned.status == 200 and "已交办或转办" in assigned.text
    stored = await Message.get(id=message.id)
    assert (stored.status, stored.org_id, stored.assign_kind, stored.co_org_ids) == (
        "assigned",
        tree.east.id,
        "jiaoban",
        [tree.west.id],
    )
    assert stored.due_at is not None and "请尽快处理" in assigned.text


async def test_refusals_are_shown_in_chinese_and_change_nothing(api, tree, writer, county_console):
    message = await leave(api, writer, "路灯不亮")
    await county_console.get(f"/console/messages/{message.id}")
    await county_console.post(f"/console/messages/{message.id}/accept", {})

    again = await county_console.post(f"/console/messages/{message.id}/accept", {})
    no_reason = await county_console.post(f"/console/messages/{message.id}/reject", {"reason": " "})
    no_org = await county_console.post(f"/console/messages/{message.id}/assign", {"org_id": "", "kind": "jiaoban"})

    assert again.status == 409 and 'data-code="bad_transition"' in again.text
    assert "受理未完成" in again.text and "不能受理" in again.text
    assert no_reason.status == 400 and "f-reject-reason-err" in no_reason.text
    assert "<strong>原因</strong>" in no_reason.text
    assert no_org.status == 400 and "f-assign-org_id-err" in no_org.text
    assert (await Message.get(id=message.id)).status == "accepted"


async def test_a_move_beyond_the_staff_members_org_is_refused(api, tree, writer, console):
    message = await leave(api, writer, "路灯不亮")
    await hand_to(message, tree.east.id, tree.county.id, days_left=3)
    await Message.filter(id=message.id).update(extension_asked=3, extension_reason="需要现场核实")
    page = await console.get(f"/console/messages/{message.id}")
    assert 'data-action="draft-reply"' in page.text and 'data-action="approve-extension"' not in page.text

    refused = await console.post(f"/console/messages/{message.id}/approve-extension", {})

    assert refused.status == 403 and "不能批准延期" in refused.text
    assert (await Message.get(id=message.id)).extension_asked == 3


async def test_a_move_without_the_csrf_token_is_refused(api, tree, writer, county_console):
    message = await leave(api, writer, "路灯不亮")
    await county_console.get(f"/console/messages/{message.id}")

    page = await county_console.post(f"/console/messages/{message.id}/accept", {}, csrf=None)
    wrong = await county_console.post(f"/console/messages/{message.id}/accept", {}, csrf="not-the-token")

    assert page.status == 403 and wrong.status == 403
    assert (await Message.get(id=message.id)).status == "submitted"


async def test_another_township_sees_neither_list_nor_message(api, tree, writer):
    message = await leave(api, writer, "路灯不亮")
    await hand_to(message, tree.east.id, tree.county.id, days_left=3)
    _, west_id = await api.person("staff", tree.west.id)
    west = await sign_in(api.service.base_url, west_id)
    try:
        listed = await west.get("/console/messages")
        opened = await west.get(f"/console/messages/{message.id}")
        moved = await west.post(f"/console/messages/{message.id}/supervise", {"note": "督办"})
    finally:
        await west.close()

    assert listed.status == 200 and message.number not in listed.text and "没有" in listed.text
    assert opened.status == 404 and "留言人老张" not in opened.text
    assert moved.status == 404 and (await Message.get(id=message.id)).supervision == 0


async def test_the_township_lists_what_it_holds_not_what_waits_at_the_county(api, tree, writer, console):
    held = await leave(api, writer, "路灯不亮")
    waiting = await leave(api, writer, "垃圾清运")
    await hand_to(held, tree.east.id, tree.county.id, days_left=3)

    page = await console.get("/console/messages")

    assert held.number in page.text and waiting.number not in page.text


async def test_the_dashboard_counts_messages(api, tree, writer, county_console):
    await leave(api, writer, "路灯不亮")
    late = await leave(api, writer, "噪音扰民")
    done = await leave(api, writer, "垃圾清运")
    await hand_to(late, tree.east.id, tree.county.id, days_left=-1, supervision=1)
    await Message.filter(id=done.id).update(status="closed", closed_at=now_utc())

    page = await county_console.get("/console/")

    assert page.status == 200
    assert '<strong id="msg-waiting">1</strong>' in page.text
    assert '<strong id="msg-accepted">2</strong>' in page.text
    assert '<strong id="msg-closed">1</strong>' in page.text
    assert '<strong id="msg-overdue" class="late">1</strong>' in page.text


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The cells of the table with ``table_id``, header and total included, as text."""
    table = html[html.index(f'id="{table_id}"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in rows
    ]


def as_shown(column: int, value: object) -> str:
    """A cell of the xlsx as the page writes it: the two rates (columns 3 and 4) as percentages."""
    if value is None:
        return "—"
    return f"{float(value):.1f}%" if column in (3, 4) and isinstance(value, int | float) else str(value)


async def test_the_dashboard_and_the_reports_page_show_the_xlsx_numbers(api, tree, writer):
    token, user_id = await api.person("staff", tree.county.id)
    client = await sign_in(api.service.base_url, user_id)
    now = now_utc()
    on_time = await leave(api, writer, "道路破损")
    await hand_to(on_time, tree.east.id, tree.county.id, days_left=2)
    await Message.filter(id=on_time.id).update(status="closed", replied_at=now, rating="satisfied", closed_at=now)
    late = await leave(api, writer, "噪音扰民")
    await hand_to(late, tree.west.id, tree.county.id, days_left=-1, supervision=1)
    unhappy = await leave(api, writer, "路灯不亮")
    await hand_to(unhappy, tree.east.id, tree.county.id, days_left=-3)
    await Message.filter(id=unhappy.id).update(status="closed", replied_at=now, rating="unsatisfied", closed_at=now)
    await leave(api, writer, "垃圾清运")  # still at the county: in no row
    try:
        reply = await api.session.get(
            f"{api.service.base_url}/api/v1/reports/messages.xlsx", headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await reply.read()))
        expected = [
            [as_shown(i, v) for i, v in enumerate(row)] for row in book.worksheets[0].iter_rows(values_only=True)
        ]
        assert expected[0] == ["组织", "受理", "办结", "按期办结率", "满意率", "超期", "督办"]
        assert expected[-1] == ["合计", "3", "2", "50.0%", "50.0%", "2", "1"]

        dashboard = await client.get("/console/")
        reports = await client.get("/console/reports")
    finally:
        await client.close()
    assert dashboard.status == 200 and reports.status == 200
    assert table_rows(dashboard.text, "message-report") == expected
    assert table_rows(reports.text, "message-summary") == expected


async def test_what_waits_for_the_staff_members_own_org_is_on_its_tab_and_on_the_dashboard(api, tree, writer, console):
    mine = await leave(api, writer, "路灯不亮")
    await hand_to(mine, tree.east.id, tree.county.id, days_left=3)
    answered = await leave(api, writer, "垃圾清运")
    await hand_to(answered, tree.east.id, tree.county.id, days_left=3)
    await Message.filter(id=answered.id).update(status="replying")  # now the county's to approve
    below = await leave(api, writer, "道路破损")
    await hand_to(below, tree.east_village.id, tree.east.id, days_left=3)  # the village's work
    at_county = await leave(api, writer, "噪音扰民")

    page = await console.get("/console/messages?status=todo")
    dashboard = await console.get("/console/")

    assert page.status == 200
    assert mine.number in page.text
    assert all(m.number not in page.text for m in (answered, below, at_county))
    assert 'aria-current="page">待我办理 <span class="count">1</span>' in page.text
    assert "留言待我办理 1 条" in dashboard.text


async def test_a_message_is_not_offered_to_the_org_that_holds_it(api, tree, writer, county_console):
    message = await leave(api, writer, "路灯不亮")
    await Message.filter(id=message.id).update(status="accepted")

    page = await county_console.get(f"/console/messages/{message.id}")

    select = page.text[page.text.index('id="f-assign-org_id"') :]
    select = select[: select.index("</select>")]
    assert f'value="{tree.east.id}"' in select and f'value="{tree.county.id}"' not in select
