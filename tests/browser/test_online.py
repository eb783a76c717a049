"""Online work in a real browser: the task form's 线上传播任务 section typed in, and a submission's
reach page with its chart drawn, a staff correction and an official repost, without a console error
or CSP violation."""

from __future__ import annotations

from playwright.async_api import expect

from models.campaigns import Task
from models.reach import ReachSnapshot
from models.users import User
from server.demo_online import tell_online
from tests.browser.conftest import Watched
from tests.browser.test_every_page import UNLABELLED
from tests.factories import make_campaign


async def test_the_online_section_typed_in_and_shown_on_the_task(api, tree, tab: Watched):
    token, staff_id = await api.person("staff", tree.east.id)
    window = {"starts_at": "2026-12-01T00:00:00+08:00", "ends_at": "2026-12-31T00:00:00+08:00"}
    campaign = await make_campaign(api, token, tree.east.id, publish=False, **window)
    await tab.sign_in(staff_id)
    page = tab.page
    await tab.goto(f"/console/campaigns/{campaign['id']}/tasks/new")
    assert await page.evaluate(UNLABELLED) == []
    await page.get_by_label("任务名称").fill("美丽家乡短视频")
    await page.get_by_label("开始时间").fill("2026-12-11 09:00")
    await page.get_by_label("结束时间").fill("2026-12-20 18:00")
    online = page.locator("#online-fields")
    await online.get_by_label("线上任务").check()
    await online.get_by_label("微博").check()
    await online.get_by_label("抖音").check()
    await online.get_by_label("传播档位").fill("1万=5\n十万=20")
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator(".alert")).to_contain_text("第 2 行“十万=20”看不懂")
    await expect(page.locator("#online-fields").get_by_label("微博")).to_be_checked()
    await page.locator("#online-fields").get_by_label("传播档位").fill("1万=5\n100000=20")
    await page.get_by_label("转载奖励（省级）").fill("3")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("任务已创建")).to_be_visible()
    section = page.locator("#online")
    await expect(section).to_contain_text("抖音、微博")
    await expect(section).to_contain_text("浏览量达 10000 得 5 积分；浏览量达 100000 得 20 积分")
    await expect(section).to_contain_text("省级 3 积分")
    (task,) = await Task.all()
    assert task.online is not None and task.online["repost_bonus"]["province"] == 3


async def test_the_reach_page_draws_its_chart_and_takes_a_correction_and_a_repost(api, tree, tab: Watched):
    staff = await User.create(openid="reach-staff", nickname="李老师", role="staff", org_id=tree.county.id)
    influencer = await User.create(openid="reach-v", nickname="达人", role="influencer", org_id=tree.east.id)
    influencer = await User.get(id=influencer.id).select_related("org")
    story = await tell_online(tree.county.id, influencer, staff, api.service.services.storage)
    await tab.sign_in(staff.id)
    page = tab.page
    await tab.goto(f"/console/review/{story.submission_id}")
    await page.get_by_role("link", name="传播数据与转载奖励").click()
    await expect(page.get_by_role("heading", name=f"提交 #{story.submission_id} 传播数据")).to_be_visible()
    await expect(page.locator("#chart-reach")).to_have_attribute("data-drawn", "1")
    await expect(page.locator("#chart-reach canvas")).to_have_count(1)
    shot = page.locator("#snapshots img.shot")
    await expect(shot).to_have_count(1)
    assert await shot.evaluate("img => img.complete && img.naturalWidth > 0")
    link = page.locator("#links a")
    assert await link.get_attribute("rel") == "noopener noreferrer" and await link.get_attribute("target") == "_blank"
    assert await page.evaluate(UNLABELLED) == []

    form = page.locator("#correct-form")
    await form.get_by_label("截图时间").fill("2020-01-01 09:00")
    await form.get_by_label("浏览量").fill("9000")
    await form.get_by_role("button", name="保存更正").click()
    await expect(page.get_by_text("已更正传播数据")).to_be_visible()
    await expect(page.locator("#snapshots tbody tr").first).to_contain_text("更正")
    assert await ReachSnapshot.filter(submission_id=story.submission_id, correction=True).count() == 1

    repost = page.locator("#repost-form")
    await repost.get_by_label("转载级别").select_option(label="市级")
    await repost.get_by_label("转载链接").fill("https://www.hengyang.gov.cn/news/1.html")
    await repost.get_by_role("button", name="记录转载").click()
    await expect(page.get_by_text("已记录官方转载")).to_be_visible()
    await expect(page.locator("#repost-list tbody tr")).to_have_count(2)
    repost = page.locator("#repost-form")
    await repost.get_by_label("转载级别").select_option(label="县级")
    await repost.get_by_label("转载链接").fill("https://www.qidong.gov.cn/again.html")
    await repost.get_by_role("button", name="记录转载").click()
    await expect(page.locator("#repost-form .alert")).to_contain_text("该提交的县级转载已记录过")
    await expect(page.locator("#chart-reach")).to_have_attribute("data-drawn", "1")
