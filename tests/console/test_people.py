"""人员: the subtree's people (search by name or phone, filters), role changes as the API allows,
org-change requests decided, and the roster import (xlsx and csv) with each bad row shown."""

from __future__ import annotations

import io

import aiohttp
import openpyxl
import pytest

from models.audit import AuditEntry
from models.org_requests import OrgChangeRequest
from models.users import User
from server.kernel.crypto import mask_phone
from tests.console.conftest import ConsoleClient

HEADER = ("姓名", "手机号", "组织", "身份")


async def someone(api, name: str | None, org_id: int, *, role: str = "volunteer", phone: str = "", nick: str = ""):
    vault = api.service.services.vault
    return await User.create(
        nickname=nick or name or "无名",
        real_name=name,
        role=role,
        org_id=org_id,
        phone_hash=vault.lookup_hash(phone) if phone else None,
        phone_masked=mask_phone(phone) if phone else None,
        points=12,
    )


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(list(HEADER))
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in [list(HEADER), *rows]).encode("utf-8-sig") + b"\n"


async def upload(client: ConsoleClient, data: bytes, filename: str, *, csrf: str | None = "page"):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    return await client.post("/console/people/import", form, htmx=True, csrf=csrf)


def rows_of(text: str) -> str:
    """The people table (the page minus the org-request and import cards)."""
    start = text.index('id="people-list"')
    return text[start : text.index('id="roster"', start)]


async def test_the_list_shows_the_subtree_with_its_columns(api, tree, console):
    await someone(api, "张三", tree.east_village.id, phone="13800000001")
    await someone(api, None, tree.east.id, nick="小红花", role="influencer")
    await someone(api, "李四", tree.west_village.id, phone="13800000002")

    page = await console.get("/console/people")

    assert page.status == 200
    listed = rows_of(page.text)
    for column in ("姓名", "角色", "组织", "手机", "积分", "服务时长"):
        assert f">{column}<" in listed
    assert "张三" in listed and "138****0001" in listed and "东村" in listed
    assert "小红花（昵称）" in listed and "网络达人" in listed
    assert "李四" not in page.text and "138****0002" not in page.text


async def test_search_by_name_and_by_phone(api, tree, console):
    await someone(api, "张三", tree.east_village.id, phone="13800000001", nick="阿三")
    await someone(api, "王五", tree.east_village.id, phone="13800000003")
    await someone(api, "张西", tree.west_village.id, phone="13800000002")

    by_name = rows_of((await console.get("/console/people?q=张")).text)
    assert "张三" in by_name and "王五" not in by_name and "张西" not in by_name
    by_nickname = rows_of((await console.get("/console/people?q=阿三")).text)
    assert "张三" in by_nickname and "王五" not in by_nickname
    by_phone = rows_of((await console.get("/console/people?q=13800000003")).text)
    assert "王五" in by_phone and "张三" not in by_phone
    # Another township's number finds nobody here.
    elsewhere = await console.get("/console/people?q=13800000002")
    assert "张西" not in elsewhere.text and "没有符合条件的人员" in elsewhere.text


async def test_filters_by_org_and_role(api, tree, console):
    await someone(api, "村里人", tree.east_village.id)
    await someone(api, "镇上人", tree.east.id)
    await someone(api, "达人甲", tree.east.id, role="influencer")

    in_village = rows_of((await console.get(f"/console/people?org_id={tree.east_village.id}")).text)
    assert "村里人" in in_village and "镇上人" not in in_village
    influencers = rows_of((await console.get("/console/people?role=influencer")).text)
    assert "达人甲" in influencers and "村里人" not in influencers
    page = await console.get(f"/console/people?org_id={tree.east_village.id}&role=influencer")
    assert "没有符合条件的人员" in page.text


async def test_another_townships_people_are_refused(api, tree, console):
    await someone(api, "李四", tree.west_village.id)
    page = await console.get(f"/console/people?org_id={tree.west_village.id}")
    assert page.status == 403 and "只能查看本组织及下级组织的人员" in page.text and "李四" not in page.text


