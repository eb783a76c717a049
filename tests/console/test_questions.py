"""题库: the list and its filters, the question form (with its errors), 停用/删除, the import, CSRF."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest

from models.audit import AuditEntry
from models.question_bank import create_question
from models.quiz import Question, QuizAttempt
from models.users import User
from tests.console.conftest import ConsoleClient
from tests.factories import make_campaign, make_task
from tests.questions import BAD_ROWS, GOOD_AND_BAD, csv_bytes, single, xlsx

PAGE = "/console/questions"


async def add(user_id: int, org, stem: str, **overrides) -> Question:
    return await create_question(single(stem, **overrides), org, await User.get(id=user_id))


async def upload(client: ConsoleClient, data: bytes, filename: str, *, csrf: str | None = "page"):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    return await client.post(f"{PAGE}/import", form, htmx=True, csrf=csrf)


def form(**overrides: str | list[str]) -> dict:
    values = {
        "type": "single",
        "stem": "《个人信息保护法》自何时起施行？",
        "option_a": "2021 年 9 月 1 日",
        "option_b": "2021 年 11 月 1 日",
        "option_c": "2022 年 1 月 1 日",
        "answer": "B",
        "explanation": "2021 年 11 月 1 日起施行。",
        "tags": "个人信息保护法、宪法",
        "difficulty": "2",
    }
    return {**values, **overrides}


async def test_the_list_shows_the_subtree_with_filters_and_pages(console, tree, staff_id) -> None:
    for n in range(22):
        await add(staff_id, tree.east, f"宪法第{n}题", tags=["宪法"])
    await add(staff_id, tree.east_village, "村里的判断题", type="judge", options=[], answer=False, tags=["网络安全法"])
    await add(staff_id, tree.west, "西镇的题")

    first = await console.get(PAGE)
    assert first.status == 200
    assert "题库" in first.text and 'href="/console/questions" aria-current="page"' in first.text
    assert "村里的判断题" in first.text and "宪法第21题" in first.text and "西镇的题" not in first.text
    assert "下一页" in first.text and "宪法第1题<" not in first.text
    judges = await console.get(f"{PAGE}?type=judge")
    assert "村里的判断题" in judges.text and "宪法第" not in judges.text and ">错<" in judges.text
    tagged = await console.get(f"{PAGE}?tag=网络安全法")
    assert "村里的判断题" in tagged.text and "宪法第" not in tagged.text
    searched = await console.get(f"{PAGE}?q=第12")
    assert "宪法第12题" in searched.text and "宪法第11题" not in searched.text
    none = await console.get(f"{PAGE}?q=没有这样的题")
    assert "没有符合条件的题目" in none.text
    bad = await console.get(f"{PAGE}?type=essay&cursor=@@")
    assert bad.status == 400 and "请从列表中选择题型" in bad.text


async def test_create_through_the_form_and_its_errors(console, tree) -> None:
    await console.get(f"{PAGE}/new")
    wrong = await console.post(f"{PAGE}/new", form(stem="", option_b="", answer=["A", "C"], difficulty="9"))

    assert wrong.status == 400
    for words in ("请填写题干", "缺少选项B", "难度须为"):
        assert words in wrong.text
    assert await Question.all().count() == 0
    judge = await console.post(f"{PAGE}/new", form(type="judge", answer=[]))
    assert judge.status == 400 and "判断题不填选项" in judge.text

    saved = await console.post(f"{PAGE}/new", form(org_id=str(tree.east_village.id)))
    assert saved.status == 200 and "题目已添加" in saved.text and "个人信息保护法》自何时起施行" in saved.text
    stored = await Question.get()
    assert (stored.answer, stored.tags, stored.difficulty, stored.org_id) == (
        [1],
        ["个人信息保护法", "宪法"],
        2,
        tree.east_village.id,
    )
    await console.get(f"{PAGE}/new")
    again = await console.post(
        f"{PAGE}/new", form(stem="《个人信息保护法》 自何时起施行?", org_id=str(tree.east_village.id))
    )
    assert again.status == 409 and f"编号 {stored.id}" in again.text
    await console.get(f"{PAGE}/new")
    judged = await console.post(
        f"{PAGE}/new", form(type="judge", stem="宪法是根本法。", option_a="", option_b="", option_c="", judge="true")
    )
    assert judged.status == 200 and (await Question.get(stem="宪法是根本法。")).answer is True
    assert await AuditEntry.filter(action="question_create").count() == 2


async def test_edit_and_other_townships_question(console, tree, staff_id) -> None:
    mine = await add(staff_id, tree.east, "要修改的题")
    theirs = await add(staff_id, tree.west, "西镇的题")

    page = await console.get(f"{PAGE}/{mine.id}/edit")
    assert page.status == 200 and 'value="2017 年"' in page.text and "checked" in page.text
    saved = await console.post(f"{PAGE}/{mine.id}/edit", form(stem="改过的题", answer=["C"]))
    assert saved.status == 200 and "题目已保存" in saved.text
    assert ((await Question.get(id=mine.id)).stem, (await Question.get(id=mine.id)).answer) == ("改过的题", [2])
    assert (await console.get(f"{PAGE}/{theirs.id}/edit")).status == 404
    refused = await console.post(f"{PAGE}/{theirs.id}/edit", form(stem="偷改"))
    assert refused.status == 404 and (await Question.get(id=theirs.id)).stem == "西镇的题"


async def test_retire_a_used_question_delete_an_unused_one(api, console, tree, staff_id) -> None:
    used = await add(staff_id, tree.east, "抽到过的题")
    unused = await add(staff_id, tree.east, "没用过的题")
    staff = await api.login_as(staff_id)
    task = await make_task(api, staff, (await make_campaign(api, staff, tree.east.id))["id"])
    now = datetime.now(UTC)
    await QuizAttempt.create(
        task_id=int(task["id"]),
        user_id=staff_id,
        local_day=date.today(),
        seed=1,
        question_ids=[used.id],
        started_at=now,
        deadline=now + timedelta(minutes=5),
    )

    await console.get(PAGE)
    retired = await console.post(f"{PAGE}/{used.id}/delete")
    assert retired.status == 200 and "已停用" in retired.text
    deleted = await console.post(f"{PAGE}/{unused.id}/delete")
    assert "题目已删除" in deleted.text
    assert (await Question.get(id=used.id)).status == "retired"
    assert not await Question.filter(id=unused.id).exists()
    listed = await console.get(f"{PAGE}?retired=1")
    assert "抽到过的题" in listed.text and "停用</span>" in listed.text
    changed = await console.post(f"{PAGE}/{used.id}/edit", form(stem="抽到过的题", answer=["C"]))
    assert changed.status == 409 and "只能修改解析、标签和难度" in changed.text
    assert await AuditEntry.filter(action="question_retire").count() == 2


@pytest.mark.parametrize(("filename", "encode"), [("bank.csv", csv_bytes), ("bank.xlsx", xlsx)])
async def test_import_shows_each_bad_row(console, tree, filename, encode) -> None:
    await console.get(PAGE)
    result = await upload(console, encode(GOOD_AND_BAD), filename)

    assert result.status == 200
    assert "导入完成：新增 3 道题" in result.text and f"{len(BAD_ROWS)} 行有问题" in result.text
    for number in BAD_ROWS:
        assert f"第 {number} 行" in result.text
    assert "与第 2 行题干重复" in result.text
    assert result.headers.get("HX-Trigger") == "questions-changed"
    assert await Question.filter(org_id=tree.east.id).count() == 3
    assert await AuditEntry.filter(action="question_import").count() == 1


async def test_import_of_a_wrong_file_says_so(console) -> None:
    await console.get(PAGE)
    result = await upload(console, csv_bytes([], header=["姓名", "手机号"]), "bank.csv")

    assert result.status == 200 and "题库未导入：表头须为" in result.text
    assert await Question.all().count() == 0


async def test_without_the_csrf_token_nothing_changes(console, tree, staff_id) -> None:
    question = await add(staff_id, tree.east, "留着的题")
    await console.get(PAGE)

    assert (await console.post(f"{PAGE}/new", form(), csrf=None)).status == 403
    assert (await console.post(f"{PAGE}/{question.id}/delete", {}, csrf="x")).status == 403
    assert (await upload(console, csv_bytes(GOOD_AND_BAD), "bank.csv", csrf=None)).status == 403
    assert await Question.all().count() == 1 and (await Question.get()).status == "active"
