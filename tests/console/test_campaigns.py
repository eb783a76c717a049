"""活动 pages over real HTTP: lists in scope, the campaign and task forms, publish, close, cancel,
the check-in code download, the roster export, and refusals (other township, no CSRF)."""

from __future__ import annotations

import io
from datetime import timedelta

import zxingcpp
from openpyxl import load_workbook
from PIL import Image

from models.audit import AuditEntry
from models.campaigns import Campaign, Task
from models.enrollment import CHECKIN_PAGE, scene_for
from models.users import User
from server.console.render import local_time
from server.kernel.clock import now_utc
from server.wechat.fake import wxacode_text
from tests.console.conftest import sign_in
from tests.factories import TASKS, make_campaign, make_task

CAMPAIGN_FORM = {
    "title": "网络普法进村",
    "kind": "law_outreach",
    "starts_at": "2026-12-10 09:00",
    "ends_at": "2026-12-20 18:00",
    "description": "普法宣传",
}


def task_form(**overrides: str) -> dict[str, str]:
    form = {
        "title": "普法讲座",
        "starts_at": "2026-12-11 09:00",
        "ends_at": "2026-12-11 11:30",
        "quota": "",
        "points": "5",
        "service_hours": "2.5",
        "location_name": "",
        "lat": "",
        "lng": "",
        "radius_m": "",
    }
    form.update(overrides)
    return form


async def staff_token(api, org_id: int) -> str:
    token, _ = await api.person("staff", org_id)
    return token


async def test_the_list_shows_drafts_of_the_subtree_only(api, tree, console):
    east = await staff_token(api, tree.east.id)
    west = await staff_token(api, tree.west.id)
    await make_campaign(api, east, tree.east_village.id, publish=False, title="东村草稿活动")
    await make_campaign(api, east, tree.east.id, title="东镇已发布活动")
    await make_campaign(api, west, tree.west.id, publish=False, title="西镇草稿活动")
    await make_campaign(api, west, tree.west.id, title="西镇已发布活动")

    page = await console.get("/console/campaigns")
    assert page.status == 200
    assert "东村草稿活动" in page.text and "东镇已发布活动" in page.text
    assert "西镇" not in page.text
    assert "草稿" in page.text and "新建活动" in page.text
    # newest first
    assert page.text.index("东镇已发布活动") < page.text.index("东村草稿活动")

    drafts = await console.get("/console/campaigns?status=draft")
    assert "东村草稿活动" in drafts.text and "东镇已发布活动" not in drafts.text
    closed = await console.get("/console/campaigns?status=closed")
    assert closed.status == 200 and "没有“已结束”的活动" in closed.text


async def test_the_list_pages_with_a_next_link(api, tree, console):
    token = await staff_token(api, tree.east.id)
    for n in range(21):
        await make_campaign(api, token, tree.east.id, publish=False, title=f"活动{n:02d}")
    first = await console.get("/console/campaigns")
    assert "活动20" in first.text and "活动00" not in first.text and "下一页" in first.text
    next_url = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = await console.get(next_url.replace("&amp;", "&"))
    assert "活动00" in second.text and "活动20" not in second.text and "下一页" not in second.text
    bad = await console.get("/console/campaigns?cursor=nonsense")
    assert bad.status == 400 and "<html" in bad.text


async def test_the_new_campaign_form_creates_a_draft(api, tree, console, staff_id):
    form = await console.get("/console/campaigns/new")
    assert form.status == 200
    for name in ("活动名称", "类型", "所属组织", "开始时间", "结束时间", "简介", "保存", "网络普法"):
        assert name in form.text
    assert "东村" in form.text and "西镇" not in form.text

    page = await console.post("/console/campaigns/new", {**CAMPAIGN_FORM, "org_id": str(tree.east_village.id)})
    assert page.status == 200 and "/console/campaigns/" in page.url
    (campaign,) = await Campaign.all()
    assert campaign.title == "网络普法进村" and campaign.status == "draft"
    assert campaign.org_id == tree.east_village.id and campaign.created_by_id == staff_id
    assert local_time(campaign.starts_at) == "2026-12-10 09:00"
    assert page.url.endswith(f"/console/campaigns/{campaign.id}?done=created")
    assert "发布" in page.text and "新建任务" in page.text


