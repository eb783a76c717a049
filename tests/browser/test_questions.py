"""题库 in a real browser: a CSV with a bad row imported through the page, the row's error shown,
then the good questions listed."""

from __future__ import annotations

import os

from playwright.async_api import expect

from models.quiz import Question
from tests.browser.conftest import Watched
from tests.questions import csv_bytes, row

SHOTS = os.environ.get("CONSOLE_SHOTS")  # a folder: screenshots of the pages for a person to look at

ROWS = [
    row("单选", "我国的根本大法是什么？", ["宪法", "刑法", "民法典"], "A", "宪法", "易"),  # 2
    row("多选", "个人信息处理者应当遵循哪些原则？", ["合法", "正当", "必要", "诚信"], "ABE", "个人信息保护法"),  # 3: E
    row("判断", "网络运营者应当对收集的用户信息严格保密。", [], "对", "网络安全法", "中"),  # 4
]


async def test_import_a_csv_with_a_bad_row(api, tree, tab: Watched):
    _, staff_id = await api.person("staff", tree.east.id)
    await tab.sign_in(staff_id)
    await tab.goto("/console/questions")
    page = tab.page
    await expect(page.locator("#question-list")).to_contain_text("题库中还没有题目")

    await page.get_by_label("题库文件（.xlsx 或 .csv）").set_input_files(
        files=[{"name": "题库.csv", "mimeType": "text/csv", "buffer": csv_bytes(ROWS)}]
    )
    await page.get_by_role("button", name="导入题库").click()

    result = page.locator("#bank-result")
    await expect(result.get_by_text("新增 2 道题")).to_be_visible()
    await expect(result.get_by_role("row", name="第 3 行")).to_contain_text("超出了已填写的选项")
    # The list refreshes itself: the good questions are there, the bad one is not.
    listed = page.locator("#question-list")
    await expect(listed.get_by_role("link", name="我国的根本大法是什么？")).to_be_visible()
    await expect(listed.get_by_role("link", name="网络运营者应当对收集的用户信息严格保密。")).to_be_visible()
    await expect(listed.get_by_text("个人信息处理者应当遵循哪些原则？")).to_have_count(0)
    assert await Question.filter(org_id=tree.east.id).count() == 2
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/questions.png", full_page=True)
        await page.get_by_role("link", name="我国的根本大法是什么？").click()
        await expect(page.get_by_role("heading", name="修改题目")).to_be_visible()
        await page.screenshot(path=f"{SHOTS}/question_form.png", full_page=True)
