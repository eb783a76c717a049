"""Online work at the console over real HTTP: the task form's 线上传播任务 section, the task page's
settings and share counts, and a submission's reach page (history, staff correction, official reposts)."""

from __future__ import annotations

from datetime import timedelta

from models.audit import AuditEntry
from models.campaigns import Task
from models.ledger import LedgerEntry
from models.reach import Reach, ReachSnapshot, Repost, add_snapshot
from models.sharing import ShareLink, ShareOpen
from models.submissions import get_submission
from models.users import User
from server.kernel.clock import now_utc
from tests.console.conftest import sign_in
from tests.console.test_campaigns import task_form, window
from tests.factories import TASKS, hand_in, make_campaign, make_task, published_task
from tests.images import encode, scene
from tests.support import counting_queries

WEIBO_POST = "https://weibo.com/1642634100/z0JH2lOMb"
ONLINE = {
    "platforms": ["weibo", "douyin"],
    "require_link": True,
    "reach_tiers": [{"views": 10000, "points": 5}, {"views": 100000, "points": 20}],
    "repost_bonus": {"county": 1, "city": 2, "province": 3, "national": 5},
}


def online_form(**overrides: str) -> dict[str, str]:
    form = task_form(
        online_on="true",
        online_platform_weibo="true",
        online_platform_wechat_channels="true",
        online_require_link="true",
        online_own_account="true",
        online_tiers="10万=20\n10000=5",
        online_repost_county="1",
        online_repost_city="2",
        online_repost_province="3",
        online_repost_national="5",
        online_share_points="1",
        online_share_daily_cap="3",
    )
    form.update(overrides)
    return form


async def new_task_path(api, tree) -> str:
    token, _ = await api.person("staff", tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False, **window())
    return f"/console/campaigns/{campaign['id']}/tasks/new"


async def test_the_online_section_saves_the_api_settings_and_shows_them(api, tree, console):
    path = await new_task_path(api, tree)
    form = await console.get(path)
    for name in ("线上传播任务", "线上任务", "微博", "视频号", "必须提交作品链接", "须为本人已认证账号", "传播档位"):
        assert name in form.text
    for name in ("转载奖励（县级）", "转载奖励（国家级）", "分享打开积分", "每日上限"):
        assert name in form.text
    page = await console.post(path, online_form())
    assert page.status == 200 and "任务已创建" in page.text, page.text[:2000]
    (task,) = await Task.all()
    assert task.online == {
        "platforms": ["weibo", "wechat_channels"],
        "require_link": True,
        "own_account": True,
        "reach_tiers": [{"views": 10000, "points": 5}, {"views": 100000, "points": 20}],
        "repost_bonus": {"county": 1, "city": 2, "province": 3, "national": 5},
        "share_points": 1,
        "share_daily_cap": 3,
    }
    assert "微博、视频号" in page.text and "浏览量达 100000 得 20 积分" in page.text
    assert "国家级 5 积分" in page.text and "每天最多 3 次" in page.text
    edit = await console.get(f"/console/tasks/{task.id}/edit")
    assert "10000=5\n100000=20</textarea>" in edit.text
    assert 'name="online_platform_weibo" value="true" checked' in edit.text
    assert 'name="online_platform_douyin" value="true">' in edit.text


async def test_unticking_online_clears_it_and_an_ordinary_task_stays_offline(api, tree, console):
    path = await new_task_path(api, tree)
    await console.get(path)
    assert (await console.post(path, online_form())).status == 200
    (task,) = await Task.all()
    values = online_form()
    values.pop("online_on")
    page = await console.post(f"/console/tasks/{task.id}/edit", values)
    assert page.status == 200 and "已保存" in page.text and 'id="online"' not in page.text
    assert (await Task.get(id=task.id)).online is None


