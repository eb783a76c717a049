"""Edits made from a row read earlier write only what they change (no lost updates)."""

from datetime import UTC, datetime, timedelta

import pytest

from models.campaigns import Campaign, Task, create_campaign, get_campaign, set_campaign_status, update_campaign
from models.tasks import TaskClosed, cancel_task, create_task, get_task, update_task
from models.users import User
from server.kernel.errors import Conflict
from tests.factories import org_tree


@pytest.fixture
async def task(api) -> Task:
    tree = await org_tree()
    creator = await User.create(openid="o-stale-staff", role="staff", org_id=tree.east.id)
    now = datetime.now(UTC)
    window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=30)}
    campaign = await create_campaign({"title": "活动", "kind": "village_visit", **window}, tree.east, creator)
    return await create_task(campaign, {"title": "任务", **window}, api.service.services.effects)


async def test_edit_from_a_stale_task_keeps_enrollments_counted(task):
    stale = await get_task(task.id)
    await Task.filter(id=task.id).update(enrolled_count=3)  # enrollments committed meanwhile

    await update_task(stale, {"title": "新标题"})

    stored = await Task.get(id=task.id)
    assert (stored.title, stored.enrolled_count) == ("新标题", 3)


async def test_edit_from_a_stale_task_does_not_undo_its_cancellation(task):
    stale = await get_task(task.id)
    await cancel_task(await get_task(task.id), await User.get(openid="o-stale-staff"))

    with pytest.raises(TaskClosed):
        await update_task(stale, {"title": "新标题"})

    stored = await Task.get(id=task.id)
    assert stored.cancelled_at is not None
    assert stored.title == "任务"


async def test_edit_from_a_stale_campaign_does_not_reopen_it(task):
    stale = await get_campaign(task.campaign_id)
    await Campaign.filter(id=task.campaign_id).update(status="closed")

    with pytest.raises(Conflict):
        await update_campaign(stale, {"title": "新标题"})

    stored = await Campaign.get(id=task.campaign_id)
    assert (stored.status, stored.title) == ("closed", "活动")


async def test_publishing_a_stale_draft_does_not_reopen_it(task):
    stale = await get_campaign(task.campaign_id)
    await set_campaign_status(await get_campaign(task.campaign_id), "closed")

    with pytest.raises(Conflict):
        await set_campaign_status(stale, "published")

    assert (await Campaign.get(id=task.campaign_id)).status == "closed"


async def test_publishing_twice_from_stale_drafts_is_harmless(task):
    stale = await get_campaign(task.campaign_id)
    await set_campaign_status(await get_campaign(task.campaign_id), "published")

    published = await set_campaign_status(stale, "published")

    assert published.status == "published"
    assert (await Campaign.get(id=task.campaign_id)).status == "published"
