"""Platform accounts: one handle one person, claimed by its owner, verified once by staff of their org."""

from __future__ import annotations

import asyncio

from models.accounts import PLATFORMS, PlatformAccount
from models.audit import AuditEntry
from models.users import User

MINE = "/api/v1/me/accounts"
STAFF = "/api/v1/accounts"


async def claim(api, token: str, platform: str = "douyin", handle: str = "qingxi_county", **more):
    return await api.call("POST", MINE, token=token, json={"platform": platform, "handle": handle, **more})


async def test_a_person_claims_an_account_on_each_platform(api, tree):
    token, uid = await api.person("influencer", tree.east_village.id)

    for n, platform in enumerate(PLATFORMS):
        reply = await claim(api, token, platform, f"  县里的号{n} ", profile_url="https://example.com/u/1", followers=n)
        assert reply.status == 201, reply.body
        assert reply.body == {
            "id": reply.body["id"],
            "platform": platform,
            "handle": f"县里的号{n}",
            "profile_url": "https://example.com/u/1",
            "followers": n,
            "status": "pending",
            "reason": None,
        }

    listed = await api.call("GET", MINE, token=token)
    assert listed.status == 200
    assert [a["platform"] for a in listed.body["items"]] == list(PLATFORMS)
    assert await PlatformAccount.filter(user_id=uid).count() == len(PLATFORMS)


async def test_bad_input_is_refused_in_chinese_naming_the_field(api, tree):
    token, uid = await api.person("volunteer", tree.east_village.id)

    bad_platform = await claim(api, token, "tiktok")
    bad_url = await claim(api, token, profile_url="javascript:alert(1)")
    long_url = await claim(api, token, profile_url="https://example.com/" + "a" * 300)
    empty_handle = await claim(api, token, handle="   ")
    negative = await claim(api, token, followers=-1)

    for reply in (bad_platform, bad_url, long_url, empty_handle, negative):
        assert (reply.status, reply.error_code) == (400, "invalid_request"), reply.body
    fields = bad_platform.body["error"]["details"]["fields"]
    assert "douyin" in fields["platform"] and "xiaohongshu" in fields["platform"] and "可选" in fields["platform"]
    assert "http" in bad_url.body["error"]["details"]["fields"]["profile_url"]
    assert "300" in long_url.body["error"]["details"]["fields"]["profile_url"]
    assert "handle" in empty_handle.body["error"]["details"]["fields"]
    assert "followers" in negative.body["error"]["details"]["fields"]
    assert await PlatformAccount.filter(user_id=uid).count() == 0


async def test_one_handle_belongs_to_one_person(api, tree):
    first, first_id = await api.person("influencer", tree.east_village.id)
    second, _ = await api.person("influencer", tree.west_village.id)
    assert (await claim(api, first, "weibo", "QingXi")).status == 201

    by_other = await claim(api, second, "weibo", " qingxi ")
    again = await claim(api, first, "weibo", "QINGXI")
    other_platform = await claim(api, second, "douyin", "qingxi")
    longest = await claim(api, second, "wechat_channels", "ﬃ" * 64)  # casefolds to 192 characters
    folded = await claim(api, first, "xiaohongshu", "Straße")
    same_folded = await claim(api, second, "xiaohongshu", "STRASSE")

    assert (by_other.status, by_other.error_code) == (409, "account_claimed")
    assert (again.status, again.error_code) == (409, "account_claimed")
    assert other_platform.status == 201
    assert longest.status == 201, longest.body
    assert folded.status == 201
    assert (same_folded.status, same_folded.error_code) == (409, "account_claimed")
    assert await PlatformAccount.filter(platform="weibo").values_list("user_id", flat=True) == [first_id]


async def test_twenty_people_claiming_one_handle_at_once_one_wins(api, tree):
    people = [await api.person("volunteer", tree.east_village.id) for _ in range(20)]

    replies = await asyncio.gather(*(claim(api, token, "bilibili", "hot_handle") for token, _ in people))

    assert sorted(r.status for r in replies) == [201] + [409] * 19
    assert {r.error_code for r in replies if r.status == 409} == {"account_claimed"}
    assert await PlatformAccount.filter(platform="bilibili").count() == 1


async def test_the_owner_deletes_an_account_and_the_handle_is_free_again(api, tree, staff):
    token, _ = await api.person("influencer", tree.east_village.id)
    other, _ = await api.person("influencer", tree.east_village.id)
    account = (await claim(api, token)).body
    await api.call("POST", f"{STAFF}/{account['id']}/verify", token=staff, json={"decision": "verify"})

    by_other = await api.call("DELETE", f"{MINE}/{account['id']}", token=other)
    by_owner = await api.call("DELETE", f"{MINE}/{account['id']}", token=token)
    twice = await api.call("DELETE", f"{MINE}/{account['id']}", token=token)

    assert by_other.status == 404
    assert by_owner.status == 204
    assert twice.status == 404
    assert (await api.call("GET", MINE, token=token)).body == {"items": []}
    reclaimed = await claim(api, other)
    assert (reclaimed.status, reclaimed.body["status"]) == (201, "pending")


