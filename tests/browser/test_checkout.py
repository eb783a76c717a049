"""签退 at the review grid in a real browser: the card shows the times on site and the hours approval
gives; `a` approves with them, a figure typed in 服务时长 and Enter approves with that instead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.async_api import expect

from models.campaigns import Enrollment
from models.ledger import LedgerEntry
from models.users import User
from tests.browser.conftest import Watched
from tests.factories import SPOT, TASKS, iso, published_task
from tests.images import encode, scene

ON_SITE = {"lat": 30.0003, "lng": 120.0}


async def hand_in_on_site(api, task: dict, name: str, seed: int, minutes: int | None) -> str:
    """A volunteer checked in three hours ago, out ``minutes`` later (None: never), with a photo handed in."""
    token, uid = await api.person("volunteer", task["org_id"])
    await User.filter(id=uid).update(real_name=name)
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    assert (await api.call("POST", f"{TASKS}/{task['id']}/checkin", token=token, json=ON_SITE)).status == 200
    upload = await api.upload(token, encode(scene((320, 240), seed=seed), "JPEG"))
    body = {"media_ids": [upload.body["id"]], "text": "清理河道"}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    started = datetime.now(UTC) - timedelta(hours=3)
    ended = started + timedelta(minutes=minutes) if minutes is not None else None
    await Enrollment.filter(task_id=int(task["id"]), user_id=uid).update(checked_in_at=started, checked_out_at=ended)
    return reply.body["id"]


@pytest.fixture
async def queue(api, tree) -> tuple[int, list[str]]:
    token, staff_id = await api.person("staff", tree.east.id)
    task = await published_task(
        api,
        token,
        tree.east.id,
        title="河道清洁",
        location=SPOT,
        checkin_required=True,
        checkout_required=True,
        service_hours="3",
        starts_at=iso(-timedelta(hours=4)),
        ends_at=iso(timedelta(hours=1)),
    )
    task["org_id"] = tree.east_village.id
    sids = [
        await hand_in_on_site(api, task, "王小明", 1, 155),  # 2 h 35 min: 2.5 hours
        await hand_in_on_site(api, task, "赵小燕", 2, None),  # never checked out: 0 unless given
    ]
    return staff_id, sids


async def hours_given(submission_id: str) -> Decimal:
    return (await LedgerEntry.get(submission_id=int(submission_id))).service_hours


async def test_approving_gives_the_hours_on_site_or_the_reviewers(queue, tab: Watched) -> None:
    staff_id, (checked_out, forgot) = queue
    await tab.sign_in(staff_id)
    await tab.goto("/console/review")
    page = tab.page
    first, second = page.locator(f"#sub-{checked_out}"), page.locator(f"#sub-{forgot}")
    await expect(first).to_contain_text("签退")
    await expect(first.locator(".hours-due")).to_contain_text("2.5 小时")
    await expect(second).to_contain_text("未签退")
    await expect(second.get_by_label("服务时长")).to_have_value("0")
    await expect(first).to_be_focused()

    await page.keyboard.press("a")
    await expect(first).to_contain_text("已通过")
    await expect(second).to_be_focused()
    assert await hours_given(checked_out) == Decimal("2.5")

    hours = second.get_by_label("服务时长")
    await hours.fill("2")
    await hours.press("Enter")
    await expect(second).to_contain_text("已通过")
    assert await hours_given(forgot) == Decimal("2")


async def test_hours_beyond_the_task_are_refused_on_the_card(queue, tab: Watched) -> None:
    staff_id, (_, forgot) = queue
    await tab.sign_in(staff_id)
    await tab.goto("/console/review")
    card = tab.page.locator(f"#sub-{forgot}")
    hours = card.get_by_label("服务时长")
    # Past the box's own max: the browser would stop the form; a pasted figure gets as far as the server.
    await hours.evaluate("el => el.removeAttribute('max')")

    await hours.fill("5")
    await hours.press("Enter")

    await expect(tab.page.locator(f"#sub-{forgot} .card-error")).to_contain_text("服务时长须在 0 到 3 小时之间")
    refused = tab.page.locator(f"#sub-{forgot}").get_by_label("服务时长")
    await expect(refused).to_have_attribute("aria-invalid", "true")
    await expect(refused).to_be_focused()  # to correct the figure at once
    assert await LedgerEntry.filter(submission_id=int(forgot)).count() == 0
