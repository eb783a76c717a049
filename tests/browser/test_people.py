"""人员 and 组织 in a real browser: a CSV roster with a bad row (and a role changed in place), and one org
added through the tree page."""

from __future__ import annotations

import os

from playwright.async_api import expect

from models.orgs import Org
from models.users import User
from tests.browser.conftest import Watched

SHOTS = os.environ.get("CONSOLE_SHOTS")  # a folder: screenshots of the pages for a person to look at

ROSTER = (
    "姓名,手机号,组织,身份\n"
    "王小明,13800000001,东镇/东村,志愿者\n"
    "号码错,12345,东村,志愿者\n"  # row 3
    "李达人,13800000002,东村,网络达人\n"
)


async def test_roster_import_through_the_page(api, tree, tab: Watched):
    _, staff_id = await api.person("staff", tree.east.id)
    await tab.sign_in(staff_id)
    await tab.goto("/console/people")
    page = tab.page
    await expect(page.locator("#people-list").get_by_text("王小明")).to_have_count(0)

    await page.get_by_label("名册文件（.xlsx 或 .csv）").set_input_files(
        files=[{"name": "名册.csv", "mimeType": "text/csv", "buffer": ROSTER.encode()}]
    )
    await page.get_by_role("button", name="导入名册").click()

    result = page.locator("#roster-result")
    await expect(result.get_by_text("新增 2 人")).to_be_visible()
    bad = result.get_by_role("row", name="第 3 行")
    await expect(bad).to_contain_text("手机号无效：12345")
    # The list refreshes itself after the import: the good rows are there, the bad one is not.
    people = page.locator("#people-list")
    await expect(people.get_by_role("cell", name="王小明", exact=True)).to_be_visible()
    await expect(people.get_by_role("cell", name="李达人", exact=True)).to_be_visible()
    await expect(people.get_by_text("号码错")).to_have_count(0)
    ming = await User.get(real_name="王小明", org_id=tree.east_village.id)

    # And a role changed in place, as PATCH /users would.
    row = page.locator(f"#person-{ming.id}")
    await row.get_by_label("调整为").select_option("influencer")
    await row.get_by_role("button", name="保存").click()
    await expect(page.locator(f"#person-{ming.id}").get_by_text("已保存")).to_be_visible()
    await expect(page.locator(f"#person-{ming.id} td").nth(1)).to_have_text("网络达人")
    assert (await User.get(id=ming.id)).role == "influencer"
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/people.png", full_page=True)


async def test_add_an_org_through_the_tree(api, tree, tab: Watched):
    _, staff_id = await api.person("staff", tree.east.id)
    await tab.sign_in(staff_id)
    await tab.goto("/console/orgs")
    page = tab.page

    await page.get_by_label("上级组织").select_option(str(tree.east.id))
    await page.get_by_label("名称", exact=True).fill("南村")
    await page.get_by_label("类型").select_option("village")
    await page.get_by_role("button", name="新建组织").click()

    await expect(page.get_by_text("已新建组织：南村")).to_be_visible()
    made = await Org.get(name="南村")
    node = page.locator(f"#org-{tree.east.id} #org-{made.id}")
    await expect(node).to_contain_text("村/社区")
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/orgs.png", full_page=True)
