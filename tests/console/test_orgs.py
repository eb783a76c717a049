"""组织: the caller's subtree as a tree, adding an org under it and renaming one of it, as the API's rules."""

from __future__ import annotations

from models.audit import AuditEntry
from models.orgs import Org
from models.users import User


async def test_the_tree_is_the_callers_subtree(api, tree, console):
    await User.create(nickname="甲", role="volunteer", org_id=tree.east_village.id)
    await User.create(nickname="乙", role="influencer", org_id=tree.east.id)
    await User.create(nickname="丙", role="volunteer", org_id=tree.west_village.id)

    page = await console.get("/console/orgs")

    assert page.status == 200
    assert "东镇" in page.text and "东村" in page.text and "西镇" not in page.text and "西村" not in page.text
    assert "乡镇/街道" in page.text and "村/社区" in page.text
    east = page.text[page.text.index(f'id="org-{tree.east.id}"') :]
    assert "成员 2 人" in east and "成员 1 人" in east  # the township counts its village's member too
    assert "（无上级：县级组织）" not in page.text


async def test_admins_see_the_whole_tree(api, tree, admin_console):
    page = await admin_console.get("/console/orgs")
    for name in ("县", "东镇", "西镇", "东村", "西村"):
        assert name in page.text
    assert "（无上级：县级组织）" in page.text


async def test_staff_add_an_org_under_their_own(api, tree, console):
    await console.get("/console/orgs")

    page = await console.post("/console/orgs", {"parent_id": str(tree.east.id), "name": "南村", "kind": "village"})

    assert page.status == 200 and page.url.endswith(f"/console/orgs?created={(await Org.get(name='南村')).id}")
    assert "已新建组织：南村" in page.text
    made = await Org.get(name="南村")
    assert (made.parent_id, made.kind, made.path) == (tree.east.id, "village", f"{tree.east.path}{made.id}/")


async def test_adding_refusals_are_shown_beside_the_field(api, tree, console):
    await console.get("/console/orgs")
    cases = [
        ({"parent_id": str(tree.east.id), "name": "", "kind": "village"}, "f-name-err"),
        ({"parent_id": str(tree.east.id), "name": "东村", "kind": "village"}, "同一上级下已有同名组织"),
        ({"parent_id": str(tree.west.id), "name": "新村", "kind": "village"}, "只能在本组织及下级组织中新建"),
        ({"parent_id": str(tree.east_village.id), "name": "新镇", "kind": "township"}, "不能设在该上级组织之下"),
        ({"parent_id": str(tree.east.id), "name": "新村", "kind": "castle"}, "f-kind-err"),
        ({"parent_id": "abc", "name": "新村", "kind": "village"}, "f-parent_id-err"),
    ]
    before = await Org.all().count()
    for form, shown in cases:
        page = await console.post("/console/orgs", form)
        assert page.status == 400, (form, page.text[:300])
        assert shown in page.text, (form, shown)
        assert 'class="field invalid"' in page.text
    assert await Org.all().count() == before


async def test_rename_an_org_of_the_subtree(api, tree, console):
    await console.get("/console/orgs")

    page = await console.post(f"/console/orgs/{tree.east_village.id}/rename", {"name": "东村社区"})

    assert page.status == 200 and "已重命名为：东村社区" in page.text
    assert (await Org.get(id=tree.east_village.id)).name == "东村社区"
    entry = await AuditEntry.get(action="org_rename")
    assert entry.target == f"org:{tree.east_village.id}" and entry.details == {"from": "东村", "to": "东村社区"}


async def test_rename_refusals(api, tree, console):
    await Org.create(name="北村", kind="village", parent_id=tree.east.id, path="")
    await console.get("/console/orgs")

    duplicate = await console.post(f"/console/orgs/{tree.east_village.id}/rename", {"name": "北村"})
    empty = await console.post(f"/console/orgs/{tree.east_village.id}/rename", {"name": "  "})
    outside = await console.post(f"/console/orgs/{tree.west_village.id}/rename", {"name": "西村社区"})
    missing = await console.post("/console/orgs/99999999/rename", {"name": "无"})

    assert duplicate.status == 400 and "同一上级下已有同名组织" in duplicate.text
    assert f'id="rename-{tree.east_village.id}-err"' in duplicate.text
    assert empty.status == 400 and "名称为空" in empty.text
    assert outside.status == 403 and "只能修改本组织及下级组织的名称" in outside.text
    assert missing.status == 404
    names = (
        await Org.filter(id__in=[tree.east_village.id, tree.west_village.id])
        .order_by("id")
        .values_list("name", flat=True)
    )
    assert names == ["东村", "西村"]
    assert not await AuditEntry.filter(action="org_rename").exists()


async def test_without_csrf_nothing_changes(api, tree, console):
    await console.get("/console/orgs")
    add = await console.post(
        "/console/orgs", {"parent_id": str(tree.east.id), "name": "南村", "kind": "village"}, csrf=None
    )
    rename = await console.post(f"/console/orgs/{tree.east_village.id}/rename", {"name": "东村社区"}, csrf="x")
    assert add.status == 403 and rename.status == 403
    assert not await Org.filter(name__in=["南村", "东村社区"]).exists()


# -- 证明签发信息: who the org's certificates name --------------------------------------------------

SIGNER = {"leader": "王建国", "handler": "李红", "contact": "0734-6123456"}


async def test_staff_set_their_own_orgs_signer(api, tree, console):
    page = await console.get("/console/orgs")
    assert f'id="signer-{tree.east.id}-leader"' in page.text
    assert f'id="signer-{tree.east_village.id}-leader"' not in page.text  # a village below: not theirs

    saved = await console.post(f"/console/orgs/{tree.east.id}/certificate", SIGNER)

    assert saved.status == 200 and "已保存东镇的证明签发信息" in saved.text
    east = await Org.get(id=tree.east.id)
    assert (east.cert_leader, east.cert_handler, east.cert_contact) == ("王建国", "李红", "0734-6123456")
    assert 'value="王建国"' in saved.text
    assert (await AuditEntry.get(action="org_certificate")).target == f"org:{tree.east.id}"


async def test_a_bad_signer_is_shown_beside_its_field(api, tree, console):
    await console.get("/console/orgs")

    page = await console.post(f"/console/orgs/{tree.east.id}/certificate", {**SIGNER, "contact": "找办公室"})

    assert page.status == 400
    assert f'id="signer-{tree.east.id}-contact-err"' in page.text and "须为电话号码" in page.text
    assert 'value="找办公室"' in page.text
    assert (await Org.get(id=tree.east.id)).cert_leader == ""


async def test_staff_may_not_set_another_orgs_signer(api, tree, console):
    await console.get("/console/orgs")

    below = await console.post(f"/console/orgs/{tree.east_village.id}/certificate", SIGNER)
    west = await console.post(f"/console/orgs/{tree.west.id}/certificate", SIGNER)

    assert below.status == 403 and west.status == 404
    assert not await Org.filter(cert_leader="王建国").exists()


async def test_admins_set_the_countys_signer(api, tree, admin_console):
    page = await admin_console.get("/console/orgs")
    assert f'id="signer-{tree.county.id}-leader"' in page.text

    saved = await admin_console.post(f"/console/orgs/{tree.county.id}/certificate", SIGNER)

    assert saved.status == 200 and (await Org.get(id=tree.county.id)).cert_handler == "李红"
