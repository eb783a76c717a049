"""The demo's notices: one to the county, one to the village story's campaign, each partly read."""

from __future__ import annotations

from models.audit import AuditEntry
from models.campaigns import Campaign
from models.notices import Notice, read_counts
from models.users import User
from server.demo import COUNTY, PEOPLE, seed_orgs
from server.demo_notices import NOTICES, tell_notices
from server.demo_story import tell
from server.kernel.clock import now_utc


async def test_the_demo_notices_are_sent_and_partly_read(api):
    orgs = await seed_orgs()
    for _code, openid, nickname, role, org in PEOPLE:
        await User.create(openid=openid, nickname=nickname, role=role, org_id=orgs[org])
    staff = await User.get(openid=PEOPLE[0][1]).select_related("org")
    now = now_utc()
    campaign = await Campaign.create(
        title="演示活动", kind="village_visit", org_id=orgs[COUNTY], starts_at=now, ends_at=now, status="published"
    )
    await tell(orgs, campaign.id, api.service.services.storage, staff)

    await tell_notices(orgs[COUNTY], campaign.id, staff)

    county, story = await Notice.all().order_by("id")
    assert [county.title, story.title] == [title for title, _ in NOTICES]
    assert county.campaign_id is None and story.campaign_id == campaign.id
    assert story.recipients == 9  # the story's people, enrolled in its task
    assert county.recipients == 9 + 3  # and the demo's two volunteers and its influencer
    counts = await read_counts([county.id, story.id])
    assert 0 < counts[county.id] < county.recipients and 0 < counts[story.id] < story.recipients
    assert await AuditEntry.filter(action="notice", actor_id=staff.id).count() == 2
