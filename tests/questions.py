"""Question bank helpers shared by the API, console and browser tests: bodies and import files."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl

QUESTIONS = "/api/v1/questions"
HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "答案", "解析", "标签", "难度"]


def single(stem: str = "《网络安全法》自哪一年起施行？", **overrides: Any) -> dict[str, Any]:
    body = {
        "type": "single",
        "stem": stem,
        "options": ["2016 年", "2017 年", "2018 年"],
        "answer": [1],
        "explanation": "2017 年 6 月 1 日起施行。",
        "tags": ["网络安全法"],
        "difficulty": 1,
    }
    return {**body, **overrides}


def row(kind: str, stem: str, options: list[str], answer: str, tags: str = "", difficulty: str = "") -> list[str]:
    """One line of an import file: the six option cells padded."""
    cells = (options + [""] * 6)[:6]
    return [kind, stem, *cells, answer, "", tags, difficulty]


# Rows 2–4 good (row 3 a multi-choice with tags in two laws), 5–11 each wrong in its own way.
GOOD_AND_BAD = [
    row("单选", "宪法是国家的根本法吗？请选出正确说法", ["是", "不是"], "a", "宪法", "易"),  # 2
    row("多选", "个人信息处理应当遵循哪些原则？", ["合法", "正当", "必要", "随意"], "CAB", "个人信息保护法、宪法", "2"),
    row("判断", "网络运营者可以随意收集个人信息。", [], "错", "网络安全法", ""),  # 4
    row("单选", "答案字母不对的题目", ["甲", "乙"], "G"),  # 5
    row("单选", "答案超出选项的题目", ["甲", "乙"], "C"),  # 6
    row("多选", "缺少选项的题目", ["甲", "", "丙"], "AC"),  # 7
    row("单选", "选项太少的题目", ["甲"], "A"),  # 8
    row("单选", "宪法是国家的根本法吗?请选出正确说法 ", ["是", "不是"], "A"),  # 9: row 2 again (half-width ?)
    row("单选", "答案重复字母的题目", ["甲", "乙", "丙"], "AA"),  # 10
    row("判断", "判断题答案无效的题目", [], "也许"),  # 11
]
BAD_ROWS = {5: "G", 6: "超出", 7: "缺少选项B", 8: "选项太少", 9: "第 2 行", 10: "重复", 11: "也许"}


def xlsx(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for line in rows:
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], header: list[str] = HEADER, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)
