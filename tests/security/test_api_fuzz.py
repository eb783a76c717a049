"""Fuzzing the API against its own OpenAPI document, signed in as a volunteer and as staff.

Schemathesis reads ``/docs/openapi.json`` from the running service and, for every operation,
generates requests that follow the document (and, fewer, requests that break it), sends them
over loopback and checks each answer: never a 5xx, a status the document lists for the
operation, a content type it lists, and a body that matches the documented schema (the error
shape ``{"error": {"code", "message", "details"?}}`` included). Every problem found in a run is
reported at once, each with a curl line to reproduce it.

The run is bounded and repeatable: a fixed seed per operation, a fixed number of examples, no
example database, no shrinking. It runs in a worker thread: the service lives on this test's
event loop, which must keep serving while the fuzzer waits for answers.

Path parameters are drawn from the ids of a seeded world (the one the authorization matrix
builds, plus a few objects for the routes that use their object up) and one id that names
nothing, so the routes get past their 404 and reach their real work; half the positive bodies
get real ids, a time window that fits and the task's spot where a fuzzer would never guess them.

Nothing is left out. Routes that would end the pass are called with tokens of their own: sign-out
with another session of the same person, erasure (DELETE /me) as someone new each time. The
WeChat push routes need a signature the fuzzer cannot make, so they answer 403, which must still
be the documented error. Binary answers (QR code, certificate, reports, photos, metrics) are
checked for status and content type; their bytes have no schema.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from models.messages import MOVES
from models.users import User, issue_token, sign_in_wechat
from tests.conftest import RUN_LOG, Api
from tests.factories import SPOT, campaign_body, iso, make_campaign, make_task, org_tree
from tests.security.test_authz_matrix import (
    World,
    a_claim,
    a_quiz_attempt,
    a_request,
    build_world,
    handed_to,
    online_work,
    two_questions,
)

# CI runs the fixed seed and counts below. To dig deeper locally, change them for a run:
#   WENMING_FUZZ_SEED=7 WENMING_FUZZ_EXAMPLES=200 pytest tests/security/test_api_fuzz.py
SEED = int(os.environ.get("WENMING_FUZZ_SEED", "20240611"))
# Examples per operation and role: enough to reach each route's main branches, few enough that
# one role's pass takes well under a minute on a 2-core machine.
POSITIVE = int(os.environ.get("WENMING_FUZZ_EXAMPLES", "30"))
EXAMPLES = {GenerationMode.POSITIVE: POSITIVE, GenerationMode.NEGATIVE: max(1, POSITIVE // 3)}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MISSING_ID = "2000000000"  # a well-formed id no row has
# Routes of a submission's reach and reposts: online work of the world's own (and one that is not online).
ONLINE_ROUTES = (
    ("POST", "/api/v1/submissions/{submission_id}/reach"),
    ("GET", "/api/v1/submissions/{submission_id}/reach"),
    ("POST", "/api/v1/submissions/{submission_id}/repost"),
    ("GET", "/api/v1/submissions/{submission_id}/reposts"),
)
REQUEST_TIMEOUT_S = 30
TOKEN_TTL_S = 3600


# -- what the fuzzer calls, and with which ids ----------------------------------------


@dataclass
class Target:
    """The world seen from one role: its token, its objects, and fresh tokens for the routes that end one."""

    role: str
    world: World
    loop: asyncio.AbstractEventLoop
    extra: dict[str, str] = field(default_factory=dict)
    people: int = 0  # made for DELETE /me so far

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the service's loop from the fuzzer's thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def token_for(self, method: str, path: str) -> str:
        if (method, path) == ("POST", "/api/v1/auth/logout"):
            # Another session of the same person: the pass's own token must keep working.
            return self.run(self._fresh_token(new_person=False))
        if (method, path) == ("DELETE", "/api/v1/me"):
            # Erasure ends the person: someone new of the same role and org each time.
            return self.run(self._fresh_token(new_person=True))
        token = self.world.tokens[self.role]
        assert token is not None
        return token

    async def _fresh_token(self, *, new_person: bool) -> str:
        """Made as sign-in makes them, minus the HTTP round trip and its per-address rate limit."""
        if new_person:
            self.people += 1
            user, _ = await sign_in_wechat(f"fuzz-{self.role}-{self.people}", None, "")
            await User.filter(id=user.id).update(role=self.role, org_id=self.world.orgs[self.role])
        else:
            user = await User.get(id=self.world.ids[self.role])
        token = await issue_token(user, TOKEN_TTL_S)
        RUN_LOG.secrets.add(token)  # the whole run's log check looks for these too
        return token

    def path_values(self, method: str, path: str, name: str) -> list[str]:
        """Real ids for a path parameter (and one that names nothing); empty: let the fuzzer make them up."""
        v = self.world.values | self.extra
        own = {
            # Routes that use their object up get objects of their own, so the rest keep theirs.
            ("POST", "/api/v1/campaigns/{campaign_id}/close"): [v["spare_campaign_id"]],
            ("POST", "/api/v1/campaigns/{campaign_id}/publish"): [v["spare_draft_id"], v["campaign_id"]],
            ("POST", "/api/v1/tasks/{task_id}/cancel"): [v["spare_task_id"]],
            ("DELETE", "/api/v1/tasks/{task_id}/enroll"): [v["withdraw_task_id"]],
            ("POST", "/api/v1/tasks/{task_id}/checkout"): [v["checkout_task_id"], v["checkin_task_id"]],
            ("POST", "/api/v1/org-requests/{request_id}/approve"): [v["approve_request_id"]],
            ("POST", "/api/v1/org-requests/{request_id}/refuse"): [v["refuse_request_id"]],
            ("DELETE", "/api/v1/questions/{question_id}"): [v["spare_question_id"]],
            **{key: [v["volunteer_online_id"], v["owner_online_id"], v["submission_id"]] for key in ONLINE_ROUTES},
            # A move may take a message away from the east (returned, handed on): the moves get one
            # of their own, so reading it keeps the two it is given.
            **{("POST", f"/api/v1/messages/{{message_id}}/{action}"): [v["moved_message_id"]] for action in MOVES},
        }
        by_name = {
            "campaign_id": [v["campaign_id"], v["draft_campaign_id"]],
            "task_id": [v["task_id"], v["checkin_task_id"], v["draft_task_id"], v["quiz_task_id"]],
            "attempt_id": [v["attempt_id"]],
            "account_id": [v["account_id"], v["volunteer_account_id"]],
            "question_id": [v["question_id"]],
            "submission_id": [v["submission_id"], v["volunteer_submission_id"]],
            "user_id": [v["user_id"], str(self.world.ids["volunteer"])],
            # The staff's own township (its certificate signer), and a village below it.
            "org_id": [str(self.world.tree.east.id), str(self.world.tree.east_village.id)],
            "serial": [v["serial"]] if "serial" in v else [],
            # The owner's and the volunteer's, both handed to the east township (the staff's).
            "message_id": [v["message_id"], v["volunteer_message_id"]],
            # To the east's members, and to its influencers only.
            "notice_id": [v["notice_id"], v["influencer_notice_id"]],
            # The owner's and the volunteer's make-up requests for a task of the east township.
            "hour_request_id": [v["hour_request_id"], v["volunteer_hour_request_id"]],
        }
        values = own.get((method, path), by_name.get(name, []))
        return [*values, MISSING_ID] if values and name != "serial" else values


async def seed_world(api: Api, role: str) -> Target:
    """The authorization matrix's world, plus objects for the routes that use theirs up."""
    w = await build_world(api)
    volunteer = w.tokens["volunteer"]
    checkin_task = await w.new_task(location=SPOT)
    withdraw_task = await w.new_task()
    checkout_task = await w.new_task(location=SPOT, checkin_required=True, checkout_required=True)
    for task_id in (checkin_task, withdraw_task, checkout_task):
        await w.enroll(volunteer, task_id)
    spot = {"lat": SPOT["lat"], "lng": SPOT["lng"]}
    reply = await api.call("POST", f"/api/v1/tasks/{checkout_task}/checkin", token=volunteer, json=spot)
    assert reply.status == 200, reply.body
    extra = {
        "checkin_task_id": checkin_task,
        "checkout_task_id": checkout_task,
        "withdraw_task_id": withdraw_task,
        "spare_task_id": await w.new_task(),
        "spare_campaign_id": await w.new_campaign(publish=True),
        "spare_draft_id": await w.new_campaign(publish=False),
        "photo_id": await w.photo(role),
        "approve_request_id": (await a_request(w))["request_id"],
        "refuse_request_id": (await a_request(w))["request_id"],
        "spare_question_id": (await two_questions(w))["question_id"],
    }
    account = {"platform": "bilibili", "handle": "volunteer-own"}
    claimed = await api.call("POST", "/api/v1/me/accounts", token=volunteer, json=account)
    extra["volunteer_account_id"] = claimed.body["id"]
    online = await online_work(w)  # approved online work of the owner and the volunteer
    extra.update(owner_online_id=online["submission_id"], volunteer_online_id=online["volunteer_submission_id"])
    quiz = await a_quiz_attempt(w)  # the volunteer's open attempt at a quiz task
    extra.update(quiz_task_id=quiz["task_id"], attempt_id=quiz["attempt_id"], question_id=quiz["question_id"])
    made_up = await w.new_task(title="补录用的任务")
    extra["hour_task_id"] = await w.new_task(title="再补录用的任务")
    for name, token in (("hour_request_id", w.owner[0]), ("volunteer_hour_request_id", volunteer)):
        claimed = await api.call("POST", "/api/v1/hour-requests", token=token, json=a_claim(made_up))
        extra[name] = claimed.body["id"]
    extra["moved_message_id"] = await handed_to(api, w.values["county_token"], w.owner[0], w.tree.east.id)
    certificate = await api.call("GET", "/api/v1/me/certificate.png", token=volunteer)
    if certificate.status == 200:  # 503 where the machine lacks a CJK font: the serial is then made up
        extra["serial"] = certificate.headers["X-Certificate-Serial"]
    return Target(role, w, asyncio.get_running_loop(), extra)


