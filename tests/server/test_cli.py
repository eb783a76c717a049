"""The `wenming` command as an operator runs it."""

import asyncio
import sqlite3

import aiohttp
import pytest

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
    db.execute("INSERT INTO orgs (name, kind, path, created_at) VALUES ('祁东县', 'county', '/1/', '2026-01-01')")
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
