"""报表 and 审计: the console's report files are the API's, audited alike; the audit log for admins only."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from urllib.parse import urlencode

import openpyxl
import pytest

from models.audit import ACTIONS, AuditEntry, record
from models.users import User
from server.console.audit_text import ACTION_NAMES
from server.kernel.clock import now_local
from tests.factories import hand_in, published_task
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
async def activity(api, tree, staff_id) -> dict:
    """East: an approved and a pending submission; west: a pending one (another township's)."""
    staff = await api.login_as(staff_id)
    task = await published_task(api, staff, tree.east.id, points=10, service_hours="2.5")
    done, _ = await api.person("volunteer", tree.east_village.id)
    waiting, _ = await api.person("volunteer", tree.east.id)
    sid = await hand_in(api, done, task, seed=1)
    await hand_in(api, waiting, task, seed=2)
    assert (
        await api.call("POST", f"/api/v1/submissions/{sid}/review", token=staff, json={"decision": "approve"})
    ).status == 200
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_staff, tree.west.id)
    west, _ = await api.person("volunteer", tree.west_village.id)
    await hand_in(api, west, west_task, seed=3)
    return {"staff": staff, "task": task, "west_task": west_task}


async def api_file(api, token: str, kind: str, query: dict[str, str]) -> bytes:
    async with api.session.get(
        f"{api.service.base_url}{REPORT}.{kind}?{urlencode(query)}", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read()


def sheets(body: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def error_of(page_text: str, field: str) -> str:
    found = re.search(rf'<div class="field-error" id="f-{field}-err">([^<]*)</div>', page_text)
    assert found, f"no error beside {field}"
    return html.unescape(found.group(1))


def select_of(page_text: str, field: str) -> str:
    return page_text[page_text.index(f'<select id="f-{field}"') :].split("</select>")[0]


# -- 报表 -----------------------------------------------------------------------------------


async def test_the_report_form_offers_what_is_in_scope(console, activity, tree):
    page = await console.get("/console/reports")

    assert page.status == 200
    for label in ("开始日期", "结束日期", "组织", "活动"):
        assert f">{label}" in page.text
    assert "下载 Excel" in page.text and "下载 CSV" in page.text
    orgs, campaigns = select_of(page.text, "org"), select_of(page.text, "campaign")
    assert f'<option value="{tree.east_village.id}">' in orgs and "东村" in orgs
    assert f'value="{tree.west.id}"' not in orgs and "西镇" not in orgs
    assert f'value="{activity["west_task"]["campaign_id"]}"' not in campaigns
    assert f'value="{activity["task"]["campaign_id"]}"' in campaigns
    # the summary of this month: two people of the east township, one approval
    summary = page.text[page.text.index('id="summary"') :]
    assert "合计" in summary and "<td>2</td>" in summary


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
async def test_a_download_is_the_apis_file_and_is_audited(api, console, activity, tree, kind):
    today = now_local().date()
    form = {
        "start": today.replace(day=1).isoformat(),
        "end": today.isoformat(),
        "org": str(tree.east.id),
        "campaign": activity["task"]["campaign_id"],
    }
    api_query = {"from": form["start"], "to": form["end"], "org_id": form["org"], "campaign_id": form["campaign"]}
    await console.get("/console/reports")
    exports = await AuditEntry.filter(action="export").count()

    status, body, headers = await console.get_bytes(f"/console/reports/participation.{kind}?{urlencode(form)}")

    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment;")
    assert f".{kind}" in headers["Content-Disposition"]
    entry = await AuditEntry.filter(action="export").order_by("-id").first()
    assert await AuditEntry.filter(action="export").count() == exports + 1
    staff = await User.get(id=entry.actor_id)
    assert staff.role == "staff" and entry.target == f"participation.{kind}"
    assert entry.details == {"period": f"{form['start']}_{form['end']}", "org_id": tree.east.id}
    same = await api_file(api, activity["staff"], kind, api_query)
    if kind == "xlsx":
        mine, theirs = sheets(body), sheets(same)
        assert mine == theirs
        people = mine["参与情况"]
        assert list(people[0]) == HEADERS and len(people) == 3
    else:
        assert body == same
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[0] == HEADERS and len(rows) == 3


async def test_defaults_are_the_apis_defaults(api, console, activity):
    status, body, _ = await console.get_bytes("/console/reports/participation.xlsx")
    assert status == 200
    assert sheets(body) == sheets(await api_file(api, activity["staff"], "xlsx", {}))


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"start": "2026-11-20", "end": "2026-11-01"}, "end", "结束日期不能早于开始日期"),
        ({"start": "2026-13-45"}, "start", "2026-12-10"),
        ({"end": "12/01/2026"}, "end", "2026-12-10"),
        ({"start": "1999-01-01"}, "start", "2000"),
        ({"start": (now_local().date() + timedelta(days=3)).isoformat()}, "start", "开始日期不能晚于结束日期"),
        ({"campaign": "abc"}, "campaign", ""),
    ],
)
async def test_bad_fields_show_the_form_again(console, activity, query, field, reason):
    exports = await AuditEntry.filter(action="export").count()
    for path in ("/console/reports", "/console/reports/participation.xlsx", "/console/reports/participation.csv"):
        page = await console.get(f"{path}?{urlencode(query)}")
        assert page.status == 400, (path, page.text[:300])
        assert page.headers["Content-Type"].startswith("text/html")
        assert reason in error_of(page.text, field)
        assert "下载 Excel" in page.text and "请修改标红的内容" in page.text
    assert await AuditEntry.filter(action="export").count() == exports


