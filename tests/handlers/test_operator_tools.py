"""The participation report, the audit log and service certificates, through HTTP."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from PIL import Image

from models.ledger import LedgerEntry
from models.orgs import create_org
from tests.factories import CAMPAIGNS, TASKS, approved_online_work, online_body, published_task
from tests.handlers.test_review import hand_in, review_path
from tests.support import counting_queries

REPORT = "/api/v1/reports/participation"
# The contract's nine columns stay first; online work (网络传播) is appended after them.
REACH = ["线上作品", "浏览量", "点赞", "评论", "转发", "传播积分"]
HEADERS = [
    "姓名",
    "用户ID",
    "组织",
    "报名",
    "签到",
    "提交",
    "通过",
    "积分",
    "服务时长(小时)",
    *REACH,
    "信用时长",
    "荣誉时长",
]


@pytest.fixture
async def activity(api, staff, tree) -> dict:
    """Two east volunteers (one approved with 15 points and 2.5 h, one only enrolled) and one west volunteer."""
    task = await published_task(api, staff, tree.east.id, points=10, service_hours="2.5")
    busy, busy_id = await api.person("volunteer", tree.east_village.id)
    idle, idle_id = await api.person("volunteer", tree.east_village.id)
    sid = await hand_in(api, busy, task)
    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve", "points": 15})
    assert reply.status == 200
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=idle)).status == 201
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_staff, tree.west.id)
    west, _ = await api.person("volunteer", tree.west_village.id)
    await hand_in(api, west, west_task)
    return {"busy": busy_id, "idle": idle_id, "task": task, "west_staff": west_staff}


async def download(api, token: str, kind: str, query: str = "") -> tuple[int, bytes, dict]:
    async with api.session.get(
        f"{api.service.base_url}{REPORT}.{kind}{query}", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


async def test_xlsx_totals_match_the_ledger(api, staff, activity, tree) -> None:
    status, body, headers = await download(api, staff, "xlsx")

    assert status == 200
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(body))
    people = book.worksheets[0]
    rows = list(people.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    assert people.freeze_panes == "A2"
    by_id = {row[1]: row for row in rows[1:]}
    assert set(by_id) == {activity["busy"], activity["idle"]}  # east only: the staff member's subtree
    busy = by_id[activity["busy"]]
    assert busy[2] == "县 / 东镇 / 东村"
    assert busy[3:] == (1, 0, 1, 1, 15, 2.5, 0, 0, 0, 0, 0, 0, 2.5, 0)  # no online work, all credit hours
    assert by_id[activity["idle"]][3:] == (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ledger_points = sum(e.points for e in await LedgerEntry.filter(user_id=activity["busy"]))
    assert busy[7] == ledger_points
    assert all(isinstance(v, int | float) for v in busy[3:])


async def test_csv_and_filters(api, staff, activity, tree) -> None:
    status, body, headers = await download(api, staff, "csv", f"?campaign_id={activity['task']['campaign_id']}")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert len(rows) == 3
    admin, _ = await api.person("admin")
    _, everyone, _ = await download(api, admin, "csv")
    assert len(list(csv.reader(io.StringIO(everyone.decode("utf-8-sig"))))) == 4  # the west person too
    last_year = (datetime.now(UTC) - timedelta(days=400)).date()
    _, old, _ = await download(api, staff, "csv", f"?from={last_year}&to={last_year}")
    assert list(csv.reader(io.StringIO(old.decode("utf-8-sig")))) == [HEADERS]


async def test_report_refusals(api, staff, activity, tree) -> None:
    volunteer, _ = await api.person("volunteer", tree.east_village.id)
    assert (await download(api, volunteer, "xlsx"))[0] == 403
    backwards = await api.call("GET", f"{REPORT}.xlsx?from=2026-11-20&to=2026-11-01", token=staff)
    assert backwards.status == 400 and backwards.error_code == "invalid_request"
    bad_date = await api.call("GET", f"{REPORT}.csv?from=2026-13-01", token=staff)
    assert bad_date.status == 400 and "from" in bad_date.body["error"]["details"]["fields"]
    other_org = await api.call("GET", f"{REPORT}.xlsx?org_id={tree.west.id}", token=staff)
    assert other_org.status == 403


async def test_audit_log_records_staff_actions_for_admins(api, staff, activity, tree) -> None:
    await download(api, staff, "csv")
    admin, _ = await api.person("admin")

    log = await api.call("GET", "/api/v1/audit", token=admin)

    assert log.status == 200
    actions = [(e["action"], e["target"]) for e in log.body["items"]]
    assert ("export", "participation.csv") == actions[0]
    assert ("review", f"submission:{(await LedgerEntry.first()).submission_id}") in actions
    assert sum(1 for a, _ in actions if a == "publish") == 2
    mine = await api.call("GET", f"/api/v1/audit?actor={log.body['items'][0]['actor']['id']}&limit=1", token=admin)
    assert len(mine.body["items"]) == 1 and mine.body["next_cursor"]
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    assert (await api.call("GET", f"/api/v1/audit?from={tomorrow}", token=admin)).body["items"] == []
    assert (await api.call("GET", "/api/v1/audit", token=staff)).status == 403


async def test_role_changes_and_closing_are_audited(api, staff, tree) -> None:
    admin, _ = await api.person("admin")
    _, uid = await api.person("volunteer", tree.east_village.id)
    await api.call("PATCH", f"/api/v1/users/{uid}", token=admin, json={"role": "influencer"})
    log = await api.call("GET", "/api/v1/audit", token=admin)
    (entry,) = log.body["items"]
    assert entry["action"] == "role_change"
    org = tree.east_village.id
    assert entry["details"] == {
        "from": {"role": "volunteer", "org_id": org},
        "to": {"role": "influencer", "org_id": org},
    }
    campaign = await published_task(api, staff, tree.east.id)
    assert (await api.call("POST", f"{CAMPAIGNS}/{campaign['campaign_id']}/close", token=staff)).status == 200
    actions = [e["action"] for e in (await api.call("GET", "/api/v1/audit", token=admin)).body["items"]]
    assert actions[:2] == ["close", "publish"]


async def test_certificate_is_rendered_and_its_serial_verifies(api, staff, activity) -> None:
    token = await api.login_as(activity["busy"])

    async with api.session.get(
        f"{api.service.base_url}/api/v1/me/certificate.png", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        png = await resp.read()
        serial = resp.headers["X-Certificate-Serial"]
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1240, 1754)
    check = await api.call("GET", f"/api/v1/certificates/{serial}")
    assert check.status == 200
    assert check.body["valid"] is True and check.body["service_hours"] == 2.5 and check.body["serial"] == serial
    assert set(check.body) == {
        "serial",
        "name",
        "service_hours",
        "credit_hours",
        "honour_hours",
        "issued_on",
        "issuer",
        "valid",
    }
    assert (check.body["credit_hours"], check.body["honour_hours"]) == (2.5, 0)
    # Issued by the top of the person's org tree (the county, named "县" in these tests).
    assert check.body["issuer"] == "县"
    again = await api.session.get(
        f"{api.service.base_url}/api/v1/me/certificate.png", headers={"Authorization": f"Bearer {token}"}
    )
    assert again.headers["X-Certificate-Serial"] == serial  # same totals, same certificate
    assert (await api.call("GET", "/api/v1/certificates/WM-NOPE")).status == 404


async def test_no_hours_no_certificate(api, activity) -> None:
    token = await api.login_as(activity["idle"])
    reply = await api.call("GET", "/api/v1/me/certificate.png", token=token)
    assert reply.status == 409 and reply.error_code == "no_service_hours"
    assert "时长" in reply.body["error"]["message"]


async def test_a_reversal_makes_an_old_certificate_invalid(api, staff, activity) -> None:
    token = await api.login_as(activity["busy"])
    async with api.session.get(
        f"{api.service.base_url}/api/v1/me/certificate.png", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        serial = resp.headers["X-Certificate-Serial"]
    sid = (await LedgerEntry.first()).submission_id
    await api.call("POST", review_path(str(sid)), token=staff, json={"decision": "reject", "reason": "核查发现作假"})
    check = await api.call("GET", f"/api/v1/certificates/{serial}")
    assert check.body["valid"] is False


# -- online work (网络传播) in the report ----------------------------------------------------------


@pytest.fixture
async def online_activity(api, staff, tree) -> dict:
    """East: one influencer with two approved posts (one reaching the 1000-view tier, 7 points) and a
    rejected one; a villager with offline work only. West: one approved post."""
    tiers = online_body(reach_tiers=[{"views": 1000, "points": 7}])
    task = await published_task(api, staff, tree.east.id, title="家乡短视频", points=5, online=tiers)
    second = await published_task(api, staff, tree.east.id, title="第二条", points=5, online=online_body())
    star, star_id = await api.person("influencer", tree.east_village.id)
    await approved_online_work(api, staff, task, star, seed=1, views=1500, likes=20, comments=5, shares=3)
    await approved_online_work(api, staff, second, star, seed=2, views=200, likes=1)
    rejected_task = await published_task(api, staff, tree.east.id, title="第三条", online=online_body())
    dropped = await approved_online_work(api, staff, rejected_task, star, seed=3, views=9000, likes=99)
    reply = await api.call("POST", review_path(dropped), token=staff, json={"decision": "reject", "reason": "刷量"})
    assert reply.status == 200, reply.body
    offline = await published_task(api, staff, tree.east.id, points=10)
    villager, villager_id = await api.person("volunteer", tree.east_village.id)
    sid = await hand_in(api, villager, offline)
    assert (await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})).status == 200
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_staff, tree.west.id, online=online_body())
    west, west_id = await api.person("volunteer", tree.west_village.id)
    await approved_online_work(api, west_staff, west_task, west, seed=4, views=40, comments=2)
    return {"star": star_id, "villager": villager_id, "west": west_id}


async def test_the_report_adds_online_work_after_the_contract_columns(api, staff, online_activity, tree) -> None:
    admin, _ = await api.person("admin")
    status, body, _ = await download(api, admin, "xlsx", f"?org_id={tree.county.id}")

    assert status == 200
    book = openpyxl.load_workbook(io.BytesIO(body))
    rows = list(book["参与情况"].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    by_id = {row[1]: row[9:15] for row in rows[1:]}
    # 线上作品, 浏览量, 点赞, 评论, 转发, 传播积分: the rejected post and its bonus count nowhere.
    assert by_id[online_activity["star"]] == (2, 1700, 21, 5, 3, 7)
    assert by_id[online_activity["villager"]] == (0, 0, 0, 0, 0, 0)
    assert by_id[online_activity["west"]] == (1, 40, 0, 2, 0, 0)
    _, csv_body, _ = await download(api, admin, "csv", f"?org_id={tree.county.id}")
    csv_rows = list(csv.reader(io.StringIO(csv_body.decode("utf-8-sig"))))
    assert {int(r[1]): tuple(int(v) for v in r[9:15]) for r in csv_rows[1:]} == by_id


async def test_the_xlsx_sums_online_work_per_child_org(api, staff, online_activity, tree) -> None:
    admin, _ = await api.person("admin")

    _, county, _ = await download(api, admin, "xlsx", f"?org_id={tree.county.id}")
    _, east, _ = await download(api, staff, "xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(county))["组织传播"]
    assert list(sheet.iter_rows(values_only=True)) == [
        ("组织", "线上作品", "浏览量", "点赞", "评论", "转发"),
        ("东镇", 2, 1700, 21, 5, 3),
        ("西镇", 1, 40, 0, 2, 0),
    ]
    assert openpyxl.load_workbook(io.BytesIO(east)).sheetnames == ["参与情况", "按组织汇总", "组织传播"]
    east_rows = list(openpyxl.load_workbook(io.BytesIO(east))["组织传播"].iter_rows(values_only=True))
    assert east_rows[1:] == [("东村", 2, 1700, 21, 5, 3)]


async def test_a_report_costs_the_same_statements_for_one_person_or_many(api, staff, tree) -> None:
    task = await published_task(api, staff, tree.east.id, quota=20, online=online_body())
    first, _ = await api.person("influencer", tree.east_village.id)
    await approved_online_work(api, staff, task, first, seed=0, views=10)
    with counting_queries() as one:
        assert (await download(api, staff, "xlsx"))[0] == 200
    for n in range(1, 6):
        token, _ = await api.person("influencer", tree.east_village.id)
        await approved_online_work(api, staff, task, token, seed=n, views=10 + n)
    await create_org("新村", "village", tree.east.id)
    with counting_queries() as many:
        assert (await download(api, staff, "xlsx"))[0] == 200

    assert len(many.statements) == len(one.statements) > 0


async def test_the_report_splits_credit_and_honour_hours_last(api, staff, activity, tree) -> None:
    admin, _ = await api.person("admin")
    grant = {"hours": 3.5, "reason": "防汛值守"}
    path = f"/api/v1/users/{activity['idle']}/honour-hours"
    assert (await api.call("POST", path, token=admin, json=grant)).status == 201

    _, body, _ = await download(api, staff, "xlsx")
    _, csv_body, _ = await download(api, staff, "csv")

    rows = list(openpyxl.load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True))
    by_id = {row[1]: row for row in rows[1:]}
    # 服务时长(小时) stays the sum; 信用时长 and 荣誉时长 come last.
    assert (by_id[activity["busy"]][8], *by_id[activity["busy"]][-2:]) == (2.5, 2.5, 0)
    assert (by_id[activity["idle"]][7:9], by_id[activity["idle"]][-2:]) == ((0, 3.5), (0, 3.5))
    csv_by_id = {int(r[1]): r[-2:] for r in list(csv.reader(io.StringIO(csv_body.decode("utf-8-sig"))))[1:]}
    assert csv_by_id[activity["idle"]] == ["0.00", "3.50"]
