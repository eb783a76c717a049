"""补录审核 over real HTTP: the subtree's pending make-up requests, decided by the API's code path, refusals shown."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models.hour_requests import HourRequest
from models.ledger import LedgerEntry
from models.users import User
from tests.console.conftest import sign_in
from tests.factories import iso, published_task
from tests.images import encode, scene

PAGE = "/console/hour-requests"


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


@pytest.fixture
async def staff_token(api, staff_id) -> str:
    return await api.login_as(staff_id)


@pytest.fixture
async def task(api, staff_token, tree) -> dict:
    return await published_task(
        api,
        staff_token,
        tree.east.id,
        title="文明劝导",
        starts_at=iso(-timedelta(hours=5)),
        service_hours="4",
        points=8,
    )


async def make_up(api, task: dict, org_id: int, real_name: str, note: str = "忘记签到") -> tuple[str, int]:
    """A volunteer's pending request with one photo; returns (request id, user id)."""
    token, uid = await api.person("volunteer", org_id)
    await User.filter(id=uid).update(real_name=real_name)
    upload = await api.upload(token, encode(scene((320, 240), seed=uid), "JPEG"))
    body = {"task_id": task["id"], "started_at": ago(4), "ended_at": ago(1.5), "note": note}
    reply = await api.call("POST", "/api/v1/hour-requests", token=token, json=body | {"media_ids": [upload.body["id"]]})
    assert reply.status == 201, reply.body
    return reply.body["id"], uid


def card_of(text: str, request_id: str) -> str:
    found = re.search(rf'<article class="sub[^"]*" id="hr-{request_id}".*?</article>', text, re.S)
    assert found, f"no card for {request_id}"
    return html.unescape(found.group(0))


async def test_the_page_lists_the_subtrees_pending_requests(api, console, tree, task, staff_token):
    ours, _ = await make_up(api, task, tree.east_village.id, "张三", note="手机没电，未能签到")
    west_token, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_token, tree.west.id, starts_at=iso(-timedelta(hours=5)))
    theirs, _ = await make_up(api, west_task, tree.west_village.id, "李四")

    page = await console.get(PAGE)

    assert page.status == 200
    assert f'id="hr-{theirs}"' not in page.text
    card = card_of(page.text, ours)
    assert "张三" in card and "文明劝导" in card and "手机没电，未能签到" in card
    assert "2.5 小时" in card
    assert re.search(r'<a class="thumb" href="[^"]+-display\.jpg\?[^"]+"[^>]*><img src="[^"]+-thumb\.jpg', card)
    assert ">通过</button>" in card and ">驳回</button>" in card
    review = await console.get("/console/review")
    assert "补录审核（待审核 1 条）" in review.text


async def test_approving_books_the_hours(api, console, tree, task):
    request_id, uid = await make_up(api, task, tree.east_village.id, "王五")
    await console.get(PAGE)

    page = await console.post(f"{PAGE}/{request_id}/decide", {"decision": "approve"})

    assert page.status == 200
    assert f"补录申请 #{request_id} 已通过" in page.text
    assert f'id="hr-{request_id}"' not in page.text
    (entry,) = await LedgerEntry.filter(user_id=uid)
    assert entry.service_hours == Decimal("2.50") and entry.points == 8 and entry.hours_kind == "credit"


async def test_rejecting_without_a_reason_is_refused_on_the_card(api, console, tree, task):
    request_id, _ = await make_up(api, task, tree.east_village.id, "赵六")
    await console.get(PAGE)

    page = await console.post(f"{PAGE}/{request_id}/decide", {"decision": "reject", "reason": " "})

    assert page.status == 400
    card = card_of(page.text, request_id)
    assert "驳回须说明原因" in card
    assert 'role="alert"' in card
    assert await HourRequest.filter(id=int(request_id), status="pending").exists()

    page = await console.post(f"{PAGE}/{request_id}/decide", {"decision": "reject", "reason": "签到表上没有"})
    assert page.status == 200 and f"补录申请 #{request_id} 已驳回" in page.text
    assert (await HourRequest.get(id=int(request_id))).reason == "签到表上没有"


async def test_a_second_decision_is_refused_in_chinese(api, console, tree, task, staff_token):
    request_id, _ = await make_up(api, task, tree.east_village.id, "钱七")
    await console.get(PAGE)
    first = await api.call(
        "POST", f"/api/v1/hour-requests/{request_id}/review", token=staff_token, json={"decision": "approve"}
    )
    assert first.status == 200

    page = await console.post(f"{PAGE}/{request_id}/decide", {"decision": "approve"})

    assert page.status == 409
    assert "该补录申请已审核过" in page.text


async def test_another_townships_request_is_not_found(api, console, tree):
    west_token, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_token, tree.west.id, starts_at=iso(-timedelta(hours=5)))
    theirs, _ = await make_up(api, west_task, tree.west_village.id, "孙八")
    await console.get(PAGE)

    page = await console.post(f"{PAGE}/{theirs}/decide", {"decision": "approve"})

    assert page.status == 404
    assert await HourRequest.filter(id=int(theirs), status="pending").exists()


async def test_a_decision_without_the_csrf_token_is_refused(api, console, tree, task):
    request_id, _ = await make_up(api, task, tree.east_village.id, "周九")
    page = await console.post(f"{PAGE}/{request_id}/decide", {"decision": "approve"}, csrf=None)
    assert page.status == 403
    assert await HourRequest.filter(id=int(request_id), status="pending").exists()


async def test_the_audit_log_names_the_decision_in_chinese(api, tree, task, staff_token):
    request_id, _ = await make_up(api, task, tree.east_village.id, "吴十")
    reply = await api.call(
        "POST", f"/api/v1/hour-requests/{request_id}/review", token=staff_token, json={"decision": "approve"}
    )
    assert reply.status == 200
    _, admin_id = await api.person("admin", tree.county.id)
    admin = await sign_in(api.service.base_url, admin_id)
    try:
        page = await admin.get("/console/audit")
    finally:
        await admin.close()
    assert "审核补录申请" in page.text and f"补录申请 #{request_id}" in page.text
    assert "服务时长（小时）" in page.text
