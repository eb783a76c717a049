"""The demo's online work: a verified Weibo account, an approved post past the first reach tier, a
county repost, all booked through the ledger, and the console's reach page showing it."""

from __future__ import annotations

from models.accounts import PlatformAccount
from models.ledger import LedgerEntry
from models.reach import ReachSnapshot, Repost
from models.submission_links import SubmissionLink
from models.submissions import Submission
from models.users import User
from server.demo import COUNTY, seed_orgs
from server.demo_online import WEIBO_POST, tell_online
from tests.console.conftest import sign_in


async def test_the_online_story_reaches_the_first_tier_and_shows_at_the_console(api):
    orgs = await seed_orgs()
    staff = await User.create(openid="online-staff", nickname="李老师", role="staff", org_id=orgs[COUNTY])
    influencer = await User.create(openid="online-v", nickname="祁东美食达人", role="influencer", org_id=orgs["金桥镇"])
    influencer = await User.get(id=influencer.id).select_related("org")

    story = await tell_online(orgs[COUNTY], influencer, staff, api.service.services.storage)

    account = await PlatformAccount.get(user_id=influencer.id)
    assert (account.platform, account.status, account.account_ref) == ("weibo", "verified", "1642634100")
    submission = await Submission.get(id=story.submission_id)
    assert submission.status == "approved" and submission.views == 12_800
    assert (await SubmissionLink.get(submission_id=submission.id)).platform == "weibo"
    shots = await ReachSnapshot.filter(submission_id=submission.id).order_by("captured_at")
    assert [s.views for s in shots] == [3_200, 12_800] and shots[1].media_id is not None
    assert [r.level for r in await Repost.filter(submission_id=submission.id)] == ["county"]
    bonuses = await LedgerEntry.filter(bonus_of=submission.id).order_by("id").values_list("points", flat=True)
    assert bonuses == [5, 1]  # tier 1 (1 万 浏览), then the county repost

    console = await sign_in(api.service.base_url, staff.id)
    try:
        page = await console.get(f"/console/submissions/{story.submission_id}")
        assert page.status == 200 and WEIBO_POST in page.text and "<td>12,800</td>" in page.text
        task_page = await console.get(f"/console/tasks/{story.task_id}")
        assert "抖音、微博、视频号" in task_page.text
    finally:
        await console.close()