async def test_another_townships_org_is_refused(console, activity, tree):
    exports = await AuditEntry.filter(action="export").count()
    page = await console.get(f"/console/reports/participation.xlsx?org={tree.west.id}")
    assert page.status == 403 and "只能导出本组织及下级组织的报表" in page.text and "没有权限" in page.text
    page = await console.get("/console/reports?org=2147483647")
    assert page.status == 400 and "组织不存在" in error_of(page.text, "org")
    assert await AuditEntry.filter(action="export").count() == exports


# -- 审计 -----------------------------------------------------------------------------------


async def test_staff_may_not_read_the_audit_log(api, console, activity):
    page = await console.get("/console/audit")
    assert page.status == 403 and "审计日志仅管理员可以查看" in page.text
    assert 'href="/console/reports"' in page.text and "退出登录" in page.text  # the nav still works
    assert (await api.call("GET", "/api/v1/audit", token=activity["staff"])).status == 403  # as in the API


async def test_admins_read_the_log_newest_first_in_chinese(api, admin_console, console, activity, staff_id):
    await console.get_bytes("/console/reports/participation.csv")
    page = await admin_console.get("/console/audit")

    assert page.status == 200
    for column in ("时间", "操作人", "操作", "对象", "详情"):
        assert f">{column}</th>" in page.text
    actions = re.findall(r'<tr data-action="([a-z_]+)">', page.text)
    assert actions == ["export", "publish", "review", "publish"]  # the west campaign came after the review
    first = page.text[page.text.index('data-action="export"') :]
    assert "导出报表" in first and "参与情况报表（CSV）" in first and "统计周期" in first
    review = page.text[page.text.index('data-action="review"') :]
    assert "审核提交" in review and "<dt>结论</dt><dd>通过</dd>" in review and "{" not in review.split("</tr>")[0]
    api_log = await api.call(
        "GET", "/api/v1/audit", token=await api.login_as((await User.filter(role="admin").first()).id)
    )
    assert [e["action"] for e in api_log.body["items"]] == actions


async def test_every_action_has_a_chinese_name():
    assert set(ACTION_NAMES) == set(ACTIONS)


async def test_filters_by_action_person_and_date(admin_console, activity, staff_id, tree):
    west_staff = await User.filter(role="staff", org_id=tree.west.id).first()
    page = await admin_console.get("/console/audit?action=review")
    assert re.findall(r'<tr data-action="([a-z_]+)">', page.text) == ["review"]
    assert '<option value="review" selected>审核提交</option>' in page.text
    page = await admin_console.get(f"/console/audit?actor={west_staff.id}")
    assert re.findall(r'<tr data-action="([a-z_]+)">', page.text) == ["publish"]
    assert "<dt>名称</dt><dd>网络大V进乡村</dd>" in page.text
    today = now_local().date()
    page = await admin_console.get(f"/console/audit?start={today}&end={today}&actor={staff_id}")
    assert re.findall(r'<tr data-action="([a-z_]+)">', page.text) == ["review", "publish"]
    tomorrow = today + timedelta(days=1)
    page = await admin_console.get(f"/console/audit?start={tomorrow}")
    assert page.status == 200 and "没有符合条件的审计记录" in page.text


async def test_pages_follow_one_another(admin_console, activity, staff_id):
    staff = await User.get(id=staff_id)
    for n in range(33):
        await record(staff, "export", "participation.csv", {"period": f"p{n}", "org_id": None})
    total = await AuditEntry.all().count()
    page = await admin_console.get("/console/audit")
    seen = re.findall(r'<tr data-action="([a-z_]+)">', page.text)
    found = re.search(r'<a class="button secondary" href="([^"]+)" rel="next">下一页</a>', page.text)
    assert len(seen) == 30 and found
    second = await admin_console.get(html.unescape(found.group(1)))
    assert second.status == 200 and "回到第一页" in second.text and 'rel="next"' not in second.text
    assert len(seen) + len(re.findall(r'<tr data-action="([a-z_]+)">', second.text)) == total


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("action=zzz", "action"),
        ("start=2026-13-45", "start"),
        ("end=tomorrow", "end"),
        ("actor=abc", "actor"),
        ("actor=99999999999", "actor"),
        ("start=2026-12-10&end=2026-12-01", "end"),
    ],
)
async def test_junk_filters_answer_400_in_chinese(admin_console, activity, query, field):
    page = await admin_console.get(f"/console/audit?{query}")
    assert page.status == 400 and page.headers["Content-Type"].startswith("text/html")
    assert "筛选条件有误" in page.text
    assert error_of(page.text, field)


async def test_a_junk_cursor_answers_400(admin_console, activity):
    page = await admin_console.get("/console/audit?cursor=junk")
    assert page.status == 400 and "分页链接无效" in page.text


async def test_the_log_takes_a_fixed_number_of_queries(api, admin_console, activity, tree):
    east, west = tree.east.id, tree.west.id
    change = {"from": {"role": "volunteer", "org_id": east}, "to": {"role": "influencer", "org_id": west}}

    async def role_change() -> None:
        _, uid = await api.person("staff", east)
        await record(await User.get(id=uid), "role_change", f"user:{uid}", change)

    await role_change()
    with counting_queries() as before:
        await admin_console.get("/console/audit")
    for _ in range(4):
        await role_change()
    with counting_queries() as after:
        page = await admin_console.get("/console/audit")
    assert page.status == 200
    assert "<dt>角色</dt><dd>志愿者 → 网络达人</dd>" in page.text and "<dt>组织</dt><dd>东镇 → 西镇</dd>" in page.text
    assert len(after.statements) == len(before.statements) > 0
