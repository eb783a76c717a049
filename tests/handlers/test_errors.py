"""Every failure, ours or the framework's, in the contract's error shape."""

import re
import sqlite3

import aiohttp
import pytest

from server.kernel.pagination import encode_cursor
from tests.support import ServiceProcess, run_cli, service_env


def assert_error_shape(reply, status, code):
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith("application/json")
    assert set(reply.body) == {"error"}
    assert reply.body["error"]["code"] == code
    assert isinstance(reply.body["error"]["message"], str) and reply.body["error"]["message"]


async def test_unknown_route_is_404(api):
    assert_error_shape(await api.call("GET", "/api/v1/no-such-thing"), 404, "not_found")


async def test_unknown_route_outside_api_is_404(api):
    assert_error_shape(await api.call("GET", "/wp-login.php"), 404, "not_found")


async def test_wrong_method_is_405(api):
    assert_error_shape(await api.call("DELETE", "/api/v1/auth/wechat-login"), 405, "method_not_allowed")


async def test_body_too_large_is_413(api):
    huge = b'{"code": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    reply = await api.call("POST", "/api/v1/auth/wechat-login", data=huge, headers={"Content-Type": "application/json"})
    assert_error_shape(reply, 413, "payload_too_large")


async def test_empty_body_is_400(api):
    reply = await api.call("POST", "/api/v1/auth/wechat-login", data=b"")
    assert_error_shape(reply, 400, "invalid_request")


async def test_non_utf8_body_is_400(api):
    reply = await api.call(
        "POST",
        "/api/v1/auth/wechat-login",
        data=b"\xff\xfe\x00",
        headers={"Content-Type": "application/json"},
    )
    assert_error_shape(reply, 400, "invalid_request")


async def test_non_numeric_id_in_path_is_404(api):
    token, _ = await api.person("admin")
    assert_error_shape(await api.call("PATCH", "/api/v1/users/abc", token=token, json={}), 404, "not_found")


async def test_validation_error_names_fields(api):
    token, _ = await api.login()
    reply = await api.call("PATCH", "/api/v1/me", token=token, json={"nickname": 5, "bogus": 1})
    assert_error_shape(reply, 400, "invalid_request")
    assert set(reply.body["error"]["details"]["fields"]) == {"nickname", "bogus"}


async def test_unexpected_failure_is_500_without_leaking(database_url, wechat, tmp_path):
    """A broken database (a dropped table) answers 500 internal_error with no SQL or stack."""
    db = f"sqlite://{tmp_path / 'broken.sqlite3'}"
    env = service_env(db, wechat)
    env.pop("WENMING_REDIS_URL", None)
    assert (await run_cli("migrate", env=env))[0] == 0
    with sqlite3.connect(tmp_path / "broken.sqlite3") as conn:
        conn.execute("DROP TABLE auth_tokens")
    async with ServiceProcess(env) as svc, aiohttp.ClientSession() as session:
        async with session.post(f"{svc.base_url}/api/v1/auth/wechat-login", json={"code": wechat.issue_code()}) as resp:
            body = await resp.json()
            text = str(body)
            assert resp.status == 500
            assert body["error"]["code"] == "internal_error"
            assert resp.headers.get("X-Request-Id")
    for leak in ("auth_tokens", "Traceback", "sqlite", "SELECT", "INSERT"):
        assert leak not in text


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs/openapi.json"])
async def test_root_routes_answer_without_token(api, path):
    assert (await api.call("GET", path)).status == 200


@pytest.mark.parametrize("path", ["/api/v1/tasks/2147483648", "/api/v1/campaigns/9999999999", "/api/v1/tasks/0"])
async def test_ids_out_of_range_in_path_are_404(api, path):
    token, _ = await api.login()
    assert_error_shape(await api.call("GET", path, token=token), 404, "not_found")


async def test_out_of_range_cursor_is_400(api):
    token, _ = await api.login()
    reply = await api.call("GET", f"/api/v1/tasks?cursor={encode_cursor(2**31)}", token=token)
    assert_error_shape(reply, 400, "invalid_request")
    assert "cursor" in reply.body["error"]["details"]["fields"]


@pytest.mark.parametrize("depth", [1000, 5000])
async def test_deeply_nested_body_is_400(api, depth):
    """Nesting is refused before anything walks the body recursively (orjson itself stops at 1024)."""
    body = b'{"code": ' + b"[" * depth + b"]" * depth + b"}"
    reply = await api.call("POST", "/api/v1/auth/wechat-login", data=body, headers={"Content-Type": "application/json"})
    assert_error_shape(reply, 400, "invalid_request")


# -- what a person reads: Chinese reasons, filed under the field they are about ----------------

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"Input should|Value error|should be|valid |unable to| or |Field required")


