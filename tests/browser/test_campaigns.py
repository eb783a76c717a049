"""活动 in a real browser: a campaign and a task typed into the forms, published, the task listed;
a task's check-in code and roster downloaded from its page."""

from __future__ import annotations

from playwright.async_api import Dialog, expect

from models.campaigns import Campaign, Task
from server.console.render import local_time
from tests.browser.conftest import Watched
from tests.factories import make_campaign, make_task


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_a_campaign_and_its_task_typed_in_and_published(api, tree, tab: Watched):
    _, staff_id = await api.person("staff", tree.east.id)
    await tab.sign_in(staff_id)
    page = tab.page
    page.on("dialog", accept)
    await tab.goto("/console/campaigns")
    await page.get_by_role("link", name="新建活动").click()
    await page.get_by_label("活动名称").fill("网络普法进村")
    await page.get_by_label("类型").select_option(label="网络普法")
    await page.get_by_label("所属组织").select_option(label="　东村")
    await page.get_by_label("开始时间").type("2026-12-10 09:00")
    await page.get_by_label("结束时间").type("2026-12-10 08:00")  # before the start: refused
    await page.get_by_label("简介").fill("到各村宣讲法律知识")
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator(".field-error")).to_contain_text("结束时间必须晚于开始时间")
    await expect(page.get_by_label("活动名称")).to_have_value("网络普法进村")
    await page.get_by_label("结束时间").fill("2026-12-20 18:00")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("heading", name="网络普法进村")).to_be_visible()
    await expect(page.locator("h1 .badge")).to_have_text("草稿")

    await page.get_by_role("link", name="新建任务").click()
    await page.get_by_label("任务名称").fill("村民普法讲座")
    await page.get_by_label("开始时间").type("2026-12-11 09:00")
    await page.get_by_label("结束时间").type("2026-12-11 11:30")
    await page.locator("#f-points").fill("5")  # 积分 (not 答题积分)
    await page.get_by_label("服务时长").fill("2.5")
    await page.get_by_label("地点").fill("东村文化礼堂")
    await page.get_by_label("纬度").fill("30.2741")
    await page.get_by_label("经度").fill("120.1551")
    await page.get_by_label("签到范围").fill("200")
    await page.get_by_label("需要签到").check()
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("任务已创建")).to_be_visible()
    await expect(page.get_by_text("还没有人报名")).to_be_visible()

    await page.get_by_role("link", name="网络普法进村").click()
    await page.get_by_role("button", name="发布").click()
    await expect(page.get_by_text("活动已发布")).to_be_visible()
    row = page.locator("#tasks tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("村民普法讲座")
    await expect(row).to_contain_text("不限 / 0")

    campaign = await Campaign.get(title="网络普法进村")
    assert campaign.status == "published" and campaign.org_id == tree.east_village.id
    task = await Task.get(campaign_id=campaign.id)
    assert local_time(task.starts_at) == "2026-12-11 09:00" and task.quota is None and task.checkin_required
    await tab.goto("/console/campaigns")
    await expect(page.locator("table.list tbody tr")).to_contain_text("已发布")


async def test_a_task_page_downloads_its_code_and_roster(api, tree, tab: Watched):
    token, staff_id = await api.person("staff", tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id)
    task = await make_task(api, token, campaign["id"])
    volunteer, _ = await api.person("volunteer", tree.east_village.id)
    assert (await api.call("POST", f"/api/v1/tasks/{task['id']}/enroll", token=volunteer)).status == 201
    await tab.sign_in(staff_id)
    await tab.goto(f"/console/tasks/{task['id']}")
    page = tab.page
    await expect(page.locator("#enrollments tbody tr")).to_have_count(1)
    async with page.expect_download() as code:
        await page.get_by_role("link", name="下载签到码").click()
    assert (await code.value).suggested_filename == "签到码-拍摄村貌.png"
    async with page.expect_download() as roster:
        await page.get_by_role("link", name="导出名单").click()
    assert (await roster.value).suggested_filename == "报名名单-拍摄村貌.xlsx"
