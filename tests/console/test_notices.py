"""通知 pages over real HTTP: the list with read counts, the form and its refusals, one notice with who has not read."""

from __future__ import annotations

import re

import aiohttp

from models.audit import AuditEntry
from models.notices import Notice, NoticeRecipient
from models.users import User
from tests.console.conftest import sign_in
from tests.factories import TASKS, make_campaign, make_task

FORM = {"title": "周六集合", "content": "请于周六上午九点到文化广场集合。", "roles": ["volunteer", "influencer"]}


async def members(api, tree, names: list[str]) -> list[tuple[str, int]]:
    """Volunteers of the east village with names on record."""
    made = []
    for name in names:
        token, uid = await api.person("volunteer", tree.east_village.id)
        await User.filter(id=uid).update(real_name=name)
        made.append((token, uid))
    return made


def form(org_id: int, **extra) -> list[tuple[str, str]]:
    """The form as a browser posts it: ``roles`` once per ticked box."""
    values = {**FORM, "org_id": str(org_id), "campaign_id": "", **extra}
    fields = []
    for name, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            fields.append((name, one))
    return fields


async def post(console, org_id: int, **extra):
    await console.get("/console/notices/new")
    return await console.post("/console/notices/new", _pairs(form(org_id, **extra)))


def _pairs(fields: list[tuple[str, str]]) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields:
        data.add_field(name, value)
    return data


async def test_navigation_has_notices_and_the_form_has_labelled_fields(console) -> None:
    page = await console.get("/console/")
    assert '<a href="/console/notices"' in page.text and ">通知</a>" in page.text
    form_page = await console.get("/console/notices/new")
    assert form_page.status == 200
    for label in ("标题", "内容", "接收组织", "活动", "志愿者", "网络达人"):
        assert f">{label}" in form_page.text, label
    for field_id in ("f-title", "f-content", "f-org_id", "f-campaign_id", "f-roles-volunteer", "f-roles-influencer"):
        assert f'for="{field_id}"' in form_page.text and f'id="{field_id}"' in form_page.text
    assert "发布</button>" in form_page.text


async def test_sending_goes_to_the_notice_page_and_is_audited(api, console, tree, staff_id) -> None:
    await members(api, tree, ["张三", "李四"])
    page = await post(console, tree.east.id)
    assert page.status == 200
    notice = await Notice.get(title="周六集合")
    assert page.url.endswith(f"/console/notices/{notice.id}?done=sent")
    assert "通知已发出" in page.text
    assert re.search(r'id="recipients">2<', page.text) and re.search(r'id="read">0<', page.text)
    assert "张三" in page.text and "李四" in page.text  # nobody has read it yet
    (entry,) = await AuditEntry.filter(action="notice")
    assert entry.actor_id == staff_id and entry.details["recipients"] == 2