async def test_bad_online_input_is_named_beside_its_field(api, tree, console):
    path = await new_task_path(api, tree)
    await console.get(path)
    cases = [
        ({"online_platform_weibo": "", "online_platform_wechat_channels": ""}, "<strong>平台</strong>：请至少选择"),
        ({"online_tiers": "一万浏览给五分"}, "第 1 行“一万浏览给五分”看不懂"),
        ({"online_tiers": "1万=5\n10000=6"}, "传播档位须按浏览量从低到高排列且不重复"),
        ({"online_tiers": "1.5=5"}, "第 1 行：浏览量须为整数"),
        ({"online_repost_city": "-1"}, "<strong>转载奖励（市级）</strong>"),
        ({"online_share_daily_cap": "5000"}, "<strong>每日上限</strong>"),
        ({"checkin_required": "true"}, "线上传播任务无需现场签到"),
    ]
    for change, expected in cases:
        page = await console.post(path, online_form(**change))
        assert page.status == 400, change
        assert expected in page.text, (change, page.text[:3000])
    assert await Task.all().count() == 0


async def test_the_online_form_without_its_csrf_token_changes_nothing(api, tree, console):
    path = await new_task_path(api, tree)
    await console.get(path)
    page = await console.post(path, online_form(), csrf=None)
    assert page.status == 403 and await Task.all().count() == 0


async def test_the_task_page_counts_share_links_and_opens(api, tree, console):
    token, _ = await api.person("staff", tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id)
    task = await make_task(api, token, campaign["id"], online=ONLINE)
    sharers = [await User.create(openid=f"sharer-{i}", nickname=f"分享人{i}") for i in range(2)]
    openers = [await User.create(openid=f"opener-{i}", nickname=f"打开人{i}") for i in range(3)]
    links = [await ShareLink.create(task_id=int(task["id"]), user=u) for u in sharers]
    for i, opener in enumerate(openers):
        await ShareOpen.create(link=links[i % 2], opener=opener, task_id=int(task["id"]), day="2026-12-06")
    page = await console.get(f"/console/tasks/{task['id']}")
    assert page.status == 200
    stats = page.text[page.text.index('id="share-stats"') :]
    assert '分享人数</div><div class="value">2<' in stats and '打开人次</div><div class="value">3<' in stats
    listed = await console.get(f"/console/campaigns/{campaign['id']}")
    assert '<span class="badge published">线上传播</span>' in listed.text


# -- a submission's reach page ------------------------------------------------------------------


async def online_submission(api, tree) -> tuple[str, dict, int]:
    """An influencer's submission with a Weibo link to the east township's online task: (staff token, task, id)."""
    staff, _ = await api.person("staff", tree.east.id)
    campaign = await make_campaign(api, staff, tree.east.id)
    task = await make_task(api, staff, campaign["id"], online=ONLINE, min_photos=0)
    author, _ = await api.person("influencer", tree.east_village.id)
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=author)).status == 201
    body = {"media_ids": [], "text": "家乡美景视频", "links": [WEIBO_POST + "?from=timeline"]}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=author, json=body)
    assert reply.status == 201, reply.body
    return staff, task, int(reply.body["id"])


async def approve(api, staff: str, submission_id: int) -> None:
    reply = await api.call(
        "POST", f"/api/v1/submissions/{submission_id}/review", token=staff, json={"decision": "approve"}
    )
    assert reply.status == 200, reply.body