async def test_bad_campaign_input_shows_field_errors_and_creates_nothing(api, tree, console):
    await console.get("/console/campaigns/new")
    bad = {**CAMPAIGN_FORM, "title": " ", "starts_at": "2026-13-40 09:00", "ends_at": "明天"}
    bad["org_id"] = str(tree.east.id)
    page = await console.post("/console/campaigns/new", bad)
    assert page.status == 400
    assert "请修改标红的内容后再保存" in page.text
    assert "<strong>活动名称</strong>" in page.text and "<strong>开始时间</strong>" in page.text
    assert "日期或时间不存在" in page.text and "2026-12-10 09:00" in page.text
    assert 'value="明天"' in page.text and "普法宣传" in page.text  # what was typed stays
    assert 'aria-invalid="true"' in page.text

    backwards = {**CAMPAIGN_FORM, "starts_at": "2026-12-20 09:00", "ends_at": "2026-12-10 09:00"}
    page = await console.post("/console/campaigns/new", {**backwards, "org_id": str(tree.east.id)})
    assert page.status == 400 and "结束时间必须晚于开始时间" in page.text

    page = await console.post("/console/campaigns/new", {**CAMPAIGN_FORM, "kind": "party", "org_id": "x"})
    assert page.status == 400 and "请选择活动类型" in page.text and "请选择所属组织" in page.text
    assert await Campaign.all().count() == 0


async def test_a_campaign_for_another_township_is_refused(api, tree, console):
    await console.get("/console/campaigns/new")
    page = await console.post("/console/campaigns/new", {**CAMPAIGN_FORM, "org_id": str(tree.west.id)})
    assert page.status == 403 and "只能在本组织及下级组织发布活动" in page.text
    assert await Campaign.all().count() == 0


async def test_editing_a_campaign(api, tree, console):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False)
    form = await console.get(f"/console/campaigns/{campaign['id']}/edit")
    assert form.status == 200 and 'value="网络大V进乡村"' in form.text
    changed = {**CAMPAIGN_FORM, "title": "改过的活动"}
    page = await console.post(f"/console/campaigns/{campaign['id']}/edit", changed)
    assert page.status == 200 and "已保存" in page.text and "改过的活动" in page.text
    stored = await Campaign.get(id=int(campaign["id"]))
    assert stored.title == "改过的活动" and stored.kind == "law_outreach"
    page = await console.post(f"/console/campaigns/{campaign['id']}/edit", {**changed, "ends_at": ""})
    assert page.status == 400 and "必填" in page.text


async def test_publish_and_close_are_audited(api, tree, console, staff_id):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False)
    path = f"/console/campaigns/{campaign['id']}"
    page = await console.get(path)
    assert ">发布</button>" in page.text and "结束活动" not in page.text
    page = await console.post(f"{path}/publish")
    assert page.status == 200 and "活动已发布" in page.text and "结束活动" in page.text
    assert (await Campaign.get(id=int(campaign["id"]))).status == "published"
    entry = await AuditEntry.get(action="publish")
    assert entry.actor_id == staff_id and entry.target == f"campaign:{campaign['id']}"

    page = await console.post(f"{path}/close")
    assert page.status == 200 and "活动已结束" in page.text and "新建任务" not in page.text
    assert (await Campaign.get(id=int(campaign["id"]))).status == "closed"
    assert await AuditEntry.filter(action="close", actor_id=staff_id).count() == 1
    again = await console.post(f"{path}/publish")
    assert again.status == 409 and "活动状态不能回退" in again.text


async def test_a_task_with_an_empty_quota_is_unlimited(api, tree, console):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False, **window())
    form = await console.get(f"/console/campaigns/{campaign['id']}/tasks/new")
    for name in ("任务名称", "名额", "积分", "服务时长", "地点", "纬度", "经度", "签到范围", "需要签到", "保存"):
        assert name in form.text
    place = {"location_name": "村文化礼堂", "lat": "30.123456", "lng": "120.5", "radius_m": "150"}
    fields = task_form(**place, checkin_required="true")
    page = await console.post(f"/console/campaigns/{campaign['id']}/tasks/new", fields)
    assert page.status == 200 and "任务已创建" in page.text and "不限" in page.text
    (task,) = await Task.all()
    assert task.quota is None and task.points == 5 and float(task.service_hours) == 2.5
    assert (task.lat, task.lng, task.radius_m, task.location_name) == (30.123456, 120.5, 150, "村文化礼堂")
    assert task.checkin_required and local_time(task.ends_at) == "2026-12-11 11:30"
    listed = await console.get(f"/console/campaigns/{campaign['id']}")
    assert "普法讲座" in listed.text and "不限 / 0" in listed.text


