"""首页's charts and 报表's download in a real Chromium (any console error or CSP violation fails)."""

from __future__ import annotations

import io
import os

import openpyxl
from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.factories import hand_in, published_task

SHOTS = os.environ.get("CONSOLE_SHOTS", "")  # a folder: screenshots of the pages, to look at


async def _activity(api, tree) -> int:
    """East staff, two east volunteers (one approved), one west volunteer; returns the staff id."""
    staff, staff_id = await api.person("staff", tree.east.id)
    task = await published_task(api, staff, tree.east.id)
    for seed, org in enumerate((tree.east_village.id, tree.east_village.id)):
        token, _ = await api.person("volunteer", org)
        sid = await hand_in(api, token, task, seed=seed)
        if seed == 0:
            review = f"/api/v1/submissions/{sid}/review"
            assert (await api.call("POST", review, token=staff, json={"decision": "approve"})).status == 200
    return staff_id


async def shot(tab: Watched, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        await tab.page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


async def test_the_dashboard_draws_both_charts(api, tree, tab: Watched):
    _, admin_id = await api.person("admin", tree.county.id)
    await _activity(api, tree)
    await tab.sign_in(admin_id)
    await expect(tab.page).to_have_url(tab.url("/console/"))
    for chart in ("#chart-orgs", "#chart-days"):
        box = tab.page.locator(chart)
        await expect(box).to_have_attribute("data-drawn", "1")
        await expect(box.locator("canvas").first).to_be_visible()
        size = await box.locator("canvas").first.evaluate("c => [c.width, c.height]")
        assert size[0] > 100 and size[1] > 100
    await expect(tab.page.locator("#stat-awaiting .value")).to_have_text("1")
    await expect(tab.page.get_by_role("link", name="待审核 1 条 → 去审核")).to_be_visible()
    # A tooltip on hover is drawn on the canvas too: no inline style for CSP to refuse.
    await tab.page.locator("#chart-days").hover()
    await tab.page.locator("#chart-orgs").hover()
    await shot(tab, "dashboard")


async def test_an_empty_dashboard_says_so(api, tree, tab: Watched):
    _, staff_id = await api.person("staff", tree.west_village.id)
    await tab.sign_in(staff_id)
    await expect(tab.page.locator("#chart-orgs")).to_contain_text("暂无数据")
    await expect(tab.page.locator("#chart-days")).to_contain_text("暂无数据")
    assert await tab.page.locator("canvas").count() == 0


async def test_the_excel_button_downloads_the_report(api, tree, tab: Watched):
    staff_id = await _activity(api, tree)
    await tab.sign_in(staff_id)
    await tab.goto("/console/reports")
    await expect(tab.page.locator("#summary")).to_contain_text("合计")
    await tab.page.get_by_label("组织").select_option(str(tree.east_village.id))
    await shot(tab, "reports")
    async with tab.page.expect_download() as waiting:
        await tab.page.get_by_role("button", name="下载 Excel").click()
    download = await waiting.value
    assert download.suggested_filename.endswith(".xlsx")
    body = open(await download.path(), "rb").read()  # noqa: ASYNC230 (a small local file)
    book = openpyxl.load_workbook(io.BytesIO(body))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("姓名", "用户ID", "组织") and len(rows) == 3
    assert {row[2] for row in rows[1:]} == {"县 / 东镇 / 东村"}
    # A bad date shows the form again, in Chinese, beside the field.
    await tab.page.get_by_label("开始日期").fill("2026-13-45")
    await tab.page.get_by_role("button", name="查看汇总").click()
    await expect(tab.page.locator("#f-start-err")).to_contain_text("2026-12-10")


async def test_the_audit_page_for_an_admin(api, tree, tab: Watched):
    _, admin_id = await api.person("admin", tree.county.id)
    await _activity(api, tree)
    await tab.sign_in(admin_id)
    await tab.goto("/console/audit")
    await expect(tab.page.locator("#audit-log tbody tr")).to_have_count(2)
    await tab.page.get_by_label("操作", exact=True).select_option("review")
    await tab.page.get_by_role("button", name="筛选").click()
    await expect(tab.page.locator("#audit-log tbody tr")).to_have_count(1)
    await expect(tab.page.locator("#audit-log")).to_contain_text("审核提交")
    await shot(tab, "audit")
