"""The quiz in the console: the task form's 答题 fields (through TaskCreate/TaskUpdate) and the
task page's figures (attempts, people, pass rate, the worst question first, people by org)."""

from __future__ import annotations

from models.campaigns import Task
from tests.console.conftest import sign_in
from tests.console.test_campaigns import staff_token, task_form, window
from tests.factories import make_campaign
from tests.handlers.test_quiz import QUIZ, answer_all, bank, finish, quiz_task, start

QUIZ_FORM = {
    "quiz_on": "true",
    "quiz_count": "3",
    "quiz_tags": "网络安全法、宪法",
    "quiz_type_single": "true",
    "quiz_time_limit_s": "900",
    "quiz_attempts_per_day": "2",
    "quiz_pass_score": "80",
    "quiz_points": "6",
}


async def test_the_task_form_makes_a_quiz_task(api, tree, console):
    await bank(tree.county.id, 3)
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False, **window())
    path = f"/console/campaigns/{campaign['id']}/tasks/new"
    form = await console.get(path)
    for name in ("设置答题", "答题题数", "标签", "题型", "答题限时（秒）", "每日可答次数", "及格分", "答题积分"):
        assert name in form.text, name
    page = await console.post(path, task_form(**QUIZ_FORM))
    assert page.status == 200 and "任务已创建" in page.text, page.text[:2000]
    (task,) = await Task.all()
    assert task.quiz == {
        "count": 3,
        "tags": ["网络安全法", "宪法"],
        "types": ["single"],
        "time_limit_s": 900,
        "attempts_per_day": 2,
        "pass_score": 80,
        "points": 6,
    }
    assert "网络普法答题" in page.text and "还没有人交卷" in page.text

    edit = await console.get(f"/console/tasks/{task.id}/edit")
    assert 'value="900"' in edit.text and 'value="网络安全法、宪法"' in edit.text
    cleared = await console.post(f"/console/tasks/{task.id}/edit", task_form())  # 设置答题 unticked
    assert cleared.status == 200 and "已保存" in cleared.text
    assert (await Task.get(id=task.id)).quiz is None


async def test_bad_quiz_fields_are_field_errors(api, tree, console):
    await bank(tree.east.id, 2)
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False, **window())
    path = f"/console/campaigns/{campaign['id']}/tasks/new"
    await console.get(path)
    too_many = await console.post(path, task_form(**{**QUIZ_FORM, "quiz_type_single": ""}))
    assert too_many.status == 400 and "<strong>答题题数</strong>" in too_many.text
    assert "只有 2 道" in too_many.text
    odd = {**QUIZ_FORM, "quiz_count": "", "quiz_pass_score": "120", "quiz_time_limit_s": "很久"}
    page = await console.post(path, task_form(**odd))
    assert page.status == 400
    for name in ("答题题数", "及格分", "答题限时（秒）"):
        assert f"<strong>{name}</strong>" in page.text, name
    assert 'value="很久"' in page.text
    assert await Task.all().count() == 0
    refused = await console.post(path, task_form(**{**QUIZ_FORM, "quiz_count": "2"}), csrf=None)
    assert refused.status == 403 and await Task.all().count() == 0


async def test_the_task_page_shows_the_quiz_figures(api, tree, console):
    await bank(tree.east.id, 3)
    token = await staff_token(api, tree.east.id)
    task = await quiz_task(api, token, tree.east.id)
    takers = [await api.person("volunteer", org) for org in (tree.east_village.id, tree.west_village.id)]
    for (person, _), right in zip(takers, (3, 1), strict=True):
        attempt_id = (await start(api, person, task["id"])).body["id"]
        await answer_all(api, person, attempt_id, right=right)
        assert (await finish(api, person, attempt_id)).status == 200

    page = await console.get(f"/console/tasks/{task['id']}")
    assert page.status == 200
    assert "交卷次数" in page.text and "及格率" in page.text and "50.0%" in page.text
    assert f"{QUIZ['time_limit_s']} 秒" in page.text
    rows = page.text.split('id="quiz-questions"')[1].split("</table>")[0]
    assert rows.index("50.0%") < rows.index("100.0%")  # the worst question first
    assert "题" in rows and "下列关于网络安全法的说法" in rows
    orgs = page.text.split('id="quiz-orgs"')[1].split("</table>")[0]
    assert "东村" in orgs and "西村" in orgs

    _, west_id = await api.person("staff", tree.west.id)
    other = await sign_in(api.service.base_url, west_id)
    try:
        assert (await other.get(f"/console/tasks/{task['id']}")).status == 403
    finally:
        await other.close()