def window() -> dict[str, str]:
    """A campaign over the dates the task form types."""
    return {"starts_at": "2026-12-01T00:00:00+08:00", "ends_at": "2026-12-31T00:00:00+08:00"}


async def test_bad_task_input_shows_field_errors(api, tree, console):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False, **window())
    path = f"/console/campaigns/{campaign['id']}/tasks/new"
    await console.get(path)
    page = await console.post(path, task_form(lat="30.5", quota="0", points="很多"))
    assert page.status == 400
    assert "<strong>经度</strong>" in page.text and "<strong>签到范围</strong>" in page.text
    assert "纬度、经度和签到范围都要填写" in page.text
    assert "<strong>名额</strong>" in page.text and "<strong>积分</strong>" in page.text
    assert 'value="30.5"' in page.text and 'value="很多"' in page.text
    page = await console.post(path, task_form(lat="95", lng="120", radius_m="100"))
    assert page.status == 400 and "<strong>纬度</strong>" in page.text
    outside = task_form(starts_at="2027-01-05 09:00", ends_at="2027-01-05 10:00")
    page = await console.post(path, outside)
    assert page.status == 400 and "任务结束时间不能晚于活动结束时间" in page.text
    assert await Task.all().count() == 0


async def test_editing_and_cancelling_a_task(api, tree, console, staff_id):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id)
    task = await make_task(api, token, campaign["id"])
    form = await console.get(f"/console/tasks/{task['id']}/edit")
    assert form.status == 200 and 'value="拍摄村貌"' in form.text and 'value="10"' in form.text
    values = {
        "title": "拍摄村貌（改）",
        "starts_at": local_time(now_utc() - timedelta(hours=1)),
        "ends_at": local_time(now_utc() + timedelta(days=2)),
        "quota": "",
        "points": "8",
        "service_hours": "1",
    }
    page = await console.post(f"/console/tasks/{task['id']}/edit", values)
    assert page.status == 200 and "已保存" in page.text
    stored = await Task.get(id=int(task["id"]))
    assert stored.title == "拍摄村貌（改）" and stored.quota is None and stored.points == 8

    page = await console.get(f"/console/tasks/{task['id']}")
    assert "取消任务" in page.text and 'data-confirm="' in page.text
    page = await console.post(f"/console/tasks/{task['id']}/cancel")
    assert page.status == 200 and "任务已取消" in page.text
    assert (await Task.get(id=int(task["id"]))).cancelled_at is not None
    assert await AuditEntry.filter(action="cancel", actor_id=staff_id, target=f"task:{task['id']}").count() == 1
    refused = await console.post(f"/console/tasks/{task['id']}/edit", values)
    assert refused.status == 409


async def test_the_check_in_code_downloads_as_an_image(api, tree, console):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id)
    task = await make_task(api, token, campaign["id"], title="签到测试")
    status, image, headers = await console.get_bytes(f"/console/tasks/{task['id']}/qrcode")
    assert status == 200 and headers["Content-Type"].startswith("image/")
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E7%AD%BE%E5%88%B0%E7%A0%81" in headers["Content-Disposition"]  # 签到码
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))
    scene = scene_for(int(task["id"]), api.service.services.scene_key)
    assert code.text == wxacode_text(api.service.config.wechat_appid, CHECKIN_PAGE, scene)


