"""审核 in a real browser: keyboard decisions without a reload, 全选 + 批量通过, the large view."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from models.submissions import Submission
from models.users import User
from tests.browser.conftest import Watched
from tests.factories import hand_in, published_task


@pytest.fixture
async def queue(api, tree) -> tuple[int, list[str]]:
    """East township staff and three pending submissions of their subtree, oldest first."""
    token, staff_id = await api.person("staff", tree.east.id)
    task = await published_task(api, token, tree.east.id, title="清理小广告", points=10)
    sids = []
    for i, name in enumerate(("王小明", "李华", "张伟")):
        person, uid = await api.person("volunteer", tree.east_village.id)
        await User.filter(id=uid).update(real_name=name)
        sids.append(await hand_in(api, person, task, seed=i))
    return staff_id, sids


async def status(submission_id: str) -> tuple[str, str | None]:
    row = await Submission.get(id=int(submission_id))
    return row.status, row.reason


async def test_deciding_by_keyboard_moves_on_without_a_reload(queue, tab: Watched) -> None:
    staff_id, sids = queue
    await tab.sign_in(staff_id)
    await tab.goto("/console/review")
    page = tab.page
    await page.evaluate("window.reviewMarker = 'still here'")
    first, second, third = (page.locator(f"#sub-{s}") for s in sids)
    await expect(first).to_be_focused()  # the oldest takes focus on arrival

    await page.keyboard.press("a")
    await expect(first).to_contain_text("已通过")
    await expect(second).to_be_focused()
    assert await status(sids[0]) == ("approved", None)

    await page.keyboard.press("r")
    await expect(second.get_by_label("照片与任务无关")).to_be_focused()  # the picker opens focused
    await page.keyboard.press("2")
    await expect(second.get_by_label("照片不清晰")).to_be_checked()
    await page.keyboard.press("Enter")
    await expect(second).to_contain_text("原因：照片不清晰")
    await expect(third).to_be_focused()
    assert await status(sids[1]) == ("rejected", "照片不清晰")

    # R then Esc: nothing decided, the card keeps focus; J/K move between cards.
    await page.keyboard.press("r")
    await page.keyboard.press("Escape")
    await expect(third).to_be_focused()
    await expect(third.locator("form.reject")).to_be_hidden()
    await page.keyboard.press("k")
    await expect(second).to_be_focused()
    await page.keyboard.press("j")
    await expect(third).to_be_focused()
    assert await status(sids[2]) == ("pending", None)
    await expect(page.locator("#pending-total")).to_have_text("1")
    assert await page.evaluate("window.reviewMarker") == "still here"


async def test_select_all_and_batch_approve(queue, tab: Watched) -> None:
    staff_id, sids = queue
    await tab.sign_in(staff_id)
    await tab.goto("/console/review")
    page = tab.page
    await page.get_by_label("全选").check()
    await expect(page.locator("#picked")).to_have_text("已选 3 条")
    await page.get_by_role("button", name="批量通过", exact=True).click()

    await expect(page.locator("#batch-result")).to_contain_text("已通过 3 条")
    for sid in sids:
        await expect(page.locator(f"#sub-{sid}")).to_contain_text("已通过")
    assert [(await status(s))[0] for s in sids] == ["approved"] * 3


async def test_the_large_view_opens_and_closes_with_esc(queue, tab: Watched) -> None:
    staff_id, sids = queue
    await tab.sign_in(staff_id)
    await tab.goto("/console/review")
    page = tab.page
    card = page.locator(f"#sub-{sids[0]}")
    await card.get_by_role("button", name=re.compile("查看第 1 张照片")).click()
    viewer = page.locator("#viewer")
    await expect(viewer).to_be_visible()
    image = page.locator("#viewer-img")
    await expect(image).to_have_attribute("src", re.compile(r"-display\.jpg"))
    await page.wait_for_function("() => document.getElementById('viewer-img').naturalWidth > 0")
    original = page.get_by_role("link", name="查看原图")
    await expect(original).to_have_attribute("href", re.compile(r"/[0-9a-f]{32}\.jpg\?"))
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    await expect(card).to_be_focused()
    # V on the focused card opens it again.
    await page.keyboard.press("v")
    await expect(viewer).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    assert (await status(sids[0]))[0] == "pending"
    # Picking a campaign filters at once.
    await page.get_by_label("活动", exact=True).select_option(index=1)
    await expect(page).to_have_url(re.compile(r"/console/review\?campaign_id=\d+$"))
    await expect(card).to_be_visible()


async def test_the_next_page_comes_by_itself_when_this_one_is_done(queue, tab: Watched) -> None:
    staff_id, sids = queue
    await tab.sign_in(staff_id)
    await tab.goto("/console/review?limit=2")
    page = tab.page
    await expect(page.locator(f"#sub-{sids[2]}")).to_have_count(0)
    for sid in sids:
        await expect(page.locator(f"#sub-{sid}")).to_be_focused()
        await page.keyboard.press("a")
        await expect(page.locator(f"#sub-{sid}")).to_contain_text("已通过")
    await expect(page.get_by_text("本页已全部审核完毕")).to_be_visible()
    assert [(await status(s))[0] for s in sids] == ["approved"] * 3
