"""实名: set by the person or by a roster, seen by themselves and by staff, carried by reports and certificates."""

from __future__ import annotations

import csv
import io

import pytest

from models.certificates import Certificate
from models.users import User
from tests.handlers.test_roster import roster, upload

ME = "/api/v1/me"


async def test_a_person_sets_their_real_name_and_staff_see_it(api, tree, staff):
    token, uid = await api.person("volunteer", tree.east_village.id)

    reply = await api.call("PATCH", ME, token=token, json={"real_name": " 艾力·买买提 "})

    assert reply.status == 200, reply.body
    assert reply.body["real_name"] == "艾力·买买提"
    assert (await api.call("GET", ME, token=token)).body["real_name"] == "艾力·买买提"
    listed = await api.call("GET", "/api/v1/users", token=staff)
    assert {i["id"]: i["real_name"] for i in listed.body["items"]}[str(uid)] == "艾力·买买提"


@pytest.mark.parametrize("bad", ["张3", "王", "李\u200b明", "<b>王五</b>", "x" * 33])
async def test_a_bad_real_name_is_400_naming_the_field_in_chinese(api, tree, bad):
    token, uid = await api.person("volunteer", tree.east_village.id)

    reply = await api.call("PATCH", ME, token=token, json={"real_name": bad})

    assert reply.status == 400, reply.body
    reason = reply.body["error"]["details"]["fields"]["real_name"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reason), reason
    assert (await User.get(id=uid)).real_name is None


async def test_other_people_never_see_a_real_name(api, tree, staff):
    token, _ = await api.person("volunteer", tree.east_village.id)
    await api.call("PATCH", ME, token=token, json={"real_name": "王小明", "nickname": "小明同学"})
    other, _ = await api.person("volunteer", tree.east_village.id)

    board = await api.call("GET", "/api/v1/leaderboard", token=other)

    assert board.status == 200
    assert "王小明" not in str(board.body)
    assert "real_name" not in str(board.body)


async def test_a_roster_sets_the_real_name_and_keeps_a_chosen_nickname(api, tree):
    admin, _ = await api.person("admin")
    status, body = await upload(api, admin, roster([["王小明", "13800000001", "东村", "志愿者"]]))
    assert status == 200, body
    person = await User.get(phone_masked="138****0001")
    assert (person.real_name, person.nickname) == ("王小明", "王小明")
    await User.filter(id=person.id).update(nickname="小明同学")

    status, body = await upload(api, admin, roster([["王晓明", "13800000001", "东村", "志愿者"]]))

    assert status == 200, body
    person = await User.get(id=person.id)
    assert (person.real_name, person.nickname) == ("王晓明", "小明同学")


async def test_reports_carry_the_real_name_or_the_nickname_marked_as_one(api, tree, staff):
    named, named_id = await api.person("volunteer", tree.east_village.id)
    unnamed, unnamed_id = await api.person("volunteer", tree.east_village.id)
    await api.call("PATCH", ME, token=named, json={"real_name": "王小明", "nickname": "小明同学"})
    await api.call("PATCH", ME, token=unnamed, json={"nickname": "热心网友"})
    campaign = await api.call(
        "POST",
        "/api/v1/campaigns",
        token=staff,
        json={
            "title": "活动",
            "kind": "village_visit",
            "org_id": str(tree.east.id),
            "starts_at": "2026-01-01T00:00:00+08:00",
            "ends_at": "2027-12-31T00:00:00+08:00",
            "description": "",
        },
    )
    assert campaign.status == 201, campaign.body
    await api.call("POST", f"/api/v1/campaigns/{campaign.body['id']}/publish", token=staff)
    task = await api.call(
        "POST",
        f"/api/v1/campaigns/{campaign.body['id']}/tasks",
        token=staff,
        json={"title": "任务", "starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2027-12-30T00:00:00+08:00"},
    )
    assert task.status == 201, task.body
    for token in (named, unnamed):
        assert (await api.call("POST", f"/api/v1/tasks/{task.body['id']}/enroll", token=token)).status == 201

    reply = await api.call("GET", "/api/v1/reports/participation.csv", token=staff)

    assert reply.status == 200
    rows = {row["用户ID"]: row["姓名"] for row in csv.DictReader(io.StringIO(reply.body.lstrip("\ufeff")))}
    assert rows[str(named_id)] == "王小明"
    assert rows[str(unnamed_id)] == "热心网友（昵称）"


async def test_a_certificate_carries_the_real_name_or_the_nickname_marked_as_one(api, tree):
    token, uid = await api.person("volunteer", tree.east_village.id)
    await api.call("PATCH", ME, token=token, json={"nickname": "热心网友"})
    await User.filter(id=uid).update(service_hours=8)

    first = await api.call("GET", f"{ME}/certificate.png", token=token)
    await api.call("PATCH", ME, token=token, json={"real_name": "王小明"})
    second = await api.call("GET", f"{ME}/certificate.png", token=token)

    assert first.status == second.status == 200
    assert (await Certificate.get(serial=first.headers["X-Certificate-Serial"])).name == "热心网友（昵称）"
    assert (await Certificate.get(serial=second.headers["X-Certificate-Serial"])).name == "王小明"


async def test_the_export_holds_the_real_name(api, tree):
    token, _ = await api.person("volunteer", tree.east_village.id)
    await api.call("PATCH", ME, token=token, json={"real_name": "王小明"})

    exported = await api.call("GET", f"{ME}/export", token=token)

    assert exported.status == 200
    assert exported.body["user"]["real_name"] == "王小明"