async def owner_snapshot(api, submission_id: int, views: int, days_ago: int, media_id: int | None = None) -> None:
    submission = await get_submission(submission_id)
    assert submission is not None
    reach = Reach(views, views // 10, 3, 1, now_utc() - timedelta(days=days_ago), media_id)
    await add_snapshot(submission, submission.user, reach, api.service.services.effects)


async def test_staff_see_links_and_reach_in_time_order(api, tree, console):
    staff, task, submission_id = await online_submission(api, tree)
    await approve(api, staff, submission_id)
    submission = await get_submission(submission_id)
    assert submission is not None
    owner_token = (await api.login(openid=submission.user.openid))[0]
    upload = await api.upload(owner_token, encode(scene((640, 480), seed=3), "JPEG"))
    await owner_snapshot(api, submission_id, 2000, days_ago=3)
    await owner_snapshot(api, submission_id, 12000, days_ago=1, media_id=int(upload.body["id"]))
    page = await console.get(f"/console/submissions/{submission_id}")
    assert page.status == 200
    assert '<a href="https://weibo.com/1642634100/z0JH2lOMb" target="_blank" rel="noopener noreferrer">' in (page.text)
    table = page.text[page.text.index('id="snapshots"') :]
    assert table.index("<td>2,000</td>") < table.index("<td>12,000</td>")
    assert 'class="shot"' in table and 'id="reach-data"' in page.text
    assert "已达到" in page.text and "传播达到 1 万 浏览" in page.text
    review = await console.get(f"/console/review/{submission_id}")
    assert f'href="/console/submissions/{submission_id}"' in review.text
    task_page = await console.get(f"/console/tasks/{task['id']}")
    works = task_page.text[task_page.text.index('id="works"') :]
    assert f'href="/console/submissions/{submission_id}"' in works and "<td>12,000</td>" in works
    assert "下载签到码" not in task_page.text  # an online task has no site to check in at


async def test_a_staff_correction_is_recorded_audited_and_moves_tier_points(
    api, tree, console, staff_id, admin_console
):
    staff, _, submission_id = await online_submission(api, tree)
    await approve(api, staff, submission_id)
    await owner_snapshot(api, submission_id, 15000, days_ago=2)
    assert await LedgerEntry.filter(bonus_of=submission_id, kind="award").count() == 1
    await console.get(f"/console/submissions/{submission_id}")
    taken = (now_utc() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    form = {"captured_at": taken, "views": "8,000", "likes": "", "comments": "2", "shares": "0"}
    page = await console.post(f"/console/submissions/{submission_id}/reach", form)
    assert page.status == 200 and "已更正传播数据" in page.text
    latest = await ReachSnapshot.filter(submission_id=submission_id).order_by("-captured_at").first()
    assert latest is not None and latest.correction and latest.views == 8000 and latest.recorded_by_id == staff_id
    assert "更正</span>" in page.text and "传播数据更正，撤销 1 万 浏览奖励" in page.text
    assert await LedgerEntry.filter(bonus_of=submission_id).count() == 2
    entry = await AuditEntry.get(action="reach_correct", actor_id=staff_id)
    assert entry.target == f"submission:{submission_id}" and entry.details["views"] == 8000
    audit = await admin_console.get("/console/audit")
    assert "更正传播数据" in audit.text and f"<dt>截图时间</dt><dd>{taken}</dd>" in audit.text


async def test_bad_correction_input_is_said_on_the_page(api, tree, console):
    _, _, submission_id = await online_submission(api, tree)
    path = f"/console/submissions/{submission_id}"
    await console.get(path)
    page = await console.post(f"{path}/reach", {"captured_at": "昨天", "views": "很多", "likes": "-3"})
    assert page.status == 400
    assert "<strong>截图时间</strong>" in page.text and "<strong>浏览量</strong>" in page.text
    assert "<strong>点赞数</strong>：请填写不小于 0 的整数" in page.text and 'value="很多"' in page.text
    later = (now_utc() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    page = await console.post(f"{path}/reach", {"captured_at": later, "views": "10"})
    assert page.status == 400 and "截图时间不能晚于现在" in page.text
    assert await ReachSnapshot.all().count() == 0


async def test_a_repost_bonus_is_recorded_once_per_level(api, tree, console, staff_id):
    staff, _, submission_id = await online_submission(api, tree)
    path = f"/console/submissions/{submission_id}"
    await console.get(path)
    official = "https://www.qidong.gov.cn/news/2026/1206.html?utm_source=wx"
    page = await console.post(f"{path}/repost", {"level": "city", "url": official})
    assert page.status == 409 and "提交通过审核后才能记录转载奖励" in page.text
    await approve(api, staff, submission_id)
    page = await console.post(f"{path}/repost", {"level": "city", "url": official})
    assert page.status == 200 and "已记录官方转载" in page.text
    (repost,) = await Repost.all()
    assert (repost.level, repost.points, repost.url) == ("city", 2, "https://www.qidong.gov.cn/news/2026/1206.html")
    assert "作品被市级官方平台转载" in page.text
    again = await console.post(f"{path}/repost", {"level": "city", "url": official})
    assert again.status == 409 and "该提交的市级转载已记录过" in again.text
    bad = await console.post(f"{path}/repost", {"level": "town", "url": "javascript:alert(1)"})
    assert bad.status == 400 and "<strong>转载级别</strong>" in bad.text and "<strong>转载链接</strong>" in bad.text
    assert await Repost.all().count() == 1
    assert await LedgerEntry.filter(bonus_of=submission_id, kind="award", points=2).count() == 1
    assert await AuditEntry.filter(action="repost", actor_id=staff_id).count() == 1


async def test_other_townships_and_forms_without_csrf_are_refused(api, tree, console):
    _, _, submission_id = await online_submission(api, tree)
    path = f"/console/submissions/{submission_id}"
    await console.get(path)
    refused = await console.post(f"{path}/reach", {"captured_at": "2026-12-01 09:00", "views": "1"}, csrf=None)
    assert refused.status == 403
    _, west_id = await api.person("staff", tree.west.id)
    west = await sign_in(api.service.base_url, west_id)
    try:
        assert (await west.get(path)).status == 404
        await west.get("/console/")
        page = await west.post(f"{path}/repost", {"level": "county", "url": "https://example.org/a"})
        assert page.status == 404
    finally:
        await west.close()
    assert await ReachSnapshot.all().count() == 0 and await Repost.all().count() == 0


async def test_the_task_and_reach_pages_read_as_many_statements_for_one_row_as_for_three(api, tree, console):
    staff, task, first = await online_submission(api, tree)
    await approve(api, staff, first)
    task_counts, reach_counts = [], []
    for round_ in range(2):
        for n in range(round_ * 2):  # none more in the first round, two more in the second
            author, _ = await api.person("influencer", tree.east_village.id)
            assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=author)).status == 201
            body = {"media_ids": [], "text": "作品", "links": [f"https://weibo.com/1642634100/350175648520{n:04d}"]}
            reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=author, json=body)
            assert reply.status == 201, reply.body
        for days_ago in (5 - 2 * round_, 4 - 2 * round_)[: 1 + round_]:
            await owner_snapshot(api, first, 1000 * (10 - days_ago), days_ago=days_ago)
        with counting_queries() as log:
            page = await console.get(f"/console/tasks/{task['id']}")
        assert page.status == 200
        task_counts.append(log.selects)
        with counting_queries() as log:
            page = await console.get(f"/console/submissions/{first}")
        assert page.status == 200
        reach_counts.append(log.selects)
    works = (await console.get(f"/console/tasks/{task['id']}")).text
    assert works.count('href="/console/submissions/') == 3
    snapshots = page.text[page.text.index('id="snapshots"') :]
    assert snapshots[: snapshots.index("</table>")].count("<tr") == 1 + 3  # the header and three snapshots
    assert task_counts[0] == task_counts[1] and reach_counts[0] == reach_counts[1], (task_counts, reach_counts)


async def test_a_submission_to_an_ordinary_task_has_no_reach_forms(api, tree, console):
    staff, _ = await api.person("staff", tree.east.id)
    task = await published_task(api, staff, tree.east.id)
    author, _ = await api.person("volunteer", tree.east_village.id)
    submission_id = await hand_in(api, author, task)
    page = await console.get(f"/console/submissions/{submission_id}")
    assert page.status == 200 and "该任务不是线上传播任务" in page.text and "更正传播数据" not in page.text
    refused = await console.post(f"/console/submissions/{submission_id}/repost", {"level": "county", "url": WEIBO_POST})
    assert refused.status == 409 and "该任务不是线上传播任务" in refused.text
    review = await console.get(f"/console/review/{submission_id}")
    assert f'href="/console/submissions/{submission_id}"' not in review.text
