"""Roster import (staff endpoint and CLI), and matching people when they first sign in."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import openpyxl
import pytest

from models.audit import AuditEntry
from models.users import User
from tests.support import run_cli, service_env

IMPORT = "/api/v1/users/import"


def roster(rows: list[list[object]], header: tuple[str, ...] = ("姓名", "手机号", "组织", "身份")) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD_AND_BAD = [
    ["王小明", "13800000001", "东镇/东村", "志愿者"],  # row 2
    ["李达人", 13800000002, "西村", "网络达人"],  # row 3: phone typed as a number
    ["无号码", "", "东村", "志愿者"],  # row 4
    ["号码错", "12345", "东村", "志愿者"],  # row 5
    ["重复号", "138-0000-0001", "东村", "志愿者"],  # row 6: same phone as row 2
    ["找不到", "13800000003", "北镇", "志愿者"],  # row 7
    ["乱身份", "13800000004", "东村", "村长"],  # row 8
]


async def upload(api, token: str, data: bytes, filename: str = "roster.xlsx"):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    async with api.session.post(
        api.service.base_url + IMPORT, data=form, headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        return resp.status, await resp.json()


@pytest.fixture
async def admin(api) -> str:
    return (await api.person("admin"))[0]


async def test_import_reports_bad_rows_and_imports_the_good_ones(api, admin, tree) -> None:
    status, body = await upload(api, admin, roster(GOOD_AND_BAD))

    assert status == 200, body
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    errors = {e["row"]: e["message"] for e in body["errors"]}
    assert sorted(errors) == [4, 5, 6, 7, 8]
    assert "手机号" in errors[4] and "12345" in errors[5] and "第 2 行" in errors[6]
    assert "北镇" in errors[7] and "村长" in errors[8]
    ming = await User.get(nickname="王小明")
    assert (ming.org_id, ming.role, ming.openid, ming.phone_masked) == (
        tree.east_village.id,
        "volunteer",
        None,
        "138****0001",
    )
    assert (await User.get(nickname="李达人")).role == "influencer"
    assert await AuditEntry.filter(action="roster_import").count() == 1


async def test_importing_the_same_file_twice_changes_nothing(api, admin, tree) -> None:
    data = roster(GOOD_AND_BAD)
    await upload(api, admin, data)
    before = sorted(await User.all().values_list("id", "nickname", "org_id", "role", "phone_hash"))

    status, body = await upload(api, admin, data)

    assert status == 200
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 2)
    assert sorted(await User.all().values_list("id", "nickname", "org_id", "role", "phone_hash")) == before
    changed = roster([["王小明", "13800000001", "西镇/西村", "志愿者"]])
    assert (await upload(api, admin, changed))[1]["updated"] == 1
    assert (await User.get(nickname="王小明")).org_id == tree.west_village.id


async def test_the_roster_person_is_matched_at_first_sign_in(api, admin, tree) -> None:
    await upload(api, admin, roster([["王小明", "13800000001", "东村", "网络达人"]]))
    token, me = await api.login()

    code = api.wechat.issue_phone_code("13800000001")
    reply = await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": code})

    assert reply.status == 200, reply.body
    assert reply.body["nickname"] == "王小明"
    assert reply.body["org"]["id"] == str(tree.east_village.id)
    assert reply.body["role"] == "influencer"
    assert await User.filter(phone_masked="138****0001").count() == 1
    assert (await User.get(phone_masked="138****0001")).id == int(me["id"])


@pytest.mark.parametrize(
    "data, message",
    [
        (roster([["王小明", "东村"]], header=("姓名", "组织")), "缺少列：手机号"),
        (b"name,phone\n", "缺少列：姓名、手机号、组织"),
        (b"PK\x03\x04\x00 not really a zip", "不是 Excel (.xlsx) 或 CSV 文件"),
    ],
)
async def test_unreadable_files_are_400(api, admin, data, message) -> None:
    status, body = await upload(api, admin, data)
    assert status == 400 and body["error"]["code"] == "invalid_roster"
    assert message in body["error"]["message"]
    assert await User.filter(role="volunteer").count() == 0


async def test_a_csv_roster_is_imported_too(api, admin, tree) -> None:
    data = "姓名,手机号,组织,身份\n王小明,13800000001,东镇/东村,志愿者\n号码错,12345,东村,志愿者\n".encode()

    status, body = await upload(api, admin, data, filename="roster.csv")

    assert status == 200, body
    assert (body["created"], body["errors"]) == (1, [{"row": 3, "message": "手机号无效：12345"}])
    assert (await User.get(real_name="王小明")).org_id == tree.east_village.id
    entry = await AuditEntry.get(action="roster_import")
    assert entry.target == "roster.csv" and entry.details["created"] == 1


async def test_staff_import_into_their_own_subtree_only(api, staff, tree) -> None:
    outsider = await User.create(nickname="西边人", role="volunteer", org_id=tree.west_village.id)
    await User.filter(id=outsider.id).update(phone_hash=api.service.services.vault.lookup_hash("13800000009"))
    rows = [
        ["王小明", "13800000001", "东镇/东村", "网络达人"],  # row 2: inside the east township
        ["西边的", "13800000002", "西村", "志愿者"],  # row 3: another township's village
        ["当干部", "13800000003", "东村", "工作人员"],  # row 4: staff only an admin makes
        ["挪过来", "13800000009", "东村", "志愿者"],  # row 5: a west villager's phone
    ]

    status, body = await upload(api, staff, roster(rows))

    assert status == 200, body
    assert body["created"] == 1
    errors = {e["row"]: e["message"] for e in body["errors"]}
    assert sorted(errors) == [3, 4, 5]
    assert "不在本组织及下级组织范围内" in errors[3] and "志愿者与网络达人" in errors[4]
    assert "不在本组织及下级组织中" in errors[5]
    assert (await User.get(real_name="王小明")).role == "influencer"
    assert not await User.filter(real_name__in=["西边的", "当干部"]).exists()
    assert (await User.get(id=outsider.id)).org_id == tree.west_village.id
    assert await AuditEntry.filter(action="roster_import").count() == 1


async def test_volunteers_do_not_import(api, tree) -> None:
    token, _ = await api.person("volunteer", tree.east.id)
    status, body = await upload(api, token, roster(GOOD_AND_BAD))
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert not await User.filter(real_name="王小明").exists()


async def test_cli_imports_with_progress(api, tree, tmp_path: Path, database_url, wechat) -> None:
    path = tmp_path / "roster.xlsx"
    path.write_bytes(roster(GOOD_AND_BAD))
    env = service_env(database_url, wechat)

    status, out, err = await run_cli("users", "import", str(path), env=env)

    assert status == 1, err  # a script running the import must see that rows were left out
    assert "2 created, 0 updated, 0 unchanged, 5 row(s) with errors" in out.strip().splitlines()[-1]
    assert "row 5: 手机号无效：12345" in err
    assert "importing [" in err
    status, out, _ = await run_cli("users", "import", str(path), env=env)
    assert status == 1 and "0 created, 0 updated, 2 unchanged" in out
    good = tmp_path / "good.xlsx"
    good.write_bytes(roster(GOOD_AND_BAD[:2]))
    status, out, err = await run_cli("users", "import", str(good), env=env)
    assert status == 0, err
    assert "0 created, 0 updated, 2 unchanged, 0 row(s) with errors" in out
    status, _, err = await run_cli("users", "import", str(tmp_path / "missing.xlsx"), env=env)
    assert status == 1 and "no such file" in err
