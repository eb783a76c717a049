"""The question bank API: write, validate, scope, list, retire or delete, import."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest

from models.audit import AuditEntry
from models.question_bank import stem_key
from models.quiz import Question, QuizAnswer, QuizAttempt
from tests.factories import make_campaign, make_task
from tests.questions import BAD_ROWS, GOOD_AND_BAD, HEADER, QUESTIONS, csv_bytes, row, single, xlsx


async def create(api, token: str, body: dict, status: int = 201) -> dict:
    reply = await api.call("POST", QUESTIONS, token=token, json=body)
    assert reply.status == status, reply.body
    return reply.body


async def upload(api, token: str, data: bytes, filename: str = "bank.xlsx", query: str = ""):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    url = f"{api.service.base_url}{QUESTIONS}/import{query}"
    async with api.session.post(url, data=form, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def test_staff_create_each_type_in_their_org(api, tree, staff) -> None:
    one = await create(api, staff, single())
    multi = single("哪些属于个人敏感信息？", type="multi", options=["A", "B", "C"], answer=[2, 0])
    many = await create(api, staff, multi)
    judge = await create(api, staff, single("宪法是国家的根本法。", type="judge", options=[], answer=True))

    assert (one["type"], one["answer"], one["org_id"], one["status"]) == ("single", [1], str(tree.east.id), "active")
    assert many["answer"] == [0, 2]  # stored sorted
    assert (judge["options"], judge["answer"]) == ([], True)
    assert set(one) == {
        "id", "type", "stem", "options", "answer", "explanation", "tags", "difficulty", "status", "org_id", "created_at"
    }  # fmt: skip
    stored = await Question.get(id=int(one["id"]))
    assert len(stored.stem_key) == 64 and stored.stem_key == stem_key("《网络安全法》自哪一年起施行?")
    assert await AuditEntry.filter(action="question_create").count() == 3


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"stem": "  "}, "stem", "请填写题干"),
        ({"stem": "长" * 501}, "stem", "500"),
        ({"options": ["只有一个"], "answer": [0]}, "options", "2–6"),
        ({"options": ["1", "2", "3", "4", "5", "6", "7"]}, "options", "2–6"),
        ({"options": ["甲", "甲"]}, "options", "重复"),
        ({"options": ["甲", "长" * 201]}, "options", "200"),
        ({"answer": [0, 1]}, "answer", "只能有一个"),
        ({"answer": [3]}, "answer", "超出"),
        ({"answer": []}, "answer", "请选择"),
        ({"answer": True}, "answer", "请选择"),
        ({"type": "judge", "answer": [0]}, "options", "判断题不设选项"),
        ({"type": "judge", "options": [], "answer": [0]}, "answer", "对"),
        ({"explanation": "长" * 1001}, "explanation", "1000"),
        ({"tags": [f"标签{i}" for i in range(11)]}, "tags", "10"),
        ({"tags": ["长" * 21]}, "tags", "20"),
        ({"difficulty": 4}, "difficulty", "难度"),
    ],
)
async def test_bad_questions_name_the_field_in_chinese(api, staff, changes, field, words) -> None:
    body = await create(api, staff, single(**changes), status=400)

    assert body["error"]["code"] == "invalid_request"
    assert words in body["error"]["details"]["fields"][field]
    assert await Question.all().count() == 0


async def test_a_stem_alike_but_for_spaces_and_punctuation_is_a_duplicate(api, tree, staff) -> None:
    first = await create(api, staff, single("《网络安全法》自哪一年起施行？"))

    body = await create(api, staff, single(" 《网络安全法》 自哪一年起施行?"), status=409)

    assert body["error"]["code"] == "duplicate_question"
    assert first["id"] in body["error"]["message"] and body["error"]["details"]["question_id"] == first["id"]
    other, _ = await api.person("staff", tree.west.id)
    assert (await create(api, other, single("《网络安全法》自哪一年起施行？")))["org_id"] == str(tree.west.id)


async def test_scope_other_township_is_404_volunteers_403(api, tree, staff) -> None:
    mine = await create(api, staff, single())
    west, _ = await api.person("staff", tree.west.id)
    volunteer, _ = await api.person("volunteer", tree.east.id)
    admin, _ = await api.person("admin")

    for method in ("GET", "PATCH", "DELETE"):
        reply = await api.call(method, f"{QUESTIONS}/{mine['id']}", token=west, json={} if method == "PATCH" else None)
        assert reply.status == 404, (method, reply.body)
    assert (await api.call("GET", QUESTIONS, token=west)).body["items"] == []
    assert (await api.call("GET", QUESTIONS, token=volunteer)).status == 403
    assert (await api.call("POST", QUESTIONS, token=volunteer, json=single("另一题"))).status == 403
    assert (await api.call("GET", f"{QUESTIONS}/{mine['id']}", token=admin)).status == 200
    refused = await api.call("POST", QUESTIONS, token=staff, json=single("跨镇", org_id=str(tree.west.id)))
    assert refused.status == 403
    inside = await create(api, staff, single("村里的题", org_id=str(tree.east_village.id)))
    assert inside["org_id"] == str(tree.east_village.id)


async def test_list_filters_and_pages_newest_first(api, staff) -> None:
    made = [await create(api, staff, single(f"宪法第{i}题", tags=["宪法"])) for i in range(3)]
    await create(api, staff, single("个人信息第1题", type="multi", answer=[0, 1], tags=["个人信息保护法"]))
    judge = await create(api, staff, single("判断题一道", type="judge", options=[], answer=False, tags=[]))

    async def ids(query: str) -> list[str]:
        reply = await api.call("GET", f"{QUESTIONS}?{query}", token=staff)
        assert reply.status == 200, reply.body
        return [q["id"] for q in reply.body["items"]]

    assert await ids("tag=宪法") == [m["id"] for m in reversed(made)]
    assert len(await ids("type=multi")) == 1 and await ids("type=judge") == [judge["id"]]
    assert len(await ids("q=个人信息")) == 1
    first = await api.call("GET", f"{QUESTIONS}?limit=2", token=staff)
    second = await api.call("GET", f"{QUESTIONS}?limit=2&cursor={first.body['next_cursor']}", token=staff)
    third = await api.call("GET", f"{QUESTIONS}?limit=2&cursor={second.body['next_cursor']}", token=staff)
    seen = [q["id"] for page in (first, second, third) for q in page.body["items"]]
    assert seen == sorted(seen, key=int, reverse=True) and len(seen) == 5 and third.body["next_cursor"] is None
    assert (await api.call("GET", f"{QUESTIONS}?type=essay", token=staff)).status == 400


async def _attempt(api, staff: str, tree, question_ids: list[int]) -> QuizAttempt:
    campaign = await make_campaign(api, staff, tree.east.id)
    task = await make_task(api, staff, campaign["id"])
    _, volunteer = await api.person("volunteer", tree.east.id)
    now = datetime.now(UTC)
    return await QuizAttempt.create(
        task_id=int(task["id"]),
        user_id=volunteer,
        local_day=date.today(),
        seed=7,
        question_ids=question_ids,
        started_at=now,
        deadline=now + timedelta(minutes=10),
    )


async def test_a_used_question_is_retired_an_unused_one_deleted(api, tree, staff) -> None:
    drawn = await create(api, staff, single("抽到过的题"))
    answered = await create(api, staff, single("答过的题"))
    unused = await create(api, staff, single("没用过的题"))
    await _attempt(api, staff, tree, [int(drawn["id"])])
    attempt = await _attempt(api, staff, tree, [])
    await QuizAnswer.create(attempt=attempt, question_id=int(answered["id"]), choice=[1], answered_at=datetime.now(UTC))

    outcomes = {}
    for q in (drawn, answered, unused):
        reply = await api.call("DELETE", f"{QUESTIONS}/{q['id']}", token=staff)
        assert reply.status == 204
        outcomes[q["stem"]] = reply.headers["X-Question-Outcome"]

    assert outcomes == {"抽到过的题": "retired", "答过的题": "retired", "没用过的题": "deleted"}
    assert not await Question.filter(id=int(unused["id"])).exists()
    assert (await Question.get(id=int(drawn["id"]))).status == "retired"
    listed = await api.call("GET", QUESTIONS, token=staff)
    assert listed.body["items"] == []
    with_retired = await api.call("GET", f"{QUESTIONS}?retired=1", token=staff)
    assert {q["status"] for q in with_retired.body["items"]} == {"retired"}
    assert await AuditEntry.filter(action="question_retire").count() == 3
    # A used question keeps its wording and answer; its tags may still change.
    reply = await api.call("PATCH", f"{QUESTIONS}/{drawn['id']}", token=staff, json={"answer": [0]})
    assert reply.status == 409 and reply.error_code == "question_in_use"
    reply = await api.call("PATCH", f"{QUESTIONS}/{drawn['id']}", token=staff, json={"tags": ["宪法"]})
    assert reply.status == 200 and reply.body["tags"] == ["宪法"]


async def test_patch_changes_only_what_is_given(api, staff) -> None:
    q = await create(api, staff, single())
    other = await create(api, staff, single("另一道题"))

    reply = await api.call("PATCH", f"{QUESTIONS}/{q['id']}", token=staff, json={"difficulty": 3, "answer": [2]})
    assert reply.status == 200, reply.body
    assert (reply.body["difficulty"], reply.body["answer"], reply.body["stem"]) == (3, [2], q["stem"])
    to_judge = await api.call("PATCH", f"{QUESTIONS}/{q['id']}", token=staff, json={"type": "judge", "answer": True})
    assert to_judge.status == 200 and to_judge.body["options"] == []
    clash = await api.call("PATCH", f"{QUESTIONS}/{q['id']}", token=staff, json={"stem": "另一道题。"})
    assert clash.status == 409 and clash.body["error"]["details"]["question_id"] == other["id"]
    bad = await api.call("PATCH", f"{QUESTIONS}/{q['id']}", token=staff, json={"difficulty": 0})
    assert bad.status == 400 and "difficulty" in bad.body["error"]["details"]["fields"]
    entry = await AuditEntry.filter(action="question_update").order_by("id").first()
    assert entry.target == f"question:{q['id']}" and entry.details["fields"] == ["answer", "difficulty"]


@pytest.mark.parametrize(
    ("filename", "encode"),
    [
        ("bank.xlsx", xlsx),
        ("bank.csv", csv_bytes),
        ("bank-gbk.csv", lambda rows: csv_bytes(rows, encoding="gb18030")),
    ],
)
async def test_import_creates_good_rows_and_reports_each_bad_one(api, tree, staff, filename, encode) -> None:
    existing = await create(api, staff, single("已在题库中的题"))
    rows = [*GOOD_AND_BAD, row("单选", "已在题库中的题！", ["甲", "乙"], "A")]  # row 12

    status, body = await upload(api, staff, encode(rows), filename)

    assert status == 200, body
    assert body["created"] == 3
    errors = {e["row"]: e["reason"] for e in body["errors"]}
    assert sorted(errors) == [*sorted(BAD_ROWS), 12]
    for number, words in BAD_ROWS.items():
        assert words in errors[number], (number, errors[number])
    assert existing["id"] in errors[12]
    multi = await Question.get(stem="个人信息处理应当遵循哪些原则？")
    assert (multi.type, multi.answer, multi.difficulty) == ("multi", [0, 1, 2], 2)
    assert multi.tags == ["个人信息保护法", "宪法"]
    judge = await Question.get(stem="网络运营者可以随意收集个人信息。")
    assert (judge.answer, judge.options, judge.difficulty, judge.org_id) == (False, [], 1, tree.east.id)
    entry = await AuditEntry.get(action="question_import")
    assert (entry.details["created"], entry.details["errors"]) == (3, 8)


@pytest.mark.parametrize(
    "data",
    [
        xlsx([row("单选", "题", ["甲", "乙"], "A")], header=["题型", "题干", "答案"]),
        csv_bytes([row("单选", "题", ["甲", "乙"], "A")], header=[*HEADER[:-1], "难易"]),
        b"\x00\x01 not a table",
        b"PK\x03\x04 a broken zip",
    ],
)
async def test_a_file_that_is_not_a_question_table_creates_nothing(api, staff, data) -> None:
    status, body = await upload(api, staff, data)

    assert status == 400, body
    assert body["error"]["code"] == "invalid_question_file"
    assert await Question.all().count() == 0


async def test_import_into_an_org_outside_the_subtree_is_refused(api, tree, staff) -> None:
    good = xlsx([row("单选", "题", ["甲", "乙"], "A")])

    status, _ = await upload(api, staff, good, query=f"?org_id={tree.west.id}")
    assert status == 403
    status, body = await upload(api, staff, good, query=f"?org_id={tree.east_village.id}")
    assert status == 200 and body["created"] == 1
    assert (await Question.get(stem="题")).org_id == tree.east_village.id


async def test_the_same_stem_sent_at_once_is_created_once(api, staff) -> None:
    replies = await asyncio.gather(*(api.call("POST", QUESTIONS, token=staff, json=single()) for _ in range(4)))

    assert sorted(r.status for r in replies) == [201, 409, 409, 409], [r.body for r in replies]
    created = next(r.body["id"] for r in replies if r.status == 201)
    assert all(r.body["error"]["details"]["question_id"] == created for r in replies if r.status == 409)
    assert await Question.all().count() == 1
