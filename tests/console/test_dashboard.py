"""首页: the counts and the chart data of a staff member's subtree, from data made through the API."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

from models.campaigns import Enrollment
from models.orgs import create_org
from models.submissions import Submission
from models.users import User
from server.kernel.clock import local_day_start, now_local
from tests.console.conftest import sign_in
from tests.factories import TASKS, hand_in, published_task
from tests.support import counting_queries

_DATA = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)


def stat(html: str, name: str) -> int:
    found = re.search(rf'id="stat-{name}">\s*<div class="label">[^<]*</div>\s*<div class="value">(\d+)</div>', html)
    assert found, f"no {name} count on the page"
    return int(found.group(1))


def charts(html: str) -> dict:
    found = _DATA.search(html)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


@dataclass
class Activity:
    approved_id: int
    pending_id: int


@pytest.fixture
async def activity(api, tree, staff_id) -> Activity:
    """East: one approved and one pending submission (two enrollments), an influencer, an erased volunteer,
    another staff member; west: one pending submission."""
    staff = await api.login_as(staff_id)
    task = await published_task(api, staff, tree.east.id)
    done, _ = await api.person("volunteer", tree.east_village.id)
    waiting, _ = await api.person("volunteer", tree.east_village.id)
    approved = await hand_in(api, done, task, seed=1)
    pending = await hand_in(api, waiting, task, seed=2)
    reply = await api.call("POST", f"/api/v1/submissions/{approved}/review", token=staff, json={"decision": "approve"})
    assert reply.status == 200, reply.body
    await api.person("influencer", tree.east.id)
    await api.person("staff", tree.east_village.id)
    _, gone = await api.person("volunteer", tree.east_village.id)
    await User.filter(id=gone).update(deleted_at=now_local())
    west_staff, _ = await api.person("staff", tree.west.id)
    west_task = await published_task(api, west_staff, tree.west.id)
    west, _ = await api.person("volunteer", tree.west_village.id)
    await hand_in(api, west, west_task, seed=3)
    await api.settle()
    return Activity(int(approved), int(pending))


async def test_township_staff_see_their_subtree_only(api, console, activity):
    page = await console.get("/console/")

    assert page.status == 200, page.text[:500]
    assert stat(page.text, "awaiting") == 1
    assert stat(page.text, "enrolled") == 2
    assert stat(page.text, "approved") == 1
    assert stat(page.text, "members") == 3  # two volunteers and the influencer; not staff, not the erased one
    assert "待审核 1 条 → 去审核" in page.text and 'href="/console/review"' in page.text
    data = charts(page.text)
    assert data["orgs"] == {"names": ["东村"], "enrolled": [2], "empty": False}
    days = data["days"]
    assert len(days["dates"]) == 30 and days["dates"][-1] == now_local().date().isoformat()
    assert (days["submitted"][-1], days["approved"][-1]) == (2, 1)
    assert sum(days["submitted"]) == 2 and sum(days["approved"]) == 1 and not days["empty"]
    assert page.text.count("vendor/echarts.min.js") == 1 and "dashboard.js" in page.text


async def test_admins_see_every_township(api, admin_console, activity):
    page = await admin_console.get("/console/")

    assert (stat(page.text, "awaiting"), stat(page.text, "enrolled"), stat(page.text, "approved")) == (2, 3, 1)
    assert stat(page.text, "members") == 4
    data = charts(page.text)
    assert data["orgs"]["names"] == ["东镇", "西镇"] and data["orgs"]["enrolled"] == [2, 1]
    assert data["days"]["submitted"][-1] == 3


async def test_a_withdrawn_enrollment_and_a_cancelled_task_do_not_count(api, console, activity, tree, staff_id):
    staff = await api.login_as(staff_id)
    task = await published_task(api, staff, tree.east.id)
    late, _ = await api.person("volunteer", tree.east_village.id)
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=late)).status == 201
    assert (await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=late)).status == 204
    page = await console.get("/console/")
    assert stat(page.text, "enrolled") == 2


async def test_an_empty_subtree_shows_zeros_and_no_charts(api, activity, tree):
    north = await create_org("北镇", "township", tree.county.id)
    _, staff_id = await api.person("staff", north.id)
    client = await sign_in(api.service.base_url, staff_id)
    try:
        page = await client.get("/console/")
    finally:
        await client.close()
    assert page.status == 200
    for name in ("awaiting", "enrolled", "approved", "members"):
        assert stat(page.text, name) == 0
    assert "去审核" not in page.text
    assert page.text.count("暂无数据") == 2 and page.text.count('data-empty="1"') == 2
    data = charts(page.text)
    assert data["orgs"] == {"names": ["北镇"], "enrolled": [0], "empty": True}
    assert data["days"]["empty"] is True


async def test_the_figures_take_a_fixed_number_of_queries(api, console, activity, tree):
    with counting_queries() as before:
        await console.get("/console/")
    for n in range(5):
        await create_org(f"新村{n}", "village", tree.east.id)
        await api.person("volunteer", tree.east_village.id)
    with counting_queries() as after:
        page = await console.get("/console/")
    assert page.status == 200
    assert len(after.statements) == len(before.statements) > 0
    assert charts(page.text)["orgs"]["names"][0] == "东村"


async def test_junk_query_parameters_do_not_matter(console, activity):
    page = await console.get("/console/?start=2026-13-45&cursor=junk")
    assert page.status == 200 and stat(page.text, "awaiting") == 1


async def test_days_and_months_are_the_countys(api, console, activity):
    """Just after midnight in Shanghai is the previous day in UTC: it counts for the new day (and month)."""
    today = now_local().date()
    midnight = local_day_start(today)
    await Submission.filter(id=activity.pending_id).update(created_at=midnight + timedelta(minutes=30))
    await Submission.filter(id=activity.approved_id).update(
        created_at=midnight - timedelta(minutes=30), reviewed_at=midnight - timedelta(minutes=30)
    )
    month = local_day_start(today.replace(day=1))
    enrollments = await Enrollment.all().order_by("id")
    await Enrollment.filter(id=enrollments[0].id).update(enrolled_at=month + timedelta(minutes=30))
    await Enrollment.filter(id=enrollments[1].id).update(enrolled_at=month - timedelta(minutes=30))

    page = await console.get("/console/")

    days = charts(page.text)["days"]
    assert (days["submitted"][-1], days["approved"][-1]) == (1, 0)
    assert (days["submitted"][-2], days["approved"][-2]) == (1, 1)
    assert stat(page.text, "enrolled") == 1  # the one at 23:30 on the last day of last month is last month's
    assert stat(page.text, "approved") == (1 if today.day > 1 else 0)