@pytest.mark.parametrize(
    "query, shown",
    [
        ("role=chief", "请从列表中选择角色"),
        ("org_id=abc", "请从列表中选择组织"),
        ("cursor=%%%", "回到第一页"),
        ("org_id=999999", "组织不存在"),
    ],
)
async def test_bad_filters_are_shown_not_500(api, tree, console, query, shown):
    page = await console.get(f"/console/people?{query}")
    assert page.status == 400 and shown in page.text and "人员" in page.text


async def test_staff_switch_volunteers_and_influencers(api, tree, console):
    person = await someone(api, "张三", tree.east_village.id)
    await console.get("/console/people")

    row = await console.post(f"/console/people/{person.id}/role", {"role": "influencer"}, htmx=True)

    assert row.status == 200 and row.text.startswith("<tr") and "网络达人" in row.text and "已保存" in row.text
    assert (await User.get(id=person.id)).role == "influencer"
    entry = await AuditEntry.get(action="role_change")
    assert entry.target == f"user:{person.id}" and entry.details["to"]["role"] == "influencer"


async def test_role_changes_the_api_refuses_are_refused(api, tree, console):
    person = await someone(api, "张三", tree.east_village.id)
    colleague = await someone(api, "同事", tree.east.id, role="staff")
    west = await someone(api, "李四", tree.west_village.id)
    page = await console.get("/console/people")
    assert f'id="role-{colleague.id}"' not in page.text  # nothing offered for a staff member

    made_staff = await console.post(f"/console/people/{person.id}/role", {"role": "staff"}, htmx=True)
    demoted = await console.post(f"/console/people/{colleague.id}/role", {"role": "volunteer"}, htmx=True)
    elsewhere = await console.post(f"/console/people/{west.id}/role", {"role": "influencer"}, htmx=True)
    nonsense = await console.post(f"/console/people/{person.id}/role", {"role": "chief"}, htmx=True)

    assert made_staff.status == 403 and "工作人员只能设置志愿者与网络达人身份" in made_staff.text
    assert demoted.status == 403
    assert elsewhere.status == 404 and "人员不存在" in elsewhere.text
    assert nonsense.status == 400 and "<tr" not in nonsense.text
    assert [u.role for u in await User.filter(id__in=[person.id, colleague.id, west.id]).order_by("id")] == [
        "volunteer",
        "staff",
        "volunteer",
    ]
    assert not await AuditEntry.filter(action="role_change").exists()


async def test_admins_may_make_staff(api, tree, admin_console):
    person = await someone(api, "张三", tree.east_village.id)
    page = await admin_console.get("/console/people")
    assert f'id="role-{person.id}"' in page.text
    row = await admin_console.post(f"/console/people/{person.id}/role", {"role": "staff"}, htmx=True)
    assert row.status == 200 and (await User.get(id=person.id)).role == "staff"


async def test_a_role_change_without_csrf_is_403_and_changes_nothing(api, tree, console):
    person = await someone(api, "张三", tree.east_village.id)
    await console.get("/console/people")
    for csrf in (None, "wrong"):
        page = await console.post(f"/console/people/{person.id}/role", {"role": "influencer"}, csrf=csrf)
        assert page.status == 403 and "页面已过期" in page.text
    assert (await User.get(id=person.id)).role == "volunteer"


async def asks_to_join_east(api, tree) -> tuple[int, int]:
    token, user_id = await api.person("volunteer", tree.west_village.id)
    await User.filter(id=user_id).update(real_name="申请人")
    reply = await api.call("PATCH", "/api/v1/me", token=token, json={"org_id": str(tree.east_village.id)})
    assert reply.status == 200, reply.body
    return user_id, (await OrgChangeRequest.get(user_id=user_id)).id


