"""The certificate's verification page on a phone-sized Chromium: no script, no CSP violation,
the verdict in big letters, the name masked; and an unknown number answered in Chinese."""

from __future__ import annotations

from playwright.async_api import expect

from models.certificates import Certificate, masked_name
from tests.browser.conftest import Watched
from tests.factories import published_task
from tests.handlers.test_review import hand_in, review_path

PHONE = {"width": 390, "height": 844}


async def a_certificate(api, tree, tmp_path) -> Certificate:
    """A villager's certificate after two approved tasks and an honour grant, its PNG kept in ``tmp_path``."""
    staff, _ = await api.person("staff", tree.east.id)
    admin, _ = await api.person("admin")
    token, user_id = await api.person("volunteer", tree.east_village.id)
    await api.call("PATCH", "/api/v1/me", token=token, json={"real_name": "张晓明"})
    for seed, (title, hours) in enumerate((("走进石亭子村拍摄村容村貌", "3"), ("网络普法进社区宣讲", "2.5"))):
        task = await published_task(api, staff, tree.east.id, title=title, service_hours=hours)
        sid = await hand_in(api, token, task, seed=seed)
        assert (await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})).status == 200
    grant = {"hours": 2, "reason": "防汛值守"}
    assert (await api.call("POST", f"/api/v1/users/{user_id}/honour-hours", token=admin, json=grant)).status == 201
    signer = {"leader": "王建国", "handler": "李红", "contact": "0734-6123456"}
    assert (await api.call("PUT", f"/api/v1/orgs/{tree.county.id}/certificate", token=admin, json=signer)).status == 200
    url = f"{api.service.base_url}/api/v1/me/certificate.png"
    async with api.session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        (tmp_path / "certificate.png").write_bytes(await resp.read())
        return await Certificate.get(serial=resp.headers["X-Certificate-Serial"])


async def test_the_page_reads_on_a_phone(api, tree, tab: Watched, tmp_path):
    cert = await a_certificate(api, tree, tmp_path)
    await tab.page.set_viewport_size(PHONE)

    response = await tab.goto(f"/verify/{cert.serial}")

    assert response is not None and response.status == 200
    await expect(tab.page.get_by_role("heading", name="志愿服务证明核验")).to_be_visible()
    verdict = tab.page.locator(".verdict .big")
    await expect(verdict).to_have_text("有效")
    assert float((await verdict.evaluate("e => getComputedStyle(e).fontSize")).removesuffix("px")) >= 40
    await expect(tab.page.get_by_text(masked_name("张晓明"), exact=True)).to_be_visible()
    assert "张晓明" not in await tab.page.content()
    # Nothing wider than the phone: no sideways scrolling.
    assert await tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await tab.page.evaluate("document.scripts.length") == 0
    await tab.page.screenshot(path=str(tmp_path / "verify.png"), full_page=True)


async def test_an_unknown_number_is_said_so(api, tab: Watched):
    await tab.page.set_viewport_size(PHONE)

    response = await tab.goto("/verify/WM-20260101-NOPE2345")

    assert response is not None and response.status == 404
    await expect(tab.page.locator(".verdict .big")).to_have_text("未找到")
    await expect(tab.page.get_by_text("请核对证明上的编号")).to_be_visible()
