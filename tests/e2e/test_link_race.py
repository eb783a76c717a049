"""Twenty people handing in one link at once, through two service processes: one submission holds it."""

import asyncio
from collections import Counter

import pytest

from models.orgs import create_org
from models.submission_links import SubmissionLink
from models.submissions import Submission
from tests.e2e.processes import staff_of, two_processes
from tests.factories import TASKS, published_task

# One Weibo post, spelled the three ways people paste it: the race is on the item, not the text.
SPELLINGS = (
    "https://weibo.com/1642634100/z0JH2lOMb?type=comment",
    "https://m.weibo.cn/status/z0JH2lOMb?sourceType=weixin&from=10E5095010",
    "https://m.weibo.cn/detail/3501756485200075",
)


async def test_twenty_people_handing_in_one_link_at_once_one_holds_it(api, database_url, wechat, redis_url):
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the race on the unique live key is PostgreSQL's to settle (set WENMING_TEST_DATABASE_URL)")
    async with two_processes(database_url, wechat, redis_url) as (first, second):
        county = await create_org("县", "county", None)
        staff = await staff_of(first, county.id, "o-link-race-staff")
        online = {"platforms": ["weibo"]}
        task = await published_task(first, staff, county.id, quota=None, min_photos=0, online=online)
        tokens = [(await first.login(f"o-link-race-{i}"))[0] for i in range(20)]
        for token in tokens:
            assert (await first.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201

        replies = await asyncio.gather(
            *(
                (first if i % 2 else second).call(
                    "POST",
                    f"{TASKS}/{task['id']}/submissions",
                    token=token,
                    json={"media_ids": [], "text": "转发了家乡的微博", "links": [SPELLINGS[i % 3]]},
                )
                for i, token in enumerate(tokens)
            )
        )

    outcomes = Counter((r.status, r.error_code) for r in replies)
    live = await SubmissionLink.filter(live_key__isnull=False)
    print(f"\nlink race: {dict(outcomes)}; live link rows: {len(live)}")
    assert outcomes == {(201, None): 1, (409, "link_claimed"): 19}, [r.body for r in replies]
    winner = next(r.body for r in replies if r.status == 201)
    assert [(row.submission_id, row.live_key) for row in live] == [(int(winner["id"]), "weibo:post:3501756485200075")]
    assert await Submission.all().count() == 1  # the losers' submissions rolled back with their link rows
    assert all("submission_id" not in (r.body["error"].get("details") or {}) for r in replies if r.status == 409)