async def test_org_requests_are_approved_and_refused(api, tree, console):
    mover, request_id = await asks_to_join_east(api, tree)
    page = await console.get("/console/people")
    assert "组织变更申请" in page.text and "申请人" in page.text and "西村" in page.text

    no_reason = await console.post(f"/console/people/requests/{request_id}/refuse", {"reason": ""}, htmx=True)
    assert no_reason.status == 400 and "拒绝须说明原因" in no_reason.text
    approved = await console.post(f"/console/people/requests/{request_id}/approve", {}, htmx=True)
    assert approved.status == 200 and "已通过" in approved.text
    assert (await User.get(id=mover)).org_id == tree.east_village.id
    assert await AuditEntry.filter(action="org_change_approve", target=f"user:{mover}").exists()
    again = await console.post(f"/console/people/requests/{request_id}/approve", {}, htmx=True)
    assert again.status == 409 and "已处理" in again.text

    other, second = await asks_to_join_east(api, tree)
    refused = await console.post(f"/console/people/requests/{second}/refuse", {"reason": "不在本村居住"}, htmx=True)
    assert refused.status == 200 and "已拒绝" in refused.text and "不在本村居住" in refused.text
    assert (await User.get(id=other)).org_id == tree.west_village.id
    assert (await OrgChangeRequest.get(id=second)).status == "refused"


async def test_requests_into_another_township_are_not_theirs(api, tree, console):
    token, user_id = await api.person("volunteer", tree.east_village.id)
    await api.call("PATCH", "/api/v1/me", token=token, json={"org_id": str(tree.west_village.id)})
    request_id = (await OrgChangeRequest.get(user_id=user_id)).id
    page = await console.get("/console/people")
    assert "组织变更申请" not in page.text
    reply = await console.post(f"/console/people/requests/{request_id}/approve", {}, htmx=True)
    assert reply.status == 404 and (await User.get(id=user_id)).org_id == tree.east_village.id


ONE_BAD = [
    ["王小明", "13800000001", "东镇/东村", "志愿者"],  # row 2
    ["号码错", "12345", "东村", "志愿者"],  # row 3
    ["李达人", "13800000002", "东村", "网络达人"],  # row 4
]


@pytest.mark.parametrize(
    "data, filename",
    [(xlsx(ONE_BAD), "roster.xlsx"), (csv(ONE_BAD), "roster.csv")],
    ids=["xlsx", "csv"],
)
async def test_roster_import_shows_the_bad_row_and_imports_the_rest(api, tree, console, data, filename):
    await console.get("/console/people")

    result = await upload(console, data, filename)

    assert result.status == 200, result.text
    assert "新增 2 人" in result.text and "第 3 行" in result.text and "手机号无效：12345" in result.text
    assert result.headers.get("HX-Trigger") == "people-changed"
    ming = await User.get(real_name="王小明")
    assert (ming.org_id, ming.role, ming.phone_masked) == (tree.east_village.id, "volunteer", "138****0001")
    assert (await User.get(real_name="李达人")).role == "influencer"
    assert not await User.filter(real_name="号码错").exists()
    entry = await AuditEntry.get(action="roster_import")
    assert entry.details == {"created": 2, "updated": 0, "unchanged": 0, "errors": 1}
    assert "王小明" in rows_of((await console.get("/console/people")).text)


async def test_staff_import_into_their_subtree_only(api, tree, console):
    await console.get("/console/people")
    rows = [["王小明", "13800000001", "东村", "志愿者"], ["西边人", "13800000002", "西镇/西村", "志愿者"]]

    result = await upload(console, csv(rows), "roster.csv")

    assert "新增 1 人" in result.text and "第 3 行" in result.text
    assert "组织“西村”不在本组织及下级组织范围内" in result.text
    assert await User.filter(real_name="王小明", org_id=tree.east_village.id).exists()
    assert not await User.filter(real_name="西边人").exists()


