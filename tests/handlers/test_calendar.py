"""GET and PUT /calendar/{year}: anyone signed in reads a year, admins replace it."""

from __future__ import annotations

import pytest

from models.audit import AuditEntry
from models.calendar_data import seed_calendar

URL = "/api/v1/calendar/{}"
SPRING = {
    "holidays": ["2026-02-23", "2026-02-15", "2026-02-16"],
    "workdays": ["2026-02-28", "2026-02-14"],
}


@pytest.fixture
async def admin(api) -> str:
    token, _ = await api.person("admin")
    return token


async def test_anyone_signed_in_reads_the_seeded_year(api):
    await seed_calendar([2026])
    token, _ = await api.person("volunteer")

    reply = await api.call("GET", URL.format(2026), token=token)

    assert reply.status == 200, reply.body
    assert reply.body["year"] == 2026
    assert reply.body["workdays"] == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    assert reply.body["holidays"][:4] == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-02-15"]
    assert len(reply.body["holidays"]) == 33
    assert reply.body["holidays"] == sorted(reply.body["holidays"])


async def test_a_year_not_set_reads_empty(api):
    token, _ = await api.person("volunteer")

    reply = await api.call("GET", URL.format(2031), token=token)

    assert reply.status == 200
    assert reply.body == {"year": 2031, "holidays": [], "workdays": []}


async def test_reading_needs_sign_in(api):
    reply = await api.call("GET", URL.format(2026))

    assert reply.status == 401


async def test_admin_puts_a_year_and_gets_it_back_sorted(api, admin):
    reply = await api.call("PUT", URL.format(2026), token=admin, json=SPRING)

    assert reply.status == 200, reply.body
    assert reply.body == {
        "year": 2026,
        "holidays": ["2026-02-15", "2026-02-16", "2026-02-23"],
        "workdays": ["2026-02-14", "2026-02-28"],
    }
    assert (await api.call("GET", URL.format(2026), token=admin)).body == reply.body
    entry = await AuditEntry.get(action="calendar_update")
    assert entry.target == "calendar:2026"


async def test_put_replaces_the_whole_year(api, admin):
    await api.call("PUT", URL.format(2026), token=admin, json=SPRING)

    reply = await api.call("PUT", URL.format(2026), token=admin, json={"holidays": ["2026-10-01"], "workdays": []})

    assert reply.status == 200
    assert (await api.call("GET", URL.format(2026), token=admin)).body == {
        "year": 2026,
        "holidays": ["2026-10-01"],
        "workdays": [],
    }


@pytest.mark.parametrize("role", ["volunteer", "influencer", "staff"])
async def test_only_admins_put(api, role):
    token, _ = await api.person(role)

    reply = await api.call("PUT", URL.format(2026), token=token, json=SPRING)

    assert reply.status == 403
    assert (await api.call("GET", URL.format(2026), token=token)).body["holidays"] == []


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"holidays": ["2027-01-01"], "workdays": []}, "holidays.0", "不在 2026 年内"),
        ({"holidays": [], "workdays": ["2026-02-14", "2026-03-02"]}, "workdays.1", "调休上班日须为周六或周日"),
        ({"holidays": ["2026-02-14"], "workdays": ["2026-02-14"]}, "workdays.0", "同一天不能既放假又上班"),
        ({"holidays": ["2026-10-01", "2026-10-01"], "workdays": []}, "holidays.1", "与 holidays.0 重复"),
        ({"holidays": ["2026-02-30"], "workdays": []}, "holidays.0", "日期"),
        ({"holidays": [20260215], "workdays": []}, "holidays.0", "YYYY-MM-DD"),
        ({"holidays": ["2026-02-15"]}, "workdays", "必填"),
        ({"holidays": ["2026-02-15"], "workdays": [], "note": "x"}, "note", "不支持的字段"),
    ],
)
async def test_bad_bodies_name_the_entry(api, admin, body, field, reason):
    reply = await api.call("PUT", URL.format(2026), token=admin, json=body)

    assert reply.status == 400, reply.body
    assert reply.error_code == "invalid_request"
    assert reason in reply.body["error"]["details"]["fields"][field]
    assert field in reply.body["error"]["message"]


@pytest.mark.parametrize("year", [1999, 2100, 0, -5])
async def test_years_out_of_range_are_refused(api, admin, year):
    got = await api.call("GET", URL.format(year), token=admin)
    put = await api.call("PUT", URL.format(year), token=admin, json={"holidays": [], "workdays": []})

    assert (got.status, put.status) == (400, 400)
    assert "year" in got.body["error"]["details"]["fields"]


async def test_a_year_that_is_not_a_number_is_not_found(api, admin):
    reply = await api.call("GET", URL.format("twenty"), token=admin)

    assert reply.status == 404
