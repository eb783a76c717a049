"""The demo's story: the console has a review queue showing every kind of risk, and a history."""

from __future__ import annotations

from models.campaigns import Campaign
from models.ledger import LedgerEntry
from models.submissions import Submission
from models.users import User
from server.demo import COUNTY, seed_orgs
from server.demo_story import tell
from server.kernel.clock import now_utc


async def test_the_story_has_each_risk_and_two_weeks_of_approvals(api):
    orgs = await seed_orgs()
    now = now_utc()
    campaign = await Campaign.create(
        title="演示活动", kind="village_visit", org_id=orgs[COUNTY], starts_at=now, ends_at=now, status="published"
    )
    staff = await User.create(openid="story-staff", nickname="李老师", role="staff", org_id=orgs[COUNTY])

    story = await tell(orgs, campaign.id, api.service.services.storage, staff)

    assert (story.pending, story.approved) == (5, 4)
    pending = await Submission.filter(task_id=story.task_id, status="pending").order_by("id")
    assert sum(bool(s.duplicate_of) for s in pending) == 1
    assert sum(s.outside_area for s in pending) == 1
    assert sum(s.outside_window for s in pending) == 1
    days = {(now - e.created_at).days for e in await LedgerEntry.all()}
    assert len(days) == 4 and max(days) >= 12
    assert (await User.get(id=staff.id)).role == "staff"
