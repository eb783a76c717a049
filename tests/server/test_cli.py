"""The `wenming` command as an operator runs it."""

import asyncio
import csv
import io
import sqlite3

import aiohttp
import openpyxl
import pytest

from models.audit import AuditEntry
from models.orgs import Org
from tests.support import ServiceProcess, free_port, run_cli, service_env


def sqlite_env(tmp_path, wechat, **extra):
    env = service_env(f"sqlite://{tmp_path / 'cli.sqlite3'}", wechat, **extra)
    env.pop("WENMING_REDIS_URL", None)
    return env


async def test_migrate_applies_then_reports_up_to_date(tmp_path, wechat):
    env = sqlite_env(tmp_path, wechat)
    status, out, _ = await run_cli("migrate", env=env)
    assert status == 0 and "applied models.0001_initial" in out
    status, out, _ = await run_cli("migrate", env=env)
    assert status == 0 and "up to date" in out
    tables = {r[0] for r in sqlite3.connect(tmp_path / "cli.sqlite3").execute("SELECT name FROM sqlite_master")}
    assert {"users", "orgs", "auth_tokens"} <= tables


async def test_serve_refuses_an_unmigrated_database(tmp_path, wechat):
    status, _, err = await run_cli("serve", "--port", str(free_port()), env=sqlite_env(tmp_path, wechat))
    assert status == 1
    assert "not migrated" in err and "wenming migrate" in err
    assert "Traceback" not in err


async def test_missing_secret_outside_demo_is_one_clear_line(tmp_path, wechat):
    env = sqlite_env(tmp_path, wechat, WENMING_ENV="production")
    for name in ("WENMING_SECRET_KEY", "WENMING_WECHAT_SECRET"):
        env.pop(name, None)
    status, _, err = await run_cli("serve", env=env)
    assert status == 1
    assert err.strip().count("\n") == 0
    assert "WENMING_SECRET_KEY" in err and "WENMING_WECHAT_SECRET" in err
    assert "Traceback" not in err


async def test_bad_setting_is_one_clear_line(tmp_path, wechat):
    status, _, err = await run_cli("migrate", env=sqlite_env(tmp_path, wechat, WENMING_LIMIT_SIGNIN="lots"))
    assert status == 1
    assert "WENMING_LIMIT_SIGNIN" in err and "Traceback" not in err


async def test_serve_refuses_several_workers_without_redis(tmp_path, wechat):
    env = sqlite_env(tmp_path, wechat)
    await run_cli("migrate", env=env)
    status, _, err = await run_cli("serve", "--workers", "2", env=env)
    assert status == 1
    assert "WENMING_REDIS_URL" in err


async def test_unreachable_database_is_one_clear_line(tmp_path, wechat):
    env = sqlite_env(tmp_path, wechat, WENMING_DATABASE_URL=f"postgres://nobody@127.0.0.1:{free_port()}/none")
    status, _, err = await run_cli("migrate", env=env)
    assert status == 1
    assert "cannot reach the database" in err and "Traceback" not in err


async def test_user_grant_creates_staff_who_can_then_sign_in(tmp_path, wechat):
    env = sqlite_env(tmp_path, wechat)
    await run_cli("migrate", env=env)
    db = sqlite3.connect(tmp_path / "cli.sqlite3")
    db.execute(
        "INSERT INTO orgs (name, kind, path, cert_leader, cert_handler, cert_contact, created_at)"
        " VALUES ('祁东县', 'county', '/1/', '', '', '', '2026-01-01')"
    )
    db.commit()
    status, out, err = await run_cli("user", "grant", "--openid", "o-granted", "--role", "staff", "--org", "1", env=env)
    assert status == 0, err
    assert "created user" in out and "role staff" in out
    status, out, _ = await run_cli("user", "grant", "--openid", "o-granted", "--role", "admin", env=env)
    assert status == 0 and "updated user" in out
    async with ServiceProcess(env) as svc, aiohttp.ClientSession() as session:
        async with session.post(
            f"{svc.base_url}/api/v1/auth/wechat-login", json={"code": wechat.issue_code("o-granted")}
        ) as resp:
            body = await resp.json()
    assert body["user"]["role"] == "admin"
    assert body["user"]["org"]["name"] == "祁东县"


