"""POST /users/{id}/honour-hours: admins grant honour hours (荣誉时长), kept apart from credit hours."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.audit import AuditEntry
from models.ledger import LedgerEntry, write_entry
from models.orgs import create_org
from models.users import User


def grant_path(user_id: int) -> str:
    return f"/api/v1/users/{user_id}/honour-hours"


async def earned(user_id: int, *, points: int, hours: str) -> None:
    """Credit hours the person earned themselves (as an approved task gives)."""
    person = await User.get(id=user_id).select_related("org")
    await write_entry(person, kind="award", points=points, hours=Decimal(hours), reason="任务通过：清扫村道")


@pytest.fixture
async def county(api):
    return await create_org("祁东县", "county", None)


async def test_admin_grants_honour_hours_without_points(api, county) -> None:
    admin, admin_id = await api.person("admin", county.id)
    token, volunteer = await api.person("volunteer", county.id)
    # Hours the person earned themselves first: 4 credit hours and 10 points.
    await earned(volunteer, points=10, hours="4")

    reply = await api.call("POST", grant_path(volunteer), token=admin, json={"hours": 2.5, "reason": "  抗洪抢险  "})

    assert reply.status == 201, reply.body
    assert reply.body["hours_kind"] == "honour"
    assert reply.body["points"] == 0
    assert reply.body["service_hours"] == 2.5
    assert reply.body["reason"] == "荣誉时长：抗洪抢险"
    me = await api.call("GET", "/api/v1/me", token=token)
    assert (me.body["service_hours"], me.body["credit_hours"], me.body["honour_hours"]) == (6.5, 4, 2.5)
    assert me.body["points"] == 10
    [audit] = await AuditEntry.filter(action="honour_hours")
    assert (audit.actor_id, audit.target) == (admin_id, f"user:{volunteer}")
    assert audit.details["hours"] == "2.5" and audit.details["reason"] == "抗洪抢险"


async def test_points_ledger_says_which_kind(api, county) -> None:
    admin, _ = await api.person("admin", county.id)
    token, volunteer = await api.person("volunteer", county.id)
    await earned(volunteer, points=5, hours="1")
    await api.call("POST", grant_path(volunteer), token=admin, json={"hours": 3, "reason": "年度表彰"})

    page = await api.call("GET", "/api/v1/me/points", token=token)

    assert [(e["hours_kind"], e["service_hours"]) for e in page.body["items"]] == [("honour", 3), ("credit", 1)]


async def test_star_level_counts_honour_hours(api, county) -> None:
    admin, _ = await api.person("admin", county.id)
    token, volunteer = await api.person("volunteer", county.id)
    await earned(volunteer, points=0, hours="60")
    await api.call("POST", grant_path(volunteer), token=admin, json={"hours": 40, "reason": "年度表彰"})

    me = await api.call("GET", "/api/v1/me", token=token)

    assert me.body["star_level"] == 1


async def test_staff_may_not_grant(api, county) -> None:
    staff, _ = await api.person("staff", county.id)
    _, volunteer = await api.person("volunteer", county.id)

    reply = await api.call("POST", grant_path(volunteer), token=staff, json={"hours": 1, "reason": "辛苦了"})

    assert reply.status == 403
    assert await LedgerEntry.all().count() == 0


async def test_unknown_person_is_404(api, county) -> None:
    admin, _ = await api.person("admin", county.id)

    reply = await api.call("POST", grant_path(999999), token=admin, json={"hours": 1, "reason": "辛苦了"})

    assert reply.status == 404


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"hours": 0, "reason": "辛苦了"}, "hours", "须大于 0"),
        ({"hours": -2, "reason": "辛苦了"}, "hours", "须大于 0"),
        ({"hours": 100.5, "reason": "辛苦了"}, "hours", "不能大于 100"),
        ({"hours": 1.2, "reason": "辛苦了"}, "hours", "须为 0.5 的倍数"),
        ({"hours": "2", "reason": "辛苦了"}, "hours", "须为数字，如 2 或 2.5"),
        ({"hours": 2, "reason": "   "}, "reason", "不能为空"),
        ({"hours": 2, "reason": "长" * 196}, "reason", "太长（最多 195 个字符）"),
        ({"hours": 2}, "reason", None),
    ],
)
async def test_bad_grants_name_the_field(api, county, body, field, reason) -> None:
    admin, _ = await api.person("admin", county.id)
    _, volunteer = await api.person("volunteer", county.id)

    reply = await api.call("POST", grant_path(volunteer), token=admin, json=body)

    assert reply.status == 400, reply.body
    assert field in reply.body["error"]["details"]["fields"]
    if reason:
        assert reply.body["error"]["details"]["fields"][field] == reason
    assert await LedgerEntry.all().count() == 0
    assert (await User.get(id=volunteer)).service_hours == 0


async def test_a_retried_grant_counts_once(api, county) -> None:
    admin, _ = await api.person("admin", county.id)
    _, volunteer = await api.person("volunteer", county.id)
    headers = {"Idempotency-Key": "grant-7f3a9c21-0001"}

    first = await api.call(
        "POST", grant_path(volunteer), token=admin, json={"hours": 2, "reason": "表彰"}, headers=headers
    )
    again = await api.call(
        "POST", grant_path(volunteer), token=admin, json={"hours": 2, "reason": "表彰"}, headers=headers
    )

    assert first.status == again.status == 201
    assert first.body["id"] == again.body["id"]
    person = await User.get(id=volunteer)
    assert (person.service_hours, person.honour_hours) == (Decimal("2"), Decimal("2"))


async def test_users_list_shows_both_kinds(api, county) -> None:
    admin, _ = await api.person("admin", county.id)
    _, volunteer = await api.person("volunteer", county.id)
    await earned(volunteer, points=3, hours="1.5")
    await api.call("POST", grant_path(volunteer), token=admin, json={"hours": 0.5, "reason": "表彰"})

    reply = await api.call("GET", "/api/v1/users?role=volunteer", token=admin)

    [item] = reply.body["items"]
    assert (item["credit_hours"], item["honour_hours"], item["service_hours"]) == (1.5, 0.5, 2)