def assert_chinese_reasons(reply, fields: set[str]) -> dict[str, str]:
    """400 invalid_request naming exactly ``fields``, each with a Chinese reason and no pydantic English."""
    assert_error_shape(reply, 400, "invalid_request")
    reasons = reply.body["error"]["details"]["fields"]
    assert set(reasons) == fields, reasons
    for name, reason in reasons.items():
        assert CJK.search(reason) and not ENGLISH.search(reason), (name, reason)
    # The message alone (what a toast shows) says which field is wrong, and why.
    message = reply.body["error"]["message"]
    first = next(iter(reasons))
    assert f"{first}：{reasons[first]}" in message, message
    return reasons


CAMPAIGN = {"title": "t", "kind": "village_visit", "org_id": "1", "starts_at": "2030-01-01T00:00:00+08:00"}

BAD_BODIES = [
    # (role, path, body, fields it must name)
    ("admin", "/api/v1/campaigns", {**CAMPAIGN, "ends_at": "not a time"}, {"ends_at"}),
    ("admin", "/api/v1/campaigns", {**CAMPAIGN, "ends_at": "2030-02-30T00:00:00+08:00"}, {"ends_at"}),
    ("admin", "/api/v1/campaigns", {**CAMPAIGN, "kind": "party", "ends_at": "2031-01-01"}, {"kind"}),
    ("admin", "/api/v1/campaigns", {**CAMPAIGN, "title": "长" * 101, "ends_at": "2031-01-01"}, {"title"}),
    ("admin", "/api/v1/campaigns", {**CAMPAIGN, "ends_at": "1999-12-31"}, {"ends_at"}),
    ("admin", "/api/v1/campaigns", {"title": "t"}, {"kind", "org_id", "starts_at", "ends_at"}),
    ("volunteer", "/api/v1/auth/wechat-login", {"code": 5}, {"code"}),
    ("volunteer", "/api/v1/auth/wechat-login", {"code": ""}, {"code"}),
    ("admin", "/api/v1/submissions/1/review", {"decision": "maybe"}, {"decision"}),
    ("admin", "/api/v1/review/batch", {"decision": "approve", "ids": []}, {"ids"}),
    ("volunteer", "/api/v1/tasks/1/submissions", {"media_ids": [], "text": "t", "lat": 30.0}, {"lng"}),
    ("volunteer", "/api/v1/tasks/1/submissions", {"media_ids": [], "text": "t", "lng": 120.0}, {"lat"}),
    ("volunteer", "/api/v1/tasks/1/submissions", {"media_ids": ["1", "1"], "text": "t"}, {"media_ids"}),
    ("volunteer", "/api/v1/tasks/1/submissions", {"media_ids": [], "text": "t", "lat": 91, "lng": 0}, {"lat"}),
    ("volunteer", "/api/v1/tasks/1/checkin", {"lat": 30.0}, {"lng"}),
    ("volunteer", "/api/v1/tasks/1/checkin", {}, {"lat", "lng"}),
    ("volunteer", "/api/v1/tasks/1/checkin", {"lat": "north", "lng": 120}, {"lat"}),
    ("volunteer", "/api/v1/me", {"leaderboard_visible": "yes"}, {"leaderboard_visible"}),
]


@pytest.mark.parametrize(("role", "path", "body", "fields"), BAD_BODIES)
async def test_field_errors_are_chinese_and_name_the_field(api, role, path, body, fields):
    token, _ = await api.person(role)
    method = "PATCH" if path == "/api/v1/me" else "POST"
    assert_chinese_reasons(await api.call(method, path, token=token, json=body), fields)


async def test_choices_are_listed_in_chinese(api):
    token, _ = await api.person("admin")
    reply = await api.call("POST", "/api/v1/submissions/1/review", token=token, json={"decision": "maybe"})
    reason = assert_chinese_reasons(reply, {"decision"})["decision"]
    assert "approve" in reason and "reject" in reason and "'" not in reason


@pytest.mark.parametrize(
    ("query", "field"), [("from=2026-12-10&to=2026-12-01", "to"), ("from=2026-13-01", "from"), ("to=x", "to")]
)
async def test_report_dates_are_named_as_sent(api, query, field):
    token, _ = await api.person("admin")
    reply = await api.call("GET", f"/api/v1/reports/participation.csv?{query}", token=token)
    assert_chinese_reasons(reply, {field})


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "text/plain"]
)
async def test_a_form_body_on_a_json_route_says_to_send_json(api, content_type):
    reply = await api.call(
        "POST", "/api/v1/auth/wechat-login", data=b"code=abc", headers={"Content-Type": content_type}
    )
    assert_error_shape(reply, 400, "invalid_request")
    assert "application/json" in reply.body["error"]["message"]