def fuzzable(spec: dict[str, Any], target: Target) -> dict[str, Any]:
    """The served document, with each path parameter narrowed to the seeded world's ids."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                if param["in"] != "path":
                    continue
                values = target.path_values(method.upper(), path, param["name"])
                if values:
                    param["schema"] = {"type": "string", "enum": values}
    return spec


# -- the run -----------------------------------------------------------------------------


@dataclass
class Findings:
    problems: dict[tuple[str, str], str] = field(default_factory=dict)  # (operation, check) -> report
    statuses: dict[str, Counter[int]] = field(default_factory=dict)  # operation -> status counts

    def add(self, label: str, exc: FailureGroup) -> None:
        titles = ", ".join(sorted({failure.title for failure in exc.exceptions}))
        self.problems.setdefault((label, titles), str(exc))

    def saw(self, label: str, status: int) -> None:
        self.statuses.setdefault(label, Counter())[status] += 1


def operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


def fuzz(schema: Any, base_url: str, target: Target, findings: Findings) -> None:
    """Every operation, positive examples then negative ones; failures are collected, not raised."""
    with requests.Session() as session:
        for operation in operations(schema):
            for mode, examples in EXAMPLES.items():
                _fuzz_operation(operation, mode, examples, session, base_url, target, findings)


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    session: requests.Session,
    base_url: str,
    target: Target,
    findings: Findings,
) -> None:
    method, path = operation.method.upper(), operation.path
    label = f"{method} {path}"
    real_ids = REAL_IDS.get(label) if mode is GenerationMode.POSITIVE else None

    @seed(SEED ^ zlib.crc32(f"{label} {mode.value}".encode()))
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    def run(case: Any, real: bool) -> None:
        if real and real_ids is not None and isinstance(case.body, dict):
            real_ids(case.body, target)
        headers = {"Authorization": f"Bearer {target.token_for(method, path)}"}
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=REQUEST_TIMEOUT_S)
        findings.saw(label, response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as exc:
            findings.add(label, exc)

    try:
        run()
    except Unsatisfiable:
        # An operation without parameters or body has nothing to break: no negative examples.
        if mode is not GenerationMode.NEGATIVE:
            raise


# Values inside bodies that the fuzzer would hardly ever guess (ids of the world, a time window
# that fits, the task's spot): half the positive examples get them.
def _own_photos(body: dict[str, Any], target: Target) -> None:
    if "media_ids" in body:
        body["media_ids"] = [target.extra["photo_id"]]


def _reach_now(body: dict[str, Any], target: Target) -> None:
    """Counts as the fuzzer makes them, captured now (random times are mostly in the future)."""
    body["captured_at"] = iso()
    if "media_id" in body:
        body["media_id"] = target.extra["photo_id"]


def _official_page(body: dict[str, Any], target: Target) -> None:
    body["url"] = "https://www.example.gov.cn/art/2026/5/2/art_1.html"


def _own_avatar(body: dict[str, Any], target: Target) -> None:
    if "avatar_media_id" in body:
        body["avatar_media_id"] = target.extra["photo_id"]


def _made_up_hours(body: dict[str, Any], target: Target) -> None:
    """A task of the world's, times that fit it (random ones rarely do), the role's own photo."""
    body.update(a_claim(target.extra["hour_task_id"]))
    _own_photos(body, target)


def _real_submissions(body: dict[str, Any], target: Target) -> None:
    v = target.world.values
    if "ids" in body:
        body["ids"] = [v["submission_id"], v["volunteer_submission_id"], MISSING_ID]


def _real_org(body: dict[str, Any], target: Target) -> None:
    if "org_id" in body:
        body["org_id"] = str(target.world.tree.east_village.id)


def _to_the_east(body: dict[str, Any], target: Target) -> None:
    body["org_id"] = str(target.world.tree.east.id)
    body.pop("campaign_id", None)


def _under_east(body: dict[str, Any], target: Target) -> None:
    body["parent_id"] = str(target.world.tree.east.id)


def _this_week(body: dict[str, Any], target: Target) -> None:
    """A window inside the seeded campaign's (ten days ago to a month on): random ones rarely are."""
    if "starts_at" in body or "ends_at" in body:
        body["starts_at"], body["ends_at"] = iso(-timedelta(hours=1)), iso(timedelta(days=7))


