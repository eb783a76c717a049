"""补录审核 in a real Chromium: from the 审核 page to a photo at full size, a refused 驳回, then 通过."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from models.hour_requests import HourRequest
from models.users import User
from tests.browser.conftest import Watched
from tests.factories import iso, published_task
from tests.images import encode, scene


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


async def test_review_a_make_up_request_through_its_page(api, tree, tab: Watched):
    staff, staff_id = await api.person("staff", tree.east.id)
    task = await published_task(api, staff, tree.east.id, title="文明劝导", starts_at=iso(-timedelta(hours=5)))
    token, uid = await api.person("volunteer", tree.east_village.id)
    await User.filter(id=uid).update(real_name="张三")
    photo = await api.upload(token, encode(scene((640, 480), seed=9), "JPEG"))
    body = {
        "task_id": task["id"],
        "started_at": ago(4),
        "ended_at": ago(2),
        "note": "手机没电",
        "media_ids": [photo.body["id"]],
    }
    made = await api.call("POST", "/api/v1/hour-requests", token=token, json=body)
    assert made.status == 201, made.body
    request_id = made.body["id"]
    await tab.sign_in(staff_id)

    await tab.goto("/console/review")
    await tab.page.get_by_role("link", name="补录审核（待审核 1 条）").click()
    await expect(tab.page).to_have_url(tab.url("/console/hour-requests"))
    await expect(tab.page.locator("h1")).to_contain_text("补录审核")
    card = tab.page.locator(f"#hr-{request_id}")
    await expect(card).to_contain_text("张三")
    await expect(card).to_contain_text("2 小时（任务 2 小时")
    thumb = card.get_by_role("img", name="证明照片 1（点击看大图）")
    await expect(thumb).to_be_visible()
    assert await thumb.evaluate("img => img.naturalWidth") > 0  # the signed thumbnail URL loads
    async with tab.context.expect_page() as opened:
        await thumb.click()
    large = await opened.value
    await large.wait_for_load_state()
    assert await large.evaluate("document.images[0].naturalWidth") == 640
    await large.close()

    await card.get_by_role("button", name="驳回").click()  # without a reason
    card = tab.page.locator(f"#hr-{request_id}")
    await expect(card.get_by_role("alert")).to_contain_text("驳回须说明原因")
    assert await HourRequest.filter(id=int(request_id), status="pending").exists()

    await card.get_by_role("button", name="通过").click()
    await expect(tab.page.get_by_role("status").filter(has_text="已通过")).to_contain_text(
        f"补录申请 #{request_id} 已通过"
    )
    await expect(tab.page.locator(f"#hr-{request_id}")).to_have_count(0)
    assert (await HourRequest.get(id=int(request_id))).status == "approved"
