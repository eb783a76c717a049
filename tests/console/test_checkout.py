"""签退 in the console: the task form's checkbox, check-out times on the task page and the review card,
服务时长 on approval, and the enrollment list download with its new columns (also the API's)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from models.audit import AuditEntry
from models.campaigns import Enrollment, Task
from models.ledger import LedgerEntry
from models.users import User
from tests.console.conftest import sign_in
from tests.console.test_review import card_of, words
from tests.factories import SPOT, TASKS, iso, make_campaign, published_task
from tests.images import encode, scene
from tests.support import counting_queries

ON_SITE = {"lat": 30.0003, "lng": 120.0}
SHANGHAI = ZoneInfo("Asia/Shanghai")
REVIEW = "/console/review"


@pytest.fixture
async def staff_token(api, staff_id) -> str:
    return await api.login_as(staff_id)


@pytest.fixture
async def task(api, staff_token, tree) -> dict:
    return await published_task(
        api,
        staff_token,
        tree.east.id,
        title="河道清洁",
        location=SPOT,
        checkin_required=True,
        checkout_required=True,
        service_hours="3",
        quota=20,
        starts_at=iso(-timedelta(hours=1)),
        ends_at=iso(timedelta(hours=2)),
    )


async def person(api, tree, name: str, phone: str | None = None) -> tuple[str, int]:
    token, uid = await api.person("volunteer", tree.east_village.id)
    updates: dict = {"real_name": name}
    if phone:
        vault = api.service.services.vault
        updates.update(phone_enc=vault.encrypt(phone), phone_masked=f"{phone[:3]}****{phone[-4:]}")
    await User.filter(id=uid).update(**updates)
    return token, uid


async def on_site(api, token: str, task: dict, *, checkout: bool) -> None:
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    assert (await api.call("POST", f"{TASKS}/{task['id']}/checkin", token=token, json=ON_SITE)).status == 200
    if checkout:
        reply = await api.call("POST", f"{TASKS}/{task['id']}/checkout", token=token, json=ON_SITE)
        assert reply.status == 200, reply.body


async def hand_in(api, token: str, task: dict, seed: int) -> str:
    upload = await api.upload(token, encode(scene((320, 240), seed=seed), "JPEG"))
    body = {"media_ids": [upload.body["id"]], "text": "清理河道"}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    return reply.body["id"]


def local_minute(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def dated(task: dict, uid: int, minutes: int | None) -> datetime:
    """Check-in three hours ago and check-out ``minutes`` later (None: not checked out)."""
    started = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    ended = started + timedelta(minutes=minutes) if minutes is not None else None
    await Enrollment.filter(task_id=int(task["id"]), user_id=uid).update(checked_in_at=started, checked_out_at=ended)
    return started


# -- the task form and page ----------------------------------------------------------------


async def test_the_task_form_sets_check_out(api, tree, console, staff_token):
    campaign = await make_campaign(api, staff_token, tree.east.id)
    form = await console.get(f"/console/campaigns/{campaign['id']}/tasks/new")
    assert 'name="checkout_required"' in form.text and "需要签退" in words(form.text)

    values = {
        "title": "护河巡查",
        "starts_at": "2026-12-10 09:00",
        "ends_at": "2026-12-10 12:00",
        "points": "5",
        "service_hours": "3",
        "location_name": "河堤",
        "lat": "30.0",
        "lng": "120.0",
        "radius_m": "200",
        "checkin_required": "true",
        "checkout_required": "true",
        "min_photos": "1",
        "max_photos": "3",
    }
    page = await console.post(f"/console/campaigns/{campaign['id']}/tasks/new", values)

    assert page.status == 200, words(page.text)[:500]
    task = await Task.filter(title="护河巡查").first()
    assert task is not None and task.checkout_required
    assert "需要签退" in page.text and "是（服务时长按签到至签退时间计）" in page.text


async def test_the_form_refuses_check_out_on_an_online_task_naming_the_box(api, tree, console, staff_token):
    campaign = await make_campaign(api, staff_token, tree.east.id)
    await console.get(f"/console/campaigns/{campaign['id']}/tasks/new")
    values = {
        "title": "家乡短视频",
        "starts_at": "2026-12-10 09:00",
        "ends_at": "2026-12-10 12:00",
        "points": "5",
        "service_hours": "1",
        "checkout_required": "true",
        "online_on": "true",
        "online_platform_douyin": "true",
        "min_photos": "1",
        "max_photos": "3",
    }

    page = await console.post(f"/console/campaigns/{campaign['id']}/tasks/new", values)

    assert page.status == 400
    assert "线上传播任务无需现场签退" in page.text
    assert await Task.filter(title="家乡短视频").count() == 0


async def test_the_task_page_shows_each_check_out(api, tree, console, task):
    gone, _ = await person(api, tree, "王小明")
    staying, _ = await person(api, tree, "赵小燕")
    await on_site(api, gone, task, checkout=True)
    await on_site(api, staying, task, checkout=False)

    page = await console.get(f"/console/tasks/{task['id']}")

    assert page.status == 200
    text = words(page.text)
    assert "签退" in text and "未签退" in text
    row = text[text.index("王小明") : text.index("赵小燕")]
    assert "定位签退" in row


# -- the review card ----------------------------------------------------------------------


async def test_the_card_shows_times_on_site_and_the_hours_approval_gives(api, tree, console, task):
    token, uid = await person(api, tree, "王小明")
    await on_site(api, token, task, checkout=True)
    sid = await hand_in(api, token, task, seed=1)
    started = await dated(task, uid, 155)

    page = await console.get(REVIEW)

    card = words(card_of(page.text, sid))
    assert "签到" in card and "签退" in card
    assert local_minute(started) in card
    assert "服务时长" in card and "2.5 小时" in card
    assert 'value="2.5"' in card_of(page.text, sid)


async def test_approving_as_proposed_gives_the_hours_on_site(api, tree, console, task):
    token, uid = await person(api, tree, "王小明")
    await on_site(api, token, task, checkout=True)
    sid = await hand_in(api, token, task, seed=2)
    await dated(task, uid, 155)
    await console.get(REVIEW)

    form = {"decision": "approve", "service_hours": "2.5", "service_hours_due": "2.5"}
    reply = await console.post(f"{REVIEW}/{sid}/decide", form, htmx=True)

    assert reply.status == 200, words(reply.text)[:300]
    assert (await LedgerEntry.get(submission_id=int(sid))).service_hours == Decimal("2.5")


async def test_the_reviewer_gives_hours_to_someone_who_did_not_check_out(api, tree, console, task):
    token, uid = await person(api, tree, "赵小燕")
    await on_site(api, token, task, checkout=False)
    sid = await hand_in(api, token, task, seed=3)
    page = await console.get(REVIEW)
    assert "未签退" in words(card_of(page.text, sid))
    assert 'value="0"' in card_of(page.text, sid)

    form = {"decision": "approve", "service_hours": "2", "service_hours_due": "0"}
    reply = await console.post(f"{REVIEW}/{sid}/decide", form, htmx=True)

    assert reply.status == 200
    assert (await LedgerEntry.get(submission_id=int(sid))).service_hours == Decimal("2")
    assert (await User.get(id=uid)).service_hours == Decimal("2")
    audit = await AuditEntry.get(action="review", target=f"submission:{sid}")
    assert Decimal(audit.details["service_hours"]) == Decimal("2")


async def test_hours_beyond_the_task_are_refused_on_the_card(api, tree, console, task):
    token, _ = await person(api, tree, "赵小燕")
    await on_site(api, token, task, checkout=False)
    sid = await hand_in(api, token, task, seed=4)
    await console.get(REVIEW)

    form = {"decision": "approve", "service_hours": "5", "service_hours_due": "0"}
    reply = await console.post(f"{REVIEW}/{sid}/decide", form, htmx=True)

    assert reply.status == 400
    card = card_of(reply.text, sid)
    assert 'aria-invalid="true"' in card and "服务时长须在 0 到 3 小时之间" in words(card)
    assert await LedgerEntry.filter(submission_id=int(sid)).count() == 0


# -- the enrollment list download -----------------------------------------------------------


def sheet_rows(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


async def api_download(api, token: str, task: dict) -> tuple[int, bytes, dict]:
    url = f"{api.service.base_url}{TASKS}/{task['id']}/enrollments.xlsx"
    async with api.session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


async def approved_with_hours(api, tree, console, task) -> tuple[int, int]:
    """王小明 checked in and out (2 h 35 min, approved: 2.5 h); 赵小燕 checked in only, not reviewed."""
    token, uid = await person(api, tree, "王小明", phone="13812345678")
    other, other_id = await person(api, tree, "赵小燕", phone="13987654321")
    await on_site(api, token, task, checkout=True)
    await on_site(api, other, task, checkout=False)
    sid = await hand_in(api, token, task, seed=5)
    await dated(task, uid, 155)
    await console.get(REVIEW)
    assert (await console.post(f"{REVIEW}/{sid}/decide", {"decision": "approve"}, htmx=True)).status == 200
    return uid, other_id


async def test_the_download_has_check_out_and_hours_with_phones_masked_for_staff(api, tree, console, task):
    await approved_with_hours(api, tree, console, task)

    status, data, headers = await console.get_bytes(f"/console/tasks/{task['id']}/enrollments.xlsx")

    assert status == 200 and headers["Content-Disposition"].startswith("attachment;")
    rows = sheet_rows(data)
    assert rows[0] == (
        "姓名",
        "组织",
        "手机号",
        "报名时间",
        "状态",
        "签到时间",
        "签到方式",
        "签退时间",
        "服务时长(小时)",
    )
    first, second = rows[1], rows[2]
    assert first[:3] == ("王小明", "东村", "138****5678")
    assert first[5] and first[6] == "定位签到" and first[7]
    assert first[8] == 2.5
    assert second[:3] == ("赵小燕", "东村", "139****4321")
    assert second[7] in (None, "") and second[8] == 0
    audit = await AuditEntry.filter(action="export", target=f"task:{task['id']}").first()
    assert audit is not None and audit.details["full_phones"] is False


async def test_an_admin_downloads_whole_phone_numbers(api, tree, console, admin_console, task):
    await approved_with_hours(api, tree, console, task)

    status, data, _ = await admin_console.get_bytes(f"/console/tasks/{task['id']}/enrollments.xlsx")

    assert status == 200
    rows = sheet_rows(data)
    assert [r[2] for r in rows[1:]] == ["13812345678", "13987654321"]

    log = words((await admin_console.get("/console/audit")).text)
    assert "报名名单（Excel）" in log and "含完整手机号" in log


async def test_the_api_download_for_staff_of_the_subtree(api, tree, console, staff_token, task):
    await approved_with_hours(api, tree, console, task)

    status, data, headers = await api_download(api, staff_token, task)

    assert status == 200
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in headers["Content-Disposition"]
    rows = sheet_rows(data)
    assert [r[0] for r in rows[1:]] == ["王小明", "赵小燕"]
    assert rows[1][2] == "138****5678" and rows[1][8] == 2.5
    assert await AuditEntry.filter(action="export", target=f"task:{task['id']}").count() == 1


async def test_the_api_download_is_refused_to_another_township_and_to_volunteers(api, tree, task):
    west, _ = await api.person("staff", tree.west.id)
    volunteer, _ = await api.person("volunteer", tree.east_village.id)

    refused, _, _ = await api_download(api, west, task)
    member, _, _ = await api_download(api, volunteer, task)

    assert refused == 403
    assert member == 403
    assert await AuditEntry.filter(action="export").count() == 0


async def test_the_download_makes_the_same_queries_for_two_people_or_twelve(api, tree, staff_token, task):
    async def queries() -> int:
        with counting_queries() as log:
            status, _, _ = await api_download(api, staff_token, task)
        assert status == 200
        return len(log.statements)

    for n in range(2):
        token, _ = await person(api, tree, f"甲{n}")
        await on_site(api, token, task, checkout=n == 0)
    few = await queries()
    for n in range(10):
        token, _ = await person(api, tree, f"乙{n}")
        await on_site(api, token, task, checkout=True)
    many = await queries()

    assert many == few
    assert len(sheet_rows((await api_download(api, staff_token, task))[1])) == 13


async def test_another_townships_staff_cannot_download_it_in_the_console(api, tree, task):
    west_id = (await api.person("staff", tree.west.id))[1]
    west = await sign_in(api.service.base_url, west_id)
    try:
        status, _, _ = await west.get_bytes(f"/console/tasks/{task['id']}/enrollments.xlsx")
    finally:
        await west.close()
    assert status == 403