def _around_its_tasks(body: dict[str, Any], target: Target) -> None:
    """The seeded campaign's own window: new dates must still hold every task (each runs this week)."""
    if "starts_at" in body or "ends_at" in body:
        body["starts_at"], body["ends_at"] = iso(-timedelta(days=10)), iso(timedelta(days=30))


def _new_campaign(body: dict[str, Any], target: Target) -> None:
    _real_org(body, target)
    _this_week(body, target)


def _at_the_spot(body: dict[str, Any], target: Target) -> None:
    body.pop("scene", None)
    body["lat"], body["lng"] = SPOT["lat"], SPOT["lng"]


REAL_IDS: dict[str, Callable[[dict[str, Any], Target], None]] = {
    "POST /api/v1/tasks/{task_id}/submissions": _own_photos,
    "POST /api/v1/tasks/{task_id}/checkin": _at_the_spot,
    "POST /api/v1/tasks/{task_id}/checkout": _at_the_spot,
    "POST /api/v1/submissions/{submission_id}/reach": _reach_now,
    "POST /api/v1/submissions/{submission_id}/repost": _official_page,
    "PATCH /api/v1/me": _own_avatar,
    "POST /api/v1/review/batch": _real_submissions,
    "POST /api/v1/hour-requests": _made_up_hours,
    "POST /api/v1/campaigns": _new_campaign,
    "PATCH /api/v1/campaigns/{campaign_id}": _around_its_tasks,
    "POST /api/v1/campaigns/{campaign_id}/tasks": _this_week,
    "PATCH /api/v1/tasks/{task_id}": _this_week,
    "POST /api/v1/orgs": _under_east,
    "POST /api/v1/notices": _to_the_east,
    "POST /api/v1/questions": _real_org,
    "PATCH /api/v1/users/{user_id}": _real_org,
}