async def test_the_roster_lists_and_exports_the_enrolled(api, tree, console):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id)
    task = await make_task(api, token, campaign["id"])
    volunteer, volunteer_id = await api.person("volunteer", tree.east_village.id)
    await User.filter(id=volunteer_id).update(real_name="李小红", phone_masked="138****5678")
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=volunteer)).status == 201

    page = await console.get(f"/console/tasks/{task['id']}")
    assert "李小红" in page.text and "138****5678" in page.text and "东村" in page.text
    assert "已报名" in page.text and "未签到" in page.text and "导出名单" in page.text
    status, data, headers = await console.get_bytes(f"/console/tasks/{task['id']}/enrollments.xlsx")
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert headers["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("姓名", "组织", "手机号")
    assert rows[1][:3] == ("李小红", "东村", "138****5678") and rows[1][4] == "已报名"
    assert len(rows) == 2


async def test_another_townships_staff_is_refused(api, tree, console):
    west = await staff_token(api, tree.west.id)
    draft = await make_campaign(api, west, tree.west.id, publish=False)
    published = await make_campaign(api, west, tree.west.id)
    task = await make_task(api, west, published["id"])
    assert (await console.get(f"/console/campaigns/{draft['id']}")).status == 404
    page = await console.get(f"/console/campaigns/{published['id']}")
    assert page.status == 403 and "没有权限" in page.text
    for path in (f"/console/tasks/{task['id']}", f"/console/tasks/{task['id']}/qrcode"):
        assert (await console.get(path)).status == 403
    status, _, _ = await console.get_bytes(f"/console/tasks/{task['id']}/enrollments.xlsx")
    assert status == 403
    await console.get("/console/campaigns")
    assert (await console.post(f"/console/campaigns/{draft['id']}/publish")).status == 404
    assert (await console.post(f"/console/tasks/{task['id']}/cancel")).status == 403
    assert (await Campaign.get(id=int(draft["id"]))).status == "draft"
    assert (await Task.get(id=int(task["id"]))).cancelled_at is None


async def test_without_csrf_nothing_changes(api, tree, console):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False)
    task = await make_task(api, token, campaign["id"])
    await console.get(f"/console/campaigns/{campaign['id']}")
    for path, data in (
        ("/console/campaigns/new", {**CAMPAIGN_FORM, "org_id": str(tree.east.id)}),
        (f"/console/campaigns/{campaign['id']}/publish", None),
        (f"/console/campaigns/{campaign['id']}/tasks/new", task_form()),
        (f"/console/tasks/{task['id']}/cancel", None),
    ):
        for token_sent in (None, "wrong"):
            page = await console.post(path, data, csrf=token_sent)
            assert page.status == 403 and "页面已过期" in page.text, path
    assert await Campaign.all().count() == 1 and (await Campaign.get()).status == "draft"
    assert await Task.all().count() == 1 and (await Task.get()).cancelled_at is None


async def test_an_admin_sees_every_township(api, tree, admin_console):
    west = await staff_token(api, tree.west.id)
    await make_campaign(api, west, tree.west.id, publish=False, title="西镇草稿活动")
    page = await admin_console.get("/console/campaigns")
    assert "西镇草稿活动" in page.text
    form = await admin_console.get("/console/campaigns/new")
    assert "西村" in form.text and "东村" in form.text


async def test_without_a_session_the_pages_send_you_to_sign_in(api, tree, staff_id):
    client = await sign_in(api.service.base_url, staff_id)
    await client.post("/console/logout")
    try:
        assert (await client.get("/console/campaigns", follow=False)).status == 303
    finally:
        await client.close()


async def test_odd_task_input_is_a_field_error_never_a_crash(api, tree, console):
    token = await staff_token(api, tree.east.id)
    campaign = await make_campaign(api, token, tree.east.id, publish=False, **window())
    path = f"/console/campaigns/{campaign['id']}/tasks/new"
    await console.get(path)
    odd = (
        {"lat": "nan", "lng": "inf", "radius_m": "100"},
        {"service_hours": "NaN"},
        {"service_hours": "1.555"},
        {"quota": "1e3", "points": "-1"},
        {"title": "长" * 101},
        {"starts_at": "2026-02-30 09:00"},
        {"ends_at": "9999-12-11 11:30"},
        {"radius_m": "0", "lat": "30", "lng": "120"},
        {"title": "a\x00b"},
    )
    for change in odd:
        page = await console.post(path, task_form(**change))
        assert page.status == 400 and "field-error" in page.text, change
    assert await Task.all().count() == 0
