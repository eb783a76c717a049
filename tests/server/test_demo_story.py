"""The demo's story: the console has a review queue showing every kind of risk, and a history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from models.campaigns import Campaign, Enrollment, Task
from models.ledger import LedgerEntry
from models.submissions import Submission
from models.users import User
from server.demo import COUNTY, seed_orgs
from server.demo_story import tell, tell_checkout
from server.kernel.clock import LOCAL_TZ, now_utc


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


async def test_the_demo_volunteer_checked_out_and_was_credited_the_time_on_site(api):
    orgs = await seed_orgs()
    now = now_utc()
    campaign = await Campaign.create(
        title="演示活动", kind="village_visit", org_id=orgs[COUNTY], starts_at=now, ends_at=now, status="published"
    )
    staff = await User.create(openid="story-staff", nickname="李老师", role="staff", org_id=orgs[COUNTY])
    volunteer = await User.create(openid="story-volunteer", nickname="小王", org_id=orgs[COUNTY])
    forgetful = await User.create(openid="story-forgetful", nickname="小陈", org_id=orgs[COUNTY])

    task_id = await tell_checkout(campaign.id, volunteer, forgetful, staff, api.service.services.storage)

    task = await Task.get(id=task_id)
    assert task.checkout_required and task.service_hours == Decimal("3")
    enrollment = await Enrollment.get(task_id=task_id, user_id=volunteer.id)
    on_site = enrollment.checked_out_at - enrollment.checked_in_at
    assert on_site == timedelta(hours=2, minutes=35)
    assert enrollment.checked_in_at.astimezone(LOCAL_TZ).strftime("%H:%M") == "09:05"
    submission = await Submission.get(task_id=task_id, user_id=volunteer.id)
    assert submission.status == "approved"
    assert (await Submission.get(task_id=task_id, user_id=forgetful.id)).status == "pending"
    assert (await Enrollment.get(task_id=task_id, user_id=forgetful.id)).checked_out_at is None
    entry = await LedgerEntry.get(submission_id=submission.id)
    assert (entry.service_hours, entry.hours_kind) == (Decimal("2.5"), "credit")
    assert (await User.get(id=volunteer.id)).service_hours == Decimal("2.5")