def report(findings: Findings) -> str:
    return "\n\n".join(f"== {label} [{check}]\n{text}" for (label, check), text in sorted(findings.problems.items()))


# Routes that must have answered 2xx at least once in a role's pass: if the seeded ids stop
# fitting (everything 404 or 400), the fuzzer would only be knocking on doors.
REACHED = {
    "volunteer": (
        "GET /api/v1/campaigns/{campaign_id}",
        "GET /api/v1/tasks/{task_id}",
        "POST /api/v1/tasks/{task_id}/enroll",
        "POST /api/v1/tasks/{task_id}/submissions",
        "POST /api/v1/media",
        "PATCH /api/v1/me",
        "POST /api/v1/tasks/{task_id}/quiz/attempts",
        "GET /api/v1/quiz-attempts/{attempt_id}",
        "POST /api/v1/me/accounts",
        "GET /api/v1/me/accounts",
        "POST /api/v1/submissions/{submission_id}/reach",
        "GET /api/v1/submissions/{submission_id}/reach",
        "GET /api/v1/calendar/{year}",
        "POST /api/v1/messages",
        "GET /api/v1/messages/{message_id}",
        "GET /api/v1/notices/{notice_id}",
        "POST /api/v1/notices/{notice_id}/read",
        "POST /api/v1/hour-requests",
        "GET /api/v1/hour-requests/{hour_request_id}",
        "POST /api/v1/tasks/{task_id}/checkout",
    ),
    "staff": (
        "PATCH /api/v1/campaigns/{campaign_id}",
        "POST /api/v1/campaigns/{campaign_id}/close",
        "PATCH /api/v1/tasks/{task_id}",
        "GET /api/v1/tasks/{task_id}/enrollments",
        "GET /api/v1/tasks/{task_id}/qrcode",
        "GET /api/v1/tasks/{task_id}/enrollments.xlsx",
        "PATCH /api/v1/users/{user_id}",
        "GET /api/v1/orgs/{org_id}/certificate",
        "POST /api/v1/review/batch",
        "GET /api/v1/reports/participation.xlsx",
        "GET /api/v1/reports/messages.xlsx",
        "GET /api/v1/org-requests",
        "POST /api/v1/org-requests/{request_id}/approve",
        "GET /api/v1/tasks/{task_id}/quiz/stats",
        "GET /api/v1/accounts",
        "POST /api/v1/accounts/{account_id}/verify",
        "POST /api/v1/submissions/{submission_id}/repost",
        "GET /api/v1/submissions/{submission_id}/reposts",
        "GET /api/v1/messages/{message_id}",
        "POST /api/v1/notices",
        "GET /api/v1/notices/{notice_id}/stats",
        "GET /api/v1/hour-requests/{hour_request_id}",
        "POST /api/v1/hour-requests/{hour_request_id}/review",
    ),
}


