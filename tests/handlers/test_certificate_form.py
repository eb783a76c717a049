"""The certificate in the ministry's form (hours split, activities, signer), the per-org signer,
and the public verification page its QR code opens."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image

from models.audit import AuditEntry
from models.certificates import Certificate, activities_of, masked_name
from models.ledger import write_entry
from models.orgs import Org
from models.submissions import Submission
from models.users import User
from tests.factories import published_task
from tests.handlers.test_review import hand_in, review_path

PNG = "/api/v1/me/certificate.png"


async def certificate_of(api, token: str) -> tuple[str, bytes]:
    async with api.session.get(f"{api.service.base_url}{PNG}", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, await resp.text()
        return resp.headers["X-Certificate-Serial"], await resp.read()


@pytest.fixture
async def worked(api, staff, tree) -> dict:
    """An east villager with two approved tasks (2.5 h and 3 h) and 1.5 honour hours from an admin."""
    token, user_id = await api.person("volunteer", tree.east_village.id)
    titles = ("走进石亭子村拍摄村容村貌", "网络普法进社区")
    for seed, (title, hours) in enumerate(zip(titles, ("2.5", "3"), strict=True)):
        task = await published_task(api, staff, tree.east.id, title=title, points=10, service_hours=hours)
        sid = await hand_in(api, token, task, seed=seed)
        assert (await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})).status == 200
    admin, _ = await api.person("admin")
    grant = {"hours": 1.5, "reason": "防汛值守"}
    assert (await api.call("POST", f"/api/v1/users/{user_id}/honour-hours", token=admin, json=grant)).status == 201
    return {"token": token, "user_id": user_id, "admin": admin, "titles": titles}


async def test_the_certificate_states_hours_activities_and_signer(api, tree, worked) -> None:
    signer = {"leader": "王建国", "handler": "李红", "contact": "0734-6123456"}
    put = await api.call("PUT", f"/api/v1/orgs/{tree.county.id}/certificate", token=worked["admin"], json=signer)
    assert put.status == 200, put.body

    serial, png = await certificate_of(api, worked["token"])

    cert = await Certificate.get(serial=serial)
    assert (cert.service_hours, cert.credit_hours, cert.honour_hours) == (7, 5.5, 1.5)
    # Newest first; the honour grant is no activity.
    assert [(a["title"], a["hours"]) for a in cert.activities] == [
        (worked["titles"][1], "3"),
        (worked["titles"][0], "2.5"),
    ]
    assert cert.approved_tasks == 2
    assert (cert.issuer, cert.leader, cert.handler, cert.contact) == ("县", "王建国", "李红", "0734-6123456")
    assert Image.open(io.BytesIO(png)).size == (1240, 1754)
    check = await api.call("GET", f"/api/v1/certificates/{serial}")
    assert (check.body["service_hours"], check.body["credit_hours"], check.body["honour_hours"]) == (7, 5.5, 1.5)


async def test_the_qr_code_opens_the_html_page(api, worked) -> None:
    serial, png = await certificate_of(api, worked["token"])

    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))

    assert found.text == f"{api.service.config.public_base_url}/verify/{serial}"


async def test_a_new_signer_reissues_the_certificate(api, tree, worked) -> None:
    first, _ = await certificate_of(api, worked["token"])
    again, _ = await certificate_of(api, worked["token"])
    signer = {"leader": "王建国", "handler": "李红", "contact": "13800000000"}
    await api.call("PUT", f"/api/v1/orgs/{tree.county.id}/certificate", token=worked["admin"], json=signer)
    changed, _ = await certificate_of(api, worked["token"])

    assert first == again
    assert changed != first
    assert (await Certificate.get(serial=changed)).contact == "13800000000"


async def test_the_signer_is_read_back_and_audited(api, tree, staff) -> None:
    signer = {"leader": " 王建国 ", "handler": "李红", "contact": "0734-6123456 转 801"}

    put = await api.call("PUT", f"/api/v1/orgs/{tree.east.id}/certificate", token=staff, json=signer)
    got = await api.call("GET", f"/api/v1/orgs/{tree.east.id}/certificate", token=staff)

    assert put.status == got.status == 200
    assert got.body == {
        "org_id": str(tree.east.id),
        "leader": "王建国",
        "handler": "李红",
        "contact": "0734-6123456 转 801",
    }
    entry = await AuditEntry.get(action="org_certificate")
    assert entry.target == f"org:{tree.east.id}" and entry.details["to"]["leader"] == "王建国"


async def test_staff_set_only_their_own_org(api, tree, staff) -> None:
    signer = {"leader": "王建国", "handler": "李红", "contact": "0734-6123456"}

    below = await api.call("PUT", f"/api/v1/orgs/{tree.east_village.id}/certificate", token=staff, json=signer)
    above = await api.call("PUT", f"/api/v1/orgs/{tree.county.id}/certificate", token=staff, json=signer)
    volunteer, _ = await api.person("volunteer", tree.east.id)
    member = await api.call("PUT", f"/api/v1/orgs/{tree.east.id}/certificate", token=volunteer, json=signer)

    assert below.status == 403 and "本组织" in below.body["error"]["message"]
    assert above.status == 404 and member.status == 403
    assert not await Org.filter(cert_leader="王建国").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"leader": "", "handler": "李红", "contact": "0734-6123456"}, "leader"),
        ({"leader": "王" * 33, "handler": "李红", "contact": "0734-6123456"}, "leader"),
        ({"leader": "王建国", "handler": "李红", "contact": "找办公室"}, "contact"),
        ({"leader": "王建国", "contact": "0734-6123456"}, "handler"),
    ],
)
async def test_bad_signers_name_the_field(api, tree, staff, body, field) -> None:
    reply = await api.call("PUT", f"/api/v1/orgs/{tree.east.id}/certificate", token=staff, json=body)

    assert reply.status == 400 and field in reply.body["error"]["details"]["fields"]
    assert (await Org.get(id=tree.east.id)).cert_leader == ""


# -- the verification page ---------------------------------------------------------------------


async def page(api, path: str) -> tuple[int, str, dict]:
    async with api.session.get(f"{api.service.base_url}{path}") as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def test_the_page_says_valid_with_the_name_masked(api, worked) -> None:
    serial, _ = await certificate_of(api, worked["token"])
    name = (await Certificate.get(serial=serial)).name

    status, html, headers = await page(api, f"/verify/{serial}")

    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "有效" in html and "已失效" not in html
    assert masked_name(name) in html and name not in html
    assert ">7</strong> 小时" in html and "5.5 小时" in html and "1.5 小时" in html
    assert "县" in html and serial in html
    assert "script-src 'self'" in headers["Content-Security-Policy"] and "<script" not in html


async def test_a_serial_typed_in_lower_case_is_found(api, worked) -> None:
    serial, _ = await certificate_of(api, worked["token"])

    status, html, _ = await page(api, f"/verify/{serial.lower()}")

    assert status == 200 and serial in html


async def test_a_reversed_certificate_shows_invalid(api, staff, worked) -> None:
    serial, _ = await certificate_of(api, worked["token"])
    name = (await Certificate.get(serial=serial)).name
    sid = (await _approved(worked["user_id"]))[0]
    await api.call("POST", review_path(str(sid)), token=staff, json={"decision": "reject", "reason": "核查发现作假"})

    status, html, _ = await page(api, f"/verify/{serial}")

    assert status == 200 and "已失效" in html and masked_name(name) not in html


@pytest.mark.parametrize("serial", ["WM-NOPE", "<b>x", "a" * 80])
async def test_an_unknown_serial_is_a_404_page(api, serial) -> None:
    status, html, headers = await page(api, f"/verify/{serial}")

    assert status == 404 and headers["Content-Type"].startswith("text/html")
    assert "未找到" in html and "<b>" not in html


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("张三丰", "张*丰"), ("欧阳修文", "欧**文"), ("李", "李*"), ("小明（昵称）", "小*")],
)
def test_masked_names(name: str, masked: str) -> None:
    assert masked_name(name) == masked


async def _approved(user_id: int) -> list[int]:
    return list(await Submission.filter(user_id=user_id, status="approved").order_by("id").values_list("id", flat=True))


async def test_credited_hours_of_a_campaign_count_as_an_activity(api, tree, staff) -> None:
    """An approved make-up request credits hours with its campaign and "补录服务时长：<task>" (models.makeup)."""
    task = await published_task(api, staff, tree.east.id, title="清扫村道")
    _, user_id = await api.person("volunteer", tree.east_village.id)
    person = await User.get(id=user_id).select_related("org")
    await write_entry(
        person, kind="award", points=0, hours=Decimal("1.5"), reason="补录服务时长：清扫村道",
        campaign_id=int(task["campaign_id"]),
    )  # fmt: skip
    await write_entry(person, kind="award", points=0, hours=Decimal("2"), reason="荣誉时长：表彰", hours_kind="honour")

    activities, total = await activities_of(user_id)

    assert total == 1 and [(a["title"], a["hours"]) for a in activities] == [("清扫村道", "1.5")]
