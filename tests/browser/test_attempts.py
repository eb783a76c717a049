"""网络普法答题 in a real browser: a quiz typed into the task form (a bad count refused on the page),
and the task page's figures after people took it (screenshots to /tmp/shots-attempts)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from models.campaigns import Task
from tests.browser.conftest import Watched
from tests.factories import make_campaign
from tests.handlers.test_quiz import answer_all, bank, finish, quiz_task, start

SHOTS = Path("/tmp/shots-attempts")


async def test_a_quiz_typed_into_the_task_form(api, tree, tab: Watched):
    await bank(tree.east.id, 3)
    token, staff_id = await api.person("staff", tree.east.id)
    window = {"starts_at": "2026-12-01T00:00:00+08:00", "ends_at": "2026-12-31T00:00:00+08:00"}
    campaign = await make_campaign(api, token, tree.east.id, publish=False, kind="law_outreach", **window)
    await tab.sign_in(staff_id)
    page = tab.page
    await tab.goto(f"/console/campaigns/{campaign['id']}/tasks/new")
    await page.get_by_label("任务名称").fill("网络普法知识答题")
    await page.get_by_label("开始时间").type("2026-12-11 09:00")
    await page.get_by_label("结束时间").type("2026-12-20 18:00")
    await page.get_by_label("设置答题").check()
    await page.get_by_label("答题题数").fill("5")
    await page.get_by_label("单选题").check()
    await page.get_by_label("答题积分").fill("3")
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator("#f-quiz_count-err")).to_contain_text("只有 3 道")
    await page.screenshot(path=str(SHOTS / "task_form_quiz.png"), full_page=True)
    await page.get_by_label("答题题数").fill("3")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("任务已创建")).to_be_visible()
    await expect(page.locator("#quiz")).to_contain_text("还没有人交卷")
    (task,) = await Task.all()
    assert task.quiz and task.quiz["count"] == 3 and task.quiz["types"] == ["single"] and task.quiz["points"] == 3


async def test_the_task_page_shows_who_took_the_quiz(api, tree, tab: Watched):
    await bank(tree.county.id, 2)
    await bank(tree.east.id, 2, kind="judge")
    token, staff_id = await api.person("staff", tree.east.id)
    task = await quiz_task(api, token, tree.east.id, quiz={"count": 4, "attempts_per_day": 3, "points": 5})
    for org, right in ((tree.east_village.id, 4), (tree.east_village.id, 2), (tree.west_village.id, 3)):
        person, _ = await api.person("volunteer", org)
        attempt_id = (await start(api, person, task["id"])).body["id"]
        await answer_all(api, person, attempt_id, right=right)
        assert (await finish(api, person, attempt_id)).status == 200
    await tab.sign_in(staff_id)
    page = tab.page
    await tab.goto(f"/console/tasks/{task['id']}")
    await expect(page.locator("#quiz-stats")).to_contain_text("66.7%")
    await expect(page.locator("#quiz-questions tbody tr")).to_have_count(4)
    await expect(page.locator("#quiz-orgs tbody tr")).to_have_count(2)
    await page.screenshot(path=str(SHOTS / "task_quiz_stats.png"), full_page=True)
