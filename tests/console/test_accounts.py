"""账号审核: pending platform accounts of the staff member's subtree, verified or rejected in place."""

from __future__ import annotations

from models.accounts import PlatformAccount
from models.audit import AuditEntry
from models.users import User


async def claimed(api, org_id: int, name: str, platform: str, handle: str, **more) -> tuple[int, int]:
    """(account id, owner id) of a new person's pending account, claimed through the API."""
    token, user_id = await api.person("influencer", org_id)
    await User.filter(id=user_id).update(real_name=name)
    body = {"platform": platform, "handle": handle, **more}
    reply = await api.call("POST", "/api/v1/me/accounts", token=token, json=body)
    assert reply.status == 201, reply.body
    return int(reply.body["id"]), user_id


async def test_the_page_lists_pending_accounts_of_the_subtree(api, tree, console):
    mine, _ = await claimed(
        api,
        tree.east_village.id,
        "张晓明",
        "douyin",
        "east_dy",
        profile_url="https://v.douyin.com/abc/",
        followers=1280,
    )
    decided, _ = await claimed(api, tree.east_village.id, "李已审", "weibo", "east_wb")
    await PlatformAccount.filter(id=decided).update(status="verified")
    await claimed(api, tree.west_village.id, "王西村", "douyin", "west_dy")

    page = await console.get("/console/accounts")

    assert page.status == 200
    assert "账号审核" in page.text and 'href="/console/accounts"' in page.text
    assert "张晓明" in page.text and "东村" in page.text and "抖音" in page.text and "east_dy" in page.text
    assert 'href="https://v.douyin.com/abc/" target="_blank" rel="noopener noreferrer"' in page.text
    assert "1280" in page.text
    assert "王西村" not in page.text and "west_dy" not in page.text  # another township's person
    assert "east_wb" not in page.text  # decided: not in the default (pending) view
    assert f'id="account-{mine}"' in page.text and "通过" in page.text and "拒绝原因" in page.text

    verified = await console.get("/console/accounts?status=verified")
    assert "east_wb" in verified.text and "east_dy" not in verified.text and "微博" in verified.text
    by_platform = await console.get("/console/accounts?status=all&platform=weibo")
    assert "east_wb" in by_platform.text and "east_dy" not in by_platform.text


async def test_empty_state_bad_filters_and_pagination(api, tree, console):
    empty = await console.get("/console/accounts")
    assert empty.status == 200 and "没有待审核的平台账号" in empty.text

    bad = await console.get("/console/accounts?platform=tiktok&status=nope")
    assert bad.status == 400 and "请从列表中选择平台" in bad.text and "请从列表中选择状态" in bad.text
    broken = await console.get("/console/accounts?cursor=%%%")
    assert broken.status == 400 and "回到第一页" in broken.text

    for n in range(21):
        await claimed(api, tree.east_village.id, f"人{n}", "bilibili", f"b{n:02}")
    first = await console.get("/console/accounts")
    assert first.text.count('<tr id="account-') == 20 and "下一页" in first.text and "b20" in first.text
    next_url = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = await console.get(next_url)
    assert second.text.count('<tr id="account-') == 1 and "b00" in second.text and "回到第一页" in second.text


async def test_verify_and_reject_through_the_page(api, tree, console, staff_id):
    one, owner = await claimed(api, tree.east_village.id, "张晓明", "kuaishou", "ks_one")
    two, _ = await claimed(api, tree.east_village.id, "李四", "toutiao", "tt_two")
    await console.get("/console/accounts")

    verified = await console.post(f"/console/accounts/{one}/verify", {"decision": "verify"}, htmx=True)
    assert verified.status == 200 and "已通过" in verified.text and f'id="account-{one}"' in verified.text
    assert "<html" not in verified.text  # the row alone, for htmx to swap in
    no_reason = await console.post(f"/console/accounts/{two}/verify", {"decision": "reject", "reason": " "}, htmx=True)
    assert no_reason.status == 400 and "拒绝须说明原因" in no_reason.text
    rejected = await console.post(
        f"/console/accounts/{two}/verify", {"decision": "reject", "reason": "主页与本人不符"}, htmx=True
    )
    assert rejected.status == 200 and "未通过" in rejected.text and "主页与本人不符" in rejected.text
    again = await console.post(f"/console/accounts/{one}/verify", {"decision": "verify"}, htmx=True)
    assert again.status == 409 and "已审核" in again.text

    assert [a.status for a in await PlatformAccount.filter(id__in=[one, two]).order_by("id")] == [
        "verified",
        "rejected",
    ]
    entries = await AuditEntry.filter(action__startswith="account_").order_by("id")
    assert [(e.action, e.actor_id, e.details["account_id"]) for e in entries] == [
        ("account_verify", staff_id, str(one)),
        ("account_reject", staff_id, str(two)),
    ]
    assert entries[0].target == f"user:{owner}"


async def test_another_townships_account_is_not_theirs(api, tree, console):
    west, _ = await claimed(api, tree.west_village.id, "王西村", "weibo", "west_wb")
    await console.get("/console/accounts")
    reply = await console.post(f"/console/accounts/{west}/verify", {"decision": "verify"}, htmx=True)
    assert reply.status == 404
    assert (await PlatformAccount.get(id=west)).status == "pending"


async def test_a_decision_without_csrf_is_403_and_changes_nothing(api, tree, console):
    account, _ = await claimed(api, tree.east_village.id, "张晓明", "xiaohongshu", "xhs")
    await console.get("/console/accounts")
    for csrf in (None, "wrong"):
        page = await console.post(f"/console/accounts/{account}/verify", {"decision": "verify"}, csrf=csrf)
        assert page.status == 403 and "页面已过期" in page.text
    bad = await console.post(f"/console/accounts/{account}/verify", {"decision": "maybe"}, htmx=True)
    assert bad.status == 400
    assert (await PlatformAccount.get(id=account)).status == "pending"
    assert not await AuditEntry.filter(action__startswith="account_").exists()


async def test_admin_sees_everyone(api, tree, admin_console):
    await claimed(api, tree.west_village.id, "王西村", "wechat_mp", "west_mp")
    page = await admin_console.get("/console/accounts")
    assert "王西村" in page.text and "微信公众号" in page.text
