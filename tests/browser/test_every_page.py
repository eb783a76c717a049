"""Every console page, reached by its navigation link as staff and as admin, in a real Chromium:
no console error, no CSP violation, no page without its heading, every field labelled, every
button named (the `tab` fixture fails the test on any console error or CSP violation)."""

from __future__ import annotations

from playwright.async_api import expect

from models.campaigns import Task
from server.console.render import NAV
from tests.browser.conftest import Watched
from tests.factories import published_task

# A form field without a label, or a button without a visible name, is a defect on any page.
UNLABELLED = """() => {
  const missing = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    const label = el.labels && el.labels.length ? el.labels[0].textContent.trim() : '';
    if (!label) missing.push(el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll('button, input[type=submit]')) {
    const name = (el.textContent || el.value || '').trim();
    if (!name && el.offsetParent !== null) missing.push(el.outerHTML.slice(0, 120));
  }
  return missing;
}"""


async def visit_everything(tab: Watched, task_id: int) -> list[str]:
    seen = []
    for name, href in NAV:
        await tab.goto("/console/")
        await tab.page.get_by_role("navigation", name="主导航").get_by_role("link", name=name, exact=True).click()
        await expect(tab.page).to_have_url(tab.url(href))
        await expect(tab.page.locator("h1").first).to_be_visible()
        assert await tab.page.evaluate(UNLABELLED) == [], href
        seen.append(href)
    extra = ("/console/campaigns/new", "/console/questions/new", "/console/notices/new", "/console/hour-requests")
    for path in (*extra, f"/console/tasks/{task_id}", f"/console/tasks/{task_id}/edit"):
        response = await tab.goto(path)
        assert response is not None and response.status == 200, path
        assert await tab.page.evaluate(UNLABELLED) == [], path
    return seen


async def test_every_page_as_staff_and_as_admin(api, tree, tab: Watched):
    staff, staff_id = await api.person("staff", tree.east.id)
    _, admin_id = await api.person("admin", tree.county.id)
    task = await published_task(api, staff, tree.east.id)
    campaign_id = (await Task.get(id=int(task["id"]))).campaign_id
    await tab.sign_in(staff_id)
    response = await tab.goto(f"/console/campaigns/{campaign_id}")
    assert response is not None and response.status == 200

    seen = await visit_everything(tab, int(task["id"]))
    assert len(seen) == len(NAV)

    await tab.page.get_by_role("button", name="退出登录").click()
    await tab.sign_in(admin_id)
    assert await visit_everything(tab, int(task["id"])) == seen