async def test_the_owner_updates_followers(api, tree):
    token, _ = await api.person("influencer", tree.east_village.id)
    other, _ = await api.person("influencer", tree.east_village.id)
    account = (await claim(api, token, followers=10)).body

    updated = await api.call("PATCH", f"{MINE}/{account['id']}", token=token, json={"followers": 1200})
    not_theirs = await api.call("PATCH", f"{MINE}/{account['id']}", token=other, json={"followers": 5})

    assert (updated.status, updated.body["followers"], updated.body["status"]) == (200, 1200, "pending")
    assert not_theirs.status == 404
    assert (await PlatformAccount.get(id=int(account["id"]))).followers == 1200


async def test_staff_list_the_accounts_of_their_subtree_only(api, tree, staff):
    east, east_id = await api.person("influencer", tree.east_village.id)
    west, _ = await api.person("influencer", tree.west_village.id)
    await User.filter(id=east_id).update(real_name="张晓明")
    mine = (await claim(api, east, "douyin", "east_one")).body
    await claim(api, east, "weibo", "east_two")
    await claim(api, west, "douyin", "west_one")
    admin, _ = await api.person("admin", tree.county.id)

    listed = await api.call("GET", f"{STAFF}?status=pending&platform=douyin", token=staff)
    everything = await api.call("GET", STAFF, token=admin)

    assert listed.status == 200, listed.body
    assert [a["handle"] for a in listed.body["items"]] == ["east_one"]
    item = listed.body["items"][0]
    assert item["id"] == mine["id"]
    assert item["user"]["name_on_record"] == "张晓明"
    assert item["user"]["org"]["id"] == str(tree.east_village.id)
    assert {a["handle"] for a in everything.body["items"]} == {"east_one", "east_two", "west_one"}
    first = await api.call("GET", f"{STAFF}?limit=1", token=admin)
    rest = await api.call("GET", f"{STAFF}?limit=5&cursor={first.body['next_cursor']}", token=admin)
    assert len(first.body["items"]) == 1 and len(rest.body["items"]) == 2 and rest.body["next_cursor"] is None
    refused = await api.call("GET", f"{STAFF}?platform=tiktok", token=staff)
    assert refused.status == 400


async def test_staff_verify_and_reject_with_an_audit_entry(api, tree, staff):
    token, uid = await api.person("influencer", tree.east_village.id)
    one = (await claim(api, token, "douyin", "one")).body
    two = (await claim(api, token, "kuaishou", "two")).body

    verified = await api.call("POST", f"{STAFF}/{one['id']}/verify", token=staff, json={"decision": "verify"})
    no_reason = await api.call("POST", f"{STAFF}/{two['id']}/verify", token=staff, json={"decision": "reject"})
    rejected = await api.call(
        "POST", f"{STAFF}/{two['id']}/verify", token=staff, json={"decision": "reject", "reason": "主页与本人不符"}
    )
    redo = {"decision": "reject", "reason": "x"}
    again = await api.call("POST", f"{STAFF}/{one['id']}/verify", token=staff, json=redo)

    assert (verified.status, verified.body["status"]) == (200, "verified") and verified.body["decided_at"]
    assert (no_reason.status, no_reason.error_code) == (400, "invalid_request")
    assert "reason" in no_reason.body["error"]["details"]["fields"]
    assert (rejected.status, rejected.body["status"], rejected.body["reason"]) == (200, "rejected", "主页与本人不符")
    assert (again.status, again.error_code) == (409, "account_decided")
    entries = await AuditEntry.filter(target=f"user:{uid}").order_by("id")
    assert [(e.action, e.details["account_id"]) for e in entries] == [
        ("account_verify", one["id"]),
        ("account_reject", two["id"]),
    ]
    assert entries[1].details["reason"] == "主页与本人不符"
    mine = (await api.call("GET", MINE, token=token)).body["items"]
    assert [(a["status"], a["reason"]) for a in mine] == [("verified", None), ("rejected", "主页与本人不符")]


async def test_who_may_decide(api, tree, staff):
    token, _ = await api.person("influencer", tree.west_village.id)
    volunteer, _ = await api.person("volunteer", tree.east_village.id)
    account = (await claim(api, token)).body
    path = f"{STAFF}/{account['id']}/verify"

    by_volunteer = await api.call("POST", path, token=volunteer, json={"decision": "verify"})
    by_other_township = await api.call("POST", path, token=staff, json={"decision": "verify"})
    volunteer_list = await api.call("GET", STAFF, token=volunteer)

    assert by_volunteer.status == 403
    assert volunteer_list.status == 403
    assert by_other_township.status == 404
    assert (await PlatformAccount.get(id=int(account["id"]))).status == "pending"
    assert await AuditEntry.filter(action__startswith="account_").count() == 0


async def test_accounts_are_exported_and_erased_with_the_person(api, tree):
    token, uid = await api.person("influencer", tree.east_village.id)
    await claim(api, token, "toutiao", "my_handle", followers=7)

    export = await api.call("GET", "/api/v1/me/export", token=token)
    assert export.status == 200
    assert [(a["platform"], a["handle"], a["followers"]) for a in export.body["accounts"]] == [
        ("toutiao", "my_handle", 7)
    ]

    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204
    assert await PlatformAccount.filter(user_id=uid).count() == 0
    someone, _ = await api.person("influencer", tree.east_village.id)
    assert (await claim(api, someone, "toutiao", "my_handle")).status == 201