async def test_the_document_is_valid_openapi(api: Api) -> None:
    """The served document passes the OpenAPI 3.0 meta-schema (what it declares), so tools can read it."""
    spec = (await api.call("GET", "/docs/openapi.json")).body
    assert spec["openapi"].startswith("3.0.")
    schemathesis.openapi.from_dict(spec).validate()


async def test_every_operation_documents_the_errors_any_route_of_its_kind_can_answer(api: Api) -> None:
    """400 and 503 everywhere, 401 when signed in, 404 with a path parameter, always in the error shape."""
    spec = (await api.call("GET", "/docs/openapi.json")).body
    error_shape = {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            expected = {"400", "503"}
            if operation.get("security"):
                expected.add("401")
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                expected.add("404")
            responses = operation["responses"]
            missing += [f"{method.upper()} {path}: {code}" for code in sorted(expected - responses.keys())]
            missing += [
                f"{method.upper()} {path}: {code} not in the error shape"
                for code, answer in responses.items()
                if int(code) >= 400 and answer.get("content") != {"application/json": error_shape}
            ]
    assert not missing


@pytest.mark.parametrize("role", sorted(REACHED))
async def test_every_answer_is_in_the_spec(api: Api, role: str) -> None:
    """No 5xx, and every status, content type and body as the document says, for everything the role may try."""
    target = await seed_world(api, role)
    spec = (await api.call("GET", "/docs/openapi.json")).body
    schema = schemathesis.openapi.from_dict(fuzzable(spec, target))
    findings = Findings()
    await asyncio.to_thread(fuzz, schema, api.service.base_url, target, findings)
    if findings.problems:
        pytest.fail(f"{len(findings.problems)} kinds of answers outside the spec:\n\n{report(findings)}", pytrace=False)
    unreached = [label for label in REACHED[role] if not any(200 <= s < 300 for s in findings.statuses.get(label, ()))]
    assert not unreached, f"never got past validation or lookup: {unreached}; statuses: {findings.statuses}"


# -- what the fuzzer found, pinned down ----------------------------------------------------


async def test_a_time_before_the_zone_had_whole_minutes_is_refused(api: Api) -> None:
    """Stored with Shanghai's 1800 offset (+08:05:43), a campaign could not be read back: lists were a 500."""
    tree = await org_tree()
    staff, _ = await api.person("staff", tree.east.id)
    body = campaign_body(tree.east.id, starts_at="1800-03-25T05:52:12+08:00")
    created = await api.call("POST", "/api/v1/campaigns", token=staff, json=body)
    assert created.status == 400, created.body
    assert created.body["error"]["details"]["fields"] == {"starts_at": "时间须在 2000 年至 2099 年之间"}
    listed = await api.call("GET", "/api/v1/campaigns", token=staff)
    assert (listed.status, listed.body["items"]) == (200, [])


async def test_a_day_at_the_end_of_the_calendar_is_refused(api: Api) -> None:
    """`to=9999-12-31` overflowed when the report added the day after it: a 500."""
    tree = await org_tree()
    staff, _ = await api.person("staff", tree.east.id)
    reply = await api.call("GET", "/api/v1/reports/participation.csv?to=9999-12-31", token=staff)
    assert reply.status == 400, reply.body
    assert "to" in reply.body["error"]["details"]["fields"]


async def test_text_with_a_nul_character_is_refused_on_every_database(api: Api) -> None:
    """PostgreSQL cannot store U+0000 in text: a review reason with one was a 500 there."""
    token, _ = await api.person("volunteer")
    reply = await api.call("PATCH", "/api/v1/me", token=token, json={"nickname": "志愿\u0000者"})
    assert reply.status == 400, reply.body
    assert reply.body["error"]["details"]["fields"] == {"nickname": "不能包含空字符（U+0000）"}


async def test_a_task_location_without_a_name_can_be_set(api: Api) -> None:
    """`name` is optional in a location, but a PATCH that left it out failed with a KeyError: a 500."""
    tree = await org_tree()
    staff, _ = await api.person("staff", tree.east.id)
    campaign = await make_campaign(api, staff, tree.east.id)
    task = await make_task(api, staff, campaign["id"])
    spot = {"lat": SPOT["lat"], "lng": SPOT["lng"], "radius_m": 200}
    reply = await api.call("PATCH", f"/api/v1/tasks/{task['id']}", token=staff, json={"location": spot})
    assert reply.status == 200, reply.body
    assert reply.body["location"] == spot | {"name": ""}