async def test_the_list_shows_recipients_read_counts_and_a_bar(api, console, tree) -> None:
    people = await members(api, tree, ["张三", "李四", "王五", "赵六"])
    await post(console, tree.east.id)
    notice = await Notice.get(title="周六集合")
    await api.call("POST", f"/api/v1/notices/{notice.id}/read", token=people[0][0])

    page = await console.get("/console/notices")
    row = re.search(rf'<tr data-id="{notice.id}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert '<td class="num recipients">4</td>' in row.group(1)
    assert '<td class="num read">1</td>' in row.group(1)
    assert '<meter min="0" max="100" value="25"' in row.group(1)


async def test_the_notice_page_lists_only_who_has_not_read(api, console, tree) -> None:
    people = await members(api, tree, ["张三", "李四"])
    await post(console, tree.east.id)
    notice = await Notice.get(title="周六集合")
    await api.call("POST", f"/api/v1/notices/{notice.id}/read", token=people[0][0])

    page = await console.get(f"/console/notices/{notice.id}")
    unread = page.text.split('id="unread-title"')[1]
    assert "李四" in unread and "张三" not in unread
    assert re.search(r'id="read">1<', page.text)


async def test_the_unread_list_is_paged(api, console, tree) -> None:
    await User.bulk_create(
        [User(openid=f"page-{n}", real_name=f"志愿者{n:03d}", org_id=tree.east_village.id) for n in range(60)]
    )
    await post(console, tree.east.id)
    notice = await Notice.get(title="周六集合")
    first = await console.get(f"/console/notices/{notice.id}")
    assert "志愿者049" in first.text and "志愿者050" not in first.text
    assert f'href="/console/notices/{notice.id}?page=2"' in first.text
    second = await console.get(f"/console/notices/{notice.id}?page=2")
    assert "志愿者050" in second.text and "志愿者059" in second.text and "志愿者000" not in second.text


async def test_nobody_to_tell_is_said_on_the_form_and_nothing_is_written(console, tree) -> None:
    page = await post(console, tree.east.id)
    assert page.status == 400
    assert "没有符合条件的接收人" in page.text
    assert 'value="周六集合"' in page.text  # what was typed stays
    assert await Notice.all().count() == 0


async def test_field_refusals_are_named_in_chinese(api, console, tree) -> None:
    await members(api, tree, ["张三"])
    page = await post(console, tree.east.id, title="", roles=[])
    assert page.status == 400
    assert "请修改标红的内容后再发布" in page.text
    assert "请至少选择一种身份" in page.text
    assert '<div class="field-error" id="f-title-err">' in page.text
    assert await Notice.all().count() == 0


async def test_another_township_is_refused_on_the_page(api, console, tree) -> None:
    await api.person("volunteer", tree.west.id)
    page = await post(console, tree.west.id)
    assert page.status == 403
    assert "只能给本组织及下级组织发通知" in page.text
    assert await Notice.all().count() == 0


async def test_roles_and_a_campaign_choose_the_recipients(api, console, tree, staff_id) -> None:
    await members(api, tree, ["张三"])  # a volunteer of the east, enrolled in nothing
    influencer, influencer_id = await api.person("influencer", tree.west.id)
    staff_token = await api.login_as(staff_id)
    campaign = await make_campaign(api, staff_token, tree.east.id, title="美丽乡村巡礼")
    task = await make_task(api, staff_token, campaign["id"])
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=influencer)).status == 201
    new_form = await console.get("/console/notices/new")
    assert "美丽乡村巡礼（东镇）" in new_form.text

    page = await post(console, tree.east.id, campaign_id=campaign["id"], roles=["influencer"])
    assert page.status == 200, page.text[:2000]
    notice = await Notice.get(title="周六集合")
    assert set(await NoticeRecipient.filter(notice_id=notice.id).values_list("user_id", flat=True)) == {influencer_id}
    assert notice.roles == "influencer" and notice.campaign_id == int(campaign["id"])
    assert "美丽乡村巡礼" in page.text and "网络达人" in page.text


async def test_the_limit_per_staff_member_is_said_on_the_page(api, console, tree) -> None:
    await members(api, tree, ["张三"])
    for n in range(10):
        assert (await post(console, tree.east.id, title=f"通知{n}")).status == 200
    page = await post(console, tree.east.id, title="第十一条")
    assert page.status == 429
    assert "操作太频繁" in page.text
    assert int(page.headers["Retry-After"]) > 0
    assert await Notice.all().count() == 10


async def test_another_township_s_notice_is_not_found(api, console, tree) -> None:
    await api.person("volunteer", tree.west.id)
    _, west_staff = await api.person("staff", tree.west.id)
    west = await sign_in(api.service.base_url, west_staff)
    try:
        assert (await post(west, tree.west.id)).status == 200
    finally:
        await west.close()
    notice = await Notice.get(title="周六集合")
    assert (await console.get(f"/console/notices/{notice.id}")).status == 404
    assert f'data-id="{notice.id}"' not in (await console.get("/console/notices")).text


async def test_a_post_without_the_csrf_token_changes_nothing(api, console, tree) -> None:
    await members(api, tree, ["张三"])
    page = await console.post("/console/notices/new", _pairs(form(tree.east.id)), csrf=None)
    assert page.status == 403
    assert await Notice.all().count() == 0