async def test_user_grant_rejects_unknown_org_and_staff_without_org(tmp_path, wechat):
    env = sqlite_env(tmp_path, wechat)
    await run_cli("migrate", env=env)
    status, _, err = await run_cli("user", "grant", "--openid", "o1", "--role", "staff", "--org", "99", env=env)
    assert status == 1 and "org 99 does not exist" in err
    status, _, err = await run_cli("user", "grant", "--openid", "o1", "--role", "staff", env=env)
    assert status == 1 and "--org" in err
    status, _, err = await run_cli("user", "grant", "--openid", "o1", "--role", "king", env=env)
    assert status == 2 and "invalid choice" in err


async def test_served_process_reads_unencoded_utf8_in_a_query(tmp_path, wechat):
    """`wenming serve` runs the protocol that percent-encodes raw UTF-8 request targets."""
    env = sqlite_env(tmp_path, wechat)
    await run_cli("migrate", env=env)
    async with ServiceProcess(env) as svc:
        reader, writer = await asyncio.open_connection("127.0.0.1", svc.port)
        writer.write("GET /healthz?q=张 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    assert answer.split()[1] == b"200", answer[:200]


@pytest.mark.parametrize("command", ["serve", "migrate", "worker"])
@pytest.mark.parametrize("name", ["WENMING_REDIS_URL", "WENMING_PUBLIC_BASE_URL"])
async def test_a_malformed_url_setting_stops_every_command_with_one_line(tmp_path, wechat, command, name):
    # An unmigrated database: a command that does not check the setting fails fast (never serves).
    env = sqlite_env(tmp_path, wechat)
    env["WENMING_REDIS_URL"] = "redis://127.0.0.1:1/0"  # the worker needs one to get that far
    env[name] = "notaurl"
    status, out, err = await run_cli(command, *(["--port", str(free_port())] if command == "serve" else []), env=env)
    assert status == 1, (out, err)
    assert err.strip().count("\n") == 0, err
    assert name in err and "Traceback" not in err


# -- wenming orgs import ---------------------------------------------------------

ORG_HEADER = ["名称", "类型", "上级"]
TREE = [
    ["祁东县", "县", ""],  # row 2
    ["洪桥街道", "乡镇/街道", "祁东县"],  # row 3
    ["育贤社区", "社区", "祁东县/洪桥街道"],  # row 4: parent by path
    ["白地市镇", "township", "祁东县"],  # row 5: the English kind name
    ["新桥村", "村（社区）", "白地市镇"],  # row 6
    ["县教育局", "单位", "祁东县"],  # row 7
]


def xlsx_file(path, rows, header=ORG_HEADER):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(row)
    book.save(path)
    return path


def csv_file(path, rows, header=ORG_HEADER, encoding="utf-8-sig"):
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    path.write_bytes(out.getvalue().encode(encoding))
    return path


async def tree_of_names():
    orgs = await Org.all()
    names = {o.id: o.name for o in orgs}
    return {(o.name, o.kind, names.get(o.parent_id)) for o in orgs}


WANTED_TREE = {
    ("祁东县", "county", None),
    ("洪桥街道", "township", "祁东县"),
    ("育贤社区", "village", "洪桥街道"),
    ("白地市镇", "township", "祁东县"),
    ("新桥村", "village", "白地市镇"),
    ("县教育局", "unit", "祁东县"),
}


@pytest.mark.parametrize("make", [xlsx_file, csv_file], ids=["xlsx", "csv"])
async def test_orgs_import_builds_the_tree_and_a_rerun_changes_nothing(api, tmp_path, database_url, wechat, make):
    path = make(tmp_path / f"orgs.{make.__name__[:-5]}", TREE)
    env = service_env(database_url, wechat)

    status, out, err = await run_cli("orgs", "import", str(path), env=env)

    assert status == 0, err
    assert "6 created, 0 unchanged, 0 row(s) with errors" in out
    assert await tree_of_names() == WANTED_TREE
    paths = {o.name: o.path for o in await Org.all()}
    assert paths["育贤社区"].startswith(paths["洪桥街道"]) and paths["洪桥街道"].startswith(paths["祁东县"])
    assert await AuditEntry.filter(action="org_import", actor_id=None).count() == 1

    status, out, err = await run_cli("orgs", "import", str(path), env=env)

    assert status == 0, err
    assert "0 created, 6 unchanged, 0 row(s) with errors" in out
    assert await Org.all().count() == 6


async def test_orgs_import_reads_a_gb18030_csv(api, tmp_path, database_url, wechat):
    path = csv_file(tmp_path / "orgs.csv", TREE[:3], encoding="gb18030")

    status, out, err = await run_cli("orgs", "import", str(path), env=service_env(database_url, wechat))

    assert status == 0, err
    assert "3 created" in out
    assert ("育贤社区", "village", "洪桥街道") in await tree_of_names()


async def test_orgs_import_lists_bad_rows_imports_the_rest_and_exits_1(api, tmp_path, database_url, wechat):
    rows = [
        ["祁东县", "县", ""],  # row 2
        ["育贤社区", "社区", "洪桥街道"],  # row 3: its parent comes later
        ["洪桥街道", "街道", "祁东县"],  # row 4
        ["", "村", "洪桥街道"],  # row 5: no name
        ["新桥村", "生产队", "洪桥街道"],  # row 6: unknown type
        ["城关村", "村", "北镇"],  # row 7: no such parent
        ["零\u200b宽", "村", "洪桥街道"],  # row 8: an invisible character
        ["东村", "村", "祁东县"],  # row 9: a village straight under the county
        ["城东社区", "社区", "祁东县/洪桥街道"],  # row 10
    ]
    path = xlsx_file(tmp_path / "orgs.xlsx", rows)

    status, out, err = await run_cli("orgs", "import", str(path), env=service_env(database_url, wechat))

    assert status == 1, (out, err)
    assert "3 created, 0 unchanged, 6 row(s) with errors" in out.strip().splitlines()[-1]
    reasons = dict(line.split(": ", 1) for line in err.strip().splitlines() if line.startswith("row "))
    assert sorted(reasons, key=lambda r: int(r.split()[1])) == [f"row {n}" for n in (3, 5, 6, 7, 8, 9)]
    assert "上级组织不存在" in reasons["row 3"] and "第 4 行" in reasons["row 3"]
    assert "名称为空" in reasons["row 5"]
    assert "类型无效：生产队" in reasons["row 6"]
    assert "上级组织不存在：北镇" in reasons["row 7"]
    assert "不可见字符" in reasons["row 8"]
    assert "不能设在该上级组织之下" in reasons["row 9"]
    assert {name for name, _, _ in await tree_of_names()} == {"祁东县", "洪桥街道", "城东社区"}


@pytest.mark.parametrize(
    "header, message",
    [(["名称", "类型"], "名称、类型、上级"), (["姓名", "手机号", "组织"], "名称、类型、上级")],
)
async def test_orgs_import_refuses_a_file_without_its_header(api, tmp_path, database_url, wechat, header, message):
    path = csv_file(tmp_path / "orgs.csv", [["祁东县", "县", ""]], header=header)

    status, _, err = await run_cli("orgs", "import", str(path), env=service_env(database_url, wechat))

    assert status == 1 and message in err and "Traceback" not in err
    assert await Org.all().count() == 0


async def test_users_import_reads_a_csv_roster(api, tmp_path, database_url, wechat):
    env = service_env(database_url, wechat)
    await run_cli("orgs", "import", str(csv_file(tmp_path / "orgs.csv", TREE[:3])), env=env)
    roster = csv_file(
        tmp_path / "roster.csv",
        [["王小明", "13800000001", "洪桥街道/育贤社区", "志愿者"]],
        header=["姓名", "手机号", "组织", "身份"],
        encoding="gb18030",
    )

    status, out, err = await run_cli("users", "import", str(roster), env=env)

    assert status == 0, err
    assert "1 created" in out


async def test_calendar_seed_writes_the_published_year_once(tmp_path, wechat):
    env = sqlite_env(tmp_path, wechat)
    await run_cli("migrate", env=env)

    status, out, err = await run_cli("calendar", "seed", env=env)

    assert status == 0, err
    assert "2026: seeded" in out
    db = sqlite3.connect(tmp_path / "cli.sqlite3")
    kinds = dict(db.execute("SELECT kind, COUNT(*) FROM calendar_days GROUP BY kind").fetchall())
    assert kinds == {"holiday": 33, "workday": 6}
    status, out, _ = await run_cli("calendar", "seed", "--year", "2026", env=env)
    assert status == 0 and "2026: already as published" in out
    assert db.execute("SELECT COUNT(*) FROM audit_entries WHERE action = 'calendar_update'").fetchone() == (1,)


async def test_calendar_seed_of_an_unpublished_year_is_one_clear_line(tmp_path, wechat):
    env = sqlite_env(tmp_path, wechat)
    await run_cli("migrate", env=env)

    status, _, err = await run_cli("calendar", "seed", "--year", "2031", env=env)

    assert status == 1
    assert "no published schedule for 2031" in err and "Traceback" not in err
