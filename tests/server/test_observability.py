"""JSON logs with request ids and no secrets; Prometheus metrics, also summed over worker processes."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import json
import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from models.users import User
from server.config import ConfigError
from server.runtime.observability import AccessLines, json_handler, metrics_allowlist, redact, scrape_allowed
from server.wechat.fake import CODE2SESSION_PATH, PHONE_PATH
from tests.support import ServiceProcess, run_cli, service_env

TASK_ROUTE = "/api/v1/tasks/<task_id:id>"
LOGIN = "/api/v1/auth/wechat-login"


class LogCapture:
    """What the service logged while the test ran, as the JSON lines production writes to stderr."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def of_request(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("request_id") == request_id]

    def access(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.of_request(request_id) if line["logger"] == "wenming.access"]


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """The production JSON handler on the root logger, at DEBUG so the ORM's SQL lines are in too."""
    capture = LogCapture()
    handler = json_handler(capture.stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(handler)
    root.setLevel(level)


async def scrape(api) -> str:
    reply = await api.call("GET", "/metrics")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("text/plain")
    return reply.body


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with these labels (0 when it does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


# -- logs --------------------------------------------------------------------------


async def test_every_line_is_json_and_carries_the_request_id_returned_in_the_header(api, logs):
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code()})
    assert reply.status == 200
    request_id = reply.headers["X-Request-Id"]
    lines = logs.lines()  # raises if any line is not JSON
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(line["timestamp"].endswith("Z") for line in lines)
    mine = logs.of_request(request_id)
    # The ORM's statements of that request carry its id without being told.
    assert any(line["logger"].startswith("tortoise") for line in mine)
    assert any(line["logger"] == "wenming.access" for line in mine)


async def test_the_wechat_client_logs_under_the_request_id(api, logs):
    token, _ = await api.login()
    api.wechat.fail_next(PHONE_PATH, 40001)  # a refused access token: the client logs the refresh
    reply = await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": api.wechat.issue_phone_code()})
    assert reply.status == 200
    wechat_lines = [line for line in logs.lines() if line["logger"] == "wenming.wechat"]
    assert wechat_lines
    assert {line.get("request_id") for line in wechat_lines} == {reply.headers["X-Request-Id"]}


async def test_one_access_line_per_request_with_the_route_template(api, logs):
    token, _ = await api.login()
    reply = await api.call("GET", "/api/v1/tasks/987654?code=from-a-query", token=token)
    assert reply.status == 404
    (line,) = logs.access(reply.headers["X-Request-Id"])
    assert line["route"] == TASK_ROUTE
    assert (line["method"], line["status"], line["client_ip"]) == ("GET", 404, "127.0.0.1")
    assert isinstance(line["duration_ms"], float)
    raw = next(text for text in logs.text.splitlines() if reply.headers["X-Request-Id"] in text and "access" in text)
    assert "987654" not in raw and "from-a-query" not in raw and token not in raw


async def test_an_unknown_path_is_logged_without_its_path(api, logs):
    reply = await api.call("GET", "/wp-admin/secret-123/setup.php")
    (line,) = logs.access(reply.headers["X-Request-Id"])
    assert (line["route"], line["status"]) == ("<unmatched>", 404)
    assert "secret-123" not in logs.text


async def test_sign_in_and_phone_binding_leave_no_secret_in_the_logs(api, logs):
    login_code = api.wechat.issue_code("o-observed")
    signed_in = await api.call("POST", LOGIN, json={"code": login_code})
    token = signed_in.body["token"]
    api.wechat.fail_next(PHONE_PATH, 40001)  # makes the client log a token refresh too
    phone_code = api.wechat.issue_phone_code("13912345678")
    bound = await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": phone_code})
    assert bound.status == 200
    await api.call("GET", "/api/v1/me", token=token)

    user = await User.get(openid="o-observed")
    session_key = api.service.services.vault.decrypt(user.session_key_enc)
    access_tokens = [c.query["access_token"] for c in api.wechat.calls if "access_token" in c.query]
    secrets = [login_code, phone_code, token, session_key, "13912345678", api.wechat.secret, *access_tokens]
    assert len(logs.access(signed_in.headers["X-Request-Id"])) == 1  # the flow was logged
    assert logs.of_request(bound.headers["X-Request-Id"])
    for secret in secrets:
        assert secret not in logs.text