@pytest.mark.parametrize(
    "data, shown",
    [
        (b"\x00\x01binary", "不是 Excel (.xlsx) 或 CSV 文件"),
        ("姓名,组织\n王小明,东村\n".encode(), "缺少列：手机号"),
        (b"", "文件为空"),
    ],
)
async def test_unreadable_rosters_are_explained(api, tree, console, data, shown):
    await console.get("/console/people")
    result = await upload(console, data, "roster.csv")
    assert result.status == 200 and "名册未导入" in result.text and shown in result.text
    assert not await AuditEntry.filter(action="roster_import").exists()


async def test_a_roster_too_large_is_refused_in_chinese(api, tree, console):
    await console.get("/console/people")
    result = await upload(console, b"a" * (10 * 1024 * 1024 + 1), "roster.csv")
    assert "名册未导入：名册文件不能超过 10 MB" in result.text
    assert not await User.filter(role="volunteer").exists()


async def test_an_import_without_csrf_is_403_and_imports_nothing(api, tree, console):
    await console.get("/console/people")
    for csrf in (None, "wrong"):
        result = await upload(console, csv(ONE_BAD), "roster.csv", csrf=csrf)
        assert result.status == 403 and "页面已过期" in result.text
    assert not await User.filter(real_name="王小明").exists()
    assert not await AuditEntry.filter(action="roster_import").exists()


# -- honour hours (荣誉时长): admins grant them from the person's row -----------------------------


async def test_rows_show_credit_and_honour_hours(api, tree, admin_console):
    person = await someone(api, "张三", tree.east_village.id)
    await User.filter(id=person.id).update(service_hours="6.5", honour_hours="2")

    listed = rows_of((await admin_console.get("/console/people")).text)

    assert ">信用时长<" in listed and ">荣誉时长<" in listed
    row = listed[listed.index(f'id="person-{person.id}"') :]
    row = row[: row.index("</tr>")]
    assert ">6.5 小时<" in row and ">4.5<" in row and ">2<" in row
    assert f'id="honour-hours-{person.id}"' in row and "授予荣誉时长" in row


async def test_admin_grants_honour_hours_from_the_row(api, tree, admin_console):
    person = await someone(api, "张三", tree.east_village.id)

    row = await admin_console.post(
        f"/console/people/{person.id}/honour-hours", {"hours": "2.5", "reason": "防汛值守"}, htmx=True
    )

    assert row.status == 200, row.text
    assert "已授予 2.5 小时" in row.text and row.text.lstrip().startswith("<tr")
    fresh = await User.get(id=person.id)
    assert (fresh.service_hours, fresh.honour_hours, fresh.points) == (2.5, 2.5, 12)
    entry = await AuditEntry.get(action="honour_hours")
    assert entry.target == f"user:{person.id}" and entry.details["reason"] == "防汛值守"


@pytest.mark.parametrize(
    ("form", "shown"),
    [
        ({"hours": "", "reason": "防汛值守"}, "时长须为数字"),
        ({"hours": "1.2", "reason": "防汛值守"}, "时长须为 0.5 的倍数"),
        ({"hours": "200", "reason": "防汛值守"}, "时长不能大于 100"),
        ({"hours": "两小时", "reason": "防汛值守"}, "时长须为数字"),
        ({"hours": "2", "reason": " "}, "理由不能为空"),
    ],
)
async def test_bad_grants_are_refused_in_chinese(api, tree, admin_console, form, shown):
    person = await someone(api, "张三", tree.east_village.id)

    reply = await admin_console.post(f"/console/people/{person.id}/honour-hours", form, htmx=True)

    assert reply.status == 400 and shown in reply.text and "<tr" not in reply.text
    assert (await User.get(id=person.id)).honour_hours == 0


async def test_staff_see_no_grant_form_and_are_refused(api, tree, console):
    person = await someone(api, "张三", tree.east_village.id)

    page = await console.get("/console/people")
    refused = await console.post(
        f"/console/people/{person.id}/honour-hours", {"hours": "1", "reason": "辛苦"}, htmx=True
    )

    assert f'id="honour-hours-{person.id}"' not in page.text
    assert refused.status == 403 and "只有管理员可以授予荣誉时长" in refused.text
    assert (await User.get(id=person.id)).honour_hours == 0