def test_redaction_masks_phones_tokens_and_codes():
    text = (
        "GET /sns/jscode2session?appid=wx1&js_code=0a3Xyz&secret=s3 code=abc access_token=TOK "
        'Authorization: Bearer tok.en-1 {"session_key": "c2Vzc2lvbg=="} tel 13800138000 +8613912345678'
    )
    redacted = redact(text)
    for secret in ("0a3Xyz", "s3 ", "abc", "TOK", "tok.en-1", "c2Vzc2lvbg==", "13800138000", "13912345678"):
        assert secret not in redacted
    assert "138****8000" in redacted and "errcode=40029" in redact("errcode=40029")
    assert redact("request 1f2e13812345678abc") == "request 1f2e13812345678abc"  # hex ids stay whole


def test_redaction_covers_extras_and_tracebacks():
    capture = LogCapture()
    logger = logging.getLogger("wenming.test.redaction")
    handler = json_handler(capture.stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError("bad answer for js_code=0a3Xyz and phone 13700001111")
        except ValueError:
            logger.exception(
                "call failed for %s",
                "13800138000",
                extra={"url": "https://x/?access_token=TOK", "headers": {"Authorization": "Bearer abc"}, "code": "c"},
            )
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    (line,) = capture.lines()
    assert line["message"] == "call failed for 138****8000"
    assert line["url"] == "https://x/?access_token=[redacted]"
    assert line["headers"] == {"Authorization": "[redacted]"}
    assert line["code"] == "[redacted]"
    assert "0a3Xyz" not in line["exception"] and "137****1111" in line["exception"]


class CountingStream(io.StringIO):
    """A stream that counts the writes it was given."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_the_quick_access_line_is_the_line_logging_would_write_and_one_write_per_loop_turn():
    fields = {"method": "GET", "route": "/api/v1/tasks", "status": 200, "duration_ms": 1.5}
    by_logging, quick = CountingStream(), CountingStream()
    root, access = logging.getLogger(), logging.getLogger("wenming.access")
    saved = root.handlers[:]
    try:
        # Through logging: another handler beside the JSON one (as pytest's own capture is here).
        root.handlers[:] = [json_handler(by_logging), logging.NullHandler()]
        AccessLines().write("GET /api/v1/tasks 200", {**fields, "request_id": "r-1", "client_ip": "10.0.0.7"})
        # The quick way: the JSON handler alone, as every process of the service sets it up.
        root.handlers[:] = [json_handler(quick)]
        lines = AccessLines()
        for n in (1, 2, 3):
            lines.write("GET /api/v1/tasks 200", {**fields, "request_id": f"r-{n}", "client_ip": "10.0.0.7"})
        assert quick.getvalue() == ""  # not before the loop's turn ends
        await asyncio.sleep(0)
    finally:
        root.handlers[:] = saved
    assert access.level == logging.NOTSET
    (logged,) = [json.loads(line) for line in by_logging.getvalue().splitlines()]
    written = [json.loads(line) for line in quick.getvalue().splitlines()]
    assert quick.writes == 1 and [line["request_id"] for line in written] == ["r-1", "r-2", "r-3"]
    assert list(written[0]) == list(logged)  # the same fields in the same order
    for key in ("timestamp", "pid"):
        assert type(written[0][key]) is type(logged[key])
    assert {k: v for k, v in written[0].items() if k != "timestamp"} == {
        k: v for k, v in logged.items() if k != "timestamp"
    }
    assert written[0]["timestamp"][:16] == logged["timestamp"][:16] and written[0]["timestamp"].endswith("Z")
    assert len(written[0]["timestamp"]) == len(logged["timestamp"]) == len("2026-12-07T06:50:01.123Z")


def test_configure_logging_writes_json_lines_to_stderr():
    script = (
        "import logging; from server.runtime.observability import configure_logging; configure_logging();"
        "logging.getLogger('wenming.x').info('bound %s', '13800138000', extra={'user_id': 7});"
        "logging.getLogger('sanic.server').info('Starting worker');"
        "logging.getLogger('wenming.x').debug('not at INFO')"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert done.stdout == ""
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("wenming.x", "bound 138****8000"),
        ("sanic.server", "Starting worker"),
    ]
    assert lines[0]["user_id"] == 7 and lines[0]["level"] == "INFO"


async def test_an_unknown_log_level_stops_serve_with_one_line(database_url, wechat):
    env = service_env(database_url, wechat, WENMING_LOG_LEVEL="LOUD")
    status, _, err = await run_cli("serve", "--port", "1", env=env)
    assert status == 1
    assert err.strip().startswith("wenming: error: WENMING_LOG_LEVEL")


# -- metrics -----------------------------------------------------------------------


async def test_requests_are_counted_and_timed_by_route_method_and_status(api):
    before = await scrape(api)
    for _ in range(3):
        assert (await api.call("GET", "/healthz")).status == 200
    after = await scrape(api)
    labels = {"route": "/healthz", "method": "GET"}
    count = "wenming_http_requests_total"
    assert sample(after, count, **labels, status="200") - sample(before, count, **labels, status="200") == 3
    latency = "wenming_http_request_duration_seconds"
    assert sample(after, f"{latency}_count", **labels) - sample(before, f"{latency}_count", **labels) == 3
    assert sample(after, f"{latency}_bucket", **labels, le="+Inf") == sample(after, f"{latency}_count", **labels)


async def test_metric_labels_are_route_templates_not_paths(api):
    token, _ = await api.login()
    before = await scrape(api)
    assert (await api.call("GET", "/api/v1/tasks/987654", token=token)).status == 404
    after = await scrape(api)
    labels = {"route": TASK_ROUTE, "method": "GET", "status": "404"}
    assert (
        sample(after, "wenming_http_requests_total", **labels)
        == sample(before, "wenming_http_requests_total", **labels) + 1
    )
    assert "987654" not in after


async def test_the_in_flight_gauge_sees_the_scrape_itself(api):
    for _ in range(3):
        await api.call("GET", "/healthz")
    assert sample(await scrape(api), "wenming_http_requests_in_flight") == 1


async def test_a_request_whose_client_left_is_settled(api, logs):
    api.wechat.delay(CODE2SESSION_PATH, 1.0)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(api.call("POST", LOGIN, json={"code": api.wechat.issue_code()}), 0.3)
    for _ in range(50):
        gone = [line for line in logs.lines() if line["logger"] == "wenming.access" and line["route"] == LOGIN]
        if gone:
            break
        await asyncio.sleep(0.05)
    assert [line["status"] for line in gone] == [499]
    assert sample(await scrape(api), "wenming_http_requests_in_flight") == 1


async def test_wechat_calls_are_counted_by_api_and_outcome(api):
    labels = {"api": CODE2SESSION_PATH}
    before = await scrape(api)
    await api.login()
    after = await scrape(api)
    calls = "wenming_wechat_calls_total"
    assert sample(after, calls, **labels, outcome="ok") == sample(before, calls, **labels, outcome="ok") + 1
    latency = "wenming_wechat_call_duration_seconds_count"
    assert sample(after, latency, **labels) == sample(before, latency, **labels) + 1


async def test_a_failing_wechat_call_is_counted_under_its_errcode(api):
    labels = {"api": CODE2SESSION_PATH, "outcome": "-1"}
    before = sample(await scrape(api), "wenming_wechat_calls_total", **labels)
    api.wechat.fail_next(CODE2SESSION_PATH, -1, times=5)
    reply = await api.call("POST", LOGIN, json={"code": api.wechat.issue_code()})
    assert reply.status == 503
    assert sample(await scrape(api), "wenming_wechat_calls_total", **labels) > before


async def test_metrics_are_refused_through_an_unverified_proxy(api):
    reply = await api.call("GET", "/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert reply.status == 403
    assert reply.body["error"]["code"] == "forbidden"
    assert reply.headers["X-Request-Id"]


async def test_metrics_are_documented_as_an_open_route_that_may_refuse(api):
    spec = (await api.call("GET", "/docs/openapi.json")).body
    op = spec["paths"]["/metrics"]["get"]
    assert "403" in op["responses"] and "security" not in op


def test_only_allowed_networks_may_scrape():
    default = metrics_allowlist({})
    assert scrape_allowed("127.0.0.1", default)
    assert scrape_allowed("::1", default)
    assert scrape_allowed("::ffff:127.0.0.1", default)
    assert not scrape_allowed("10.1.2.3", default)
    assert not scrape_allowed("", default)
    assert not scrape_allowed("127.0.0.1", default, unverified_forwarding=True)
    office = metrics_allowlist({"WENMING_METRICS_ALLOW": "10.0.0.0/8, 192.168.1.5"})
    assert office == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.1.5/32"))
    assert scrape_allowed("10.1.2.3", office) and not scrape_allowed("127.0.0.1", office)


def test_a_bad_allow_list_is_a_config_error():
    with pytest.raises(ConfigError, match="WENMING_METRICS_ALLOW"):
        metrics_allowlist({"WENMING_METRICS_ALLOW": "10.0.0.0/8,not-a-network"})


class ServiceLog:
    """The JSON lines of a running `wenming serve`, read from its stderr as they come."""

    def __init__(self, svc: ServiceProcess) -> None:
        self.svc = svc
        self.lines: list[dict[str, Any]] = []

    def answered_by(self, route: str) -> Counter[int]:
        """How many requests to ``route`` each worker (pid) answered so far."""
        return Counter(line["pid"] for line in self.lines if line.get("route") == route)

    async def wait_ready(self, workers: int) -> None:
        while len({x["pid"] for x in self.lines if x["message"].startswith("Worker ready")}) < workers:
            await self._read()

    async def wait_answered(self, route: str, count: int) -> None:
        while self.answered_by(route).total() < count:
            await self._read()

    async def _read(self) -> None:
        await self.svc.wait_stderr(len(self.lines) + 1)
        self.lines.append(json.loads(self.svc.stderr_lines[len(self.lines)]))


async def test_two_workers_report_the_same_totals(database_url, wechat, redis_url):
    """`wenming serve --workers 2`: whichever worker answers /metrics, it counts both workers' requests."""
    # INFO: the test reads the workers' access lines.
    env = service_env(database_url, wechat, WENMING_REDIS_URL=redis_url, WENMING_LOG_LEVEL="INFO")
    assert (await run_cli("migrate", env=env))[0] == 0
    labels = {"route": "/readyz", "method": "GET", "status": "200"}

    async def get(url: str) -> tuple[int, str]:
        # A fresh connection per call: the kernel spreads connections over the workers (in streaks).
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            return resp.status, await resp.text()

    async with ServiceProcess(env, workers=2) as svc:
        log = ServiceLog(svc)
        await log.wait_ready(2)  # the service answers as soon as one worker listens
        sent = 0
        while sent < 40 or len(log.answered_by("/readyz")) < 2:
            assert sent < 400, f"one worker took every request: {log.answered_by('/readyz')}"
            answers = await asyncio.gather(*(get(f"{svc.base_url}/readyz") for _ in range(20)))
            assert {status for status, _ in answers} == {200}
            sent += 20
            await log.wait_answered("/readyz", sent)
        totals = []
        while len(log.answered_by("/metrics")) < 2:
            assert len(totals) < 100, "one worker answered every scrape"
            totals.append(sample((await get(f"{svc.base_url}/metrics"))[1], "wenming_http_requests_total", **labels))
            await log.wait_answered("/metrics", len(totals))
    assert set(totals) == {float(sent)}


async def test_without_the_access_line_the_route_goes_to_nginx_and_the_metrics_still_count(database_url, wechat):
    """`WENMING_ACCESS_LOG=0`: no access line from the worker; X-Route for nginx's line; /metrics as before."""
    env = service_env(database_url, wechat, WENMING_LOG_LEVEL="INFO", WENMING_ACCESS_LOG="0")
    assert (await run_cli("migrate", env=env))[0] == 0
    async with ServiceProcess(env) as svc, aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(f"{svc.base_url}/readyz", headers={"X-Request-Id": "no-access-line-1"}) as resp:
                assert resp.status == 200
                assert resp.headers["X-Route"] == "/readyz"
                assert resp.headers["X-Request-Id"] == "no-access-line-1"
        async with session.get(f"{svc.base_url}/metrics") as resp:
            text = await resp.text()
    assert sample(text, "wenming_http_requests_total", route="/readyz", method="GET", status="200") == 3.0
    lines = [json.loads(line) for line in svc.stderr_lines]
    assert any(line["message"].startswith("Worker ready") for line in lines), "the worker's INFO lines are read"
    assert not [line for line in lines if line["logger"] == "wenming.access"]


async def test_a_request_id_that_looks_like_a_phone_number_is_not_echoed(api):
    reply = await api.call("GET", "/healthz", headers={"X-Request-Id": "13812345678"})
    assert reply.headers["X-Request-Id"] != "13812345678"
    assert len(reply.headers["X-Request-Id"]) == 32


def test_request_ids_are_unique_and_a_forked_child_draws_its_own():
    from server.web import lifecycle

    ids = [lifecycle._new_request_id() for _ in range(1000)]
    assert len(set(ids)) == 1000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and leaves at once
        os.write(write, lifecycle._new_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    theirs = os.read(read, 64).decode()
    os.close(read)
    assert len(theirs) == 32 and theirs[:16] != ids[0][:16]
