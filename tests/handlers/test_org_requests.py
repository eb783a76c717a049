"""Moving to another org: chosen freely once, then a request that staff of the target org decide.

A volunteer could otherwise hop into another township (PATCH /me), enroll in a task meant for it
and hop back, taking points and report rows along.
"""

from __future__ import annotations

from models.audit import AuditEntry
from models.users import User
from tests.factories import TASKS, published_task

ME = "/api/v1/me"
REQUESTS = "/api/v1/org-requests"


async def move(api, token: str, org_id: int | None):
    return await api.call("PATCH", ME, token=token, json={"org_id": None if org_id is None else str(org_id)})


async def test_the_first_choice_of_org_is_free(api, tree):
    token, _ = await api.login()

    reply = await move(api, token, tree.west_village.id)

    assert reply.status == 200, reply.body
    assert reply.body["org"]["id"] == str(tree.west_village.id)
    assert reply.body["pending_org"] is None


async def test_a_later_change_is_a_request_and_the_old_org_holds(api, tree):
    token, uid = await api.person("volunteer", tree.east_village.id)

    reply = await move(api, token, tree.west_village.id)

    assert reply.status == 200, reply.body
    assert reply.body["org"]["id"] == str(tree.east_village.id)
    pending = reply.body["pending_org"]
    assert pending["org"]["id"] == str(tree.west_village.id) and pending["id"] and pending["requested_at"]
    again = await api.call("GET", ME, token=token)
    assert again.body["org"]["id"] == str(tree.east_village.id)
    assert again.body["pending_org"] == pending
    assert (await User.get(id=uid)).org_id == tree.east_village.id


async def test_an_org_change_request_does_not_open_the_target_orgs_tasks(api, tree, staff):
    """The dodge: move into the west township, enroll in a task only for it, move back."""
    west_staff, _ = await api.person("staff", tree.west.id)
    task = await published_task(api, west_staff, tree.west.id, audience={"org_ids": [str(tree.west.id)]})
    token, _ = await api.person("volunteer", tree.east_village.id)

    assert (await move(api, token, tree.west_village.id)).status == 200
    reply = await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)

    assert (reply.status, reply.error_code) == (403, "not_in_audience")


async def test_staff_of_the_target_org_list_and_approve(api, tree, staff):
    west_staff, west_staff_id = await api.person("staff", tree.west.id)
    token, uid = await api.person("volunteer", tree.east_village.id)
    request_id = (await move(api, token, tree.west_village.id)).body["pending_org"]["id"]

    listed = await api.call("GET", f"{REQUESTS}?status=pending", token=west_staff)
    not_theirs = await api.call("GET", f"{REQUESTS}?status=pending", token=staff)
    reply = await api.call("POST", f"{REQUESTS}/{request_id}/approve", token=west_staff, json={})

    assert listed.status == 200, listed.body
    (item,) = listed.body["items"]
    assert item["id"] == request_id and item["status"] == "pending"
    assert item["user"]["id"] == str(uid)
    assert (item["from_org"]["id"], item["to_org"]["id"]) == (str(tree.east_village.id), str(tree.west_village.id))
    assert not_theirs.status == 200 and not_theirs.body["items"] == []
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "approved" and reply.body["decided_by"]["id"] == str(west_staff_id)
    me = await api.call("GET", ME, token=token)
    assert me.body["org"]["id"] == str(tree.west_village.id) and me.body["pending_org"] is None
    entry = await AuditEntry.get(action="org_change_approve")
    assert (entry.actor_id, entry.target) == (west_staff_id, f"user:{uid}")
    assert entry.details["to_org_id"] == str(tree.west_village.id)


async def test_refusing_needs_a_reason_and_keeps_the_old_org(api, tree):
    west_staff, west_staff_id = await api.person("staff", tree.west.id)
    token, _ = await api.person("volunteer", tree.east_village.id)
    request_id = (await move(api, token, tree.west_village.id)).body["pending_org"]["id"]

    bare = await api.call("POST", f"{REQUESTS}/{request_id}/refuse", token=west_staff, json={})
    reply = await api.call("POST", f"{REQUESTS}/{request_id}/refuse", token=west_staff, json={"reason": "不在本村居住"})

    assert bare.status == 400 and "reason" in bare.body["error"]["details"]["fields"]
    assert reply.status == 200, reply.body
    assert (reply.body["status"], reply.body["reason"]) == ("refused", "不在本村居住")
    me = await api.call("GET", ME, token=token)
    assert me.body["org"]["id"] == str(tree.east_village.id) and me.body["pending_org"] is None
    entry = await AuditEntry.get(action="org_change_refuse")
    assert (entry.actor_id, entry.details["reason"]) == (west_staff_id, "不在本村居住")
    exported = await api.call("GET", f"{ME}/export", token=token)
    (mine,) = exported.body["org_requests"]
    assert (mine["status"], mine["reason"]) == ("refused", "不在本村居住")


async def test_staff_outside_the_target_org_cannot_decide(api, tree, staff):
    token, uid = await api.person("volunteer", tree.east_village.id)
    request_id = (await move(api, token, tree.west_village.id)).body["pending_org"]["id"]

    reply = await api.call("POST", f"{REQUESTS}/{request_id}/approve", token=staff, json={})

    assert reply.status == 404
    assert (await User.get(id=uid)).org_id == tree.east_village.id


async def test_a_decided_request_cannot_be_decided_again(api, tree):
    west_staff, _ = await api.person("staff", tree.west.id)
    token, _ = await api.person("volunteer", tree.east_village.id)
    request_id = (await move(api, token, tree.west_village.id)).body["pending_org"]["id"]
    assert (await api.call("POST", f"{REQUESTS}/{request_id}/approve", token=west_staff, json={})).status == 200

    reply = await api.call("POST", f"{REQUESTS}/{request_id}/refuse", token=west_staff, json={"reason": "重复"})

    assert (reply.status, reply.error_code) == (409, "org_request_decided")


async def test_asking_again_replaces_the_pending_request(api, tree):
    west_staff, _ = await api.person("staff", tree.west.id)
    token, _ = await api.person("volunteer", tree.east_village.id)
    first = (await move(api, token, tree.west_village.id)).body["pending_org"]["id"]

    reply = await move(api, token, tree.west.id)

    assert reply.body["pending_org"]["org"]["id"] == str(tree.west.id)
    listed = await api.call("GET", f"{REQUESTS}?status=pending", token=west_staff)
    assert [item["to_org"]["id"] for item in listed.body["items"]] == [str(tree.west.id)]
    old = await api.call("POST", f"{REQUESTS}/{first}/approve", token=west_staff, json={})
    assert (old.status, old.error_code) == (409, "org_request_decided")
    assert await AuditEntry.filter(action="org_change_request").count() == 2


async def test_choosing_the_current_org_withdraws_the_request(api, tree):
    token, _ = await api.person("volunteer", tree.east_village.id)
    assert (await move(api, token, tree.west_village.id)).body["pending_org"] is not None

    reply = await move(api, token, tree.east_village.id)

    assert reply.status == 200 and reply.body["pending_org"] is None
    assert reply.body["org"]["id"] == str(tree.east_village.id)


async def test_an_org_once_chosen_cannot_be_cleared(api, tree):
    """Clearing it would make the next choice free again: the dodge by another door."""
    token, uid = await api.person("volunteer", tree.east_village.id)

    reply = await move(api, token, None)

    assert reply.status == 400
    assert "org_id" in reply.body["error"]["details"]["fields"]
    assert (await User.get(id=uid)).org_id == tree.east_village.id


async def test_no_org_stays_no_org(api):
    token, _ = await api.login()

    reply = await move(api, token, None)

    assert (reply.status, reply.body["org"], reply.body["pending_org"]) == (200, None, None)


async def test_erasure_withdraws_a_pending_request(api, tree):
    west_staff, _ = await api.person("staff", tree.west.id)
    token, _ = await api.person("volunteer", tree.east_village.id)
    assert (await move(api, token, tree.west_village.id)).status == 200

    assert (await api.call("DELETE", ME, token=token)).status == 204

    listed = await api.call("GET", f"{REQUESTS}?status=pending", token=west_staff)
    assert listed.body["items"] == []


async def test_members_need_staff_to_see_requests(api, tree):
    token, _ = await api.person("volunteer", tree.east_village.id)
    reply = await api.call("GET", REQUESTS, token=token)
    assert reply.status == 403


async def test_points_earned_while_a_request_waits_count_for_the_old_org(api, tree, staff):
    from models.ledger import LedgerEntry
    from tests.handlers.test_review import hand_in, review_path

    task = await published_task(api, staff, tree.east.id)
    token, uid = await api.person("volunteer", tree.east_village.id)
    assert (await move(api, token, tree.west_village.id)).status == 200
    sid = await hand_in(api, token, task)

    assert (await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})).status == 200

    entry = await LedgerEntry.get(user_id=uid)
    assert (entry.org_id, entry.org_path) == (tree.east_village.id, tree.east_village.path)


async def test_the_list_makes_the_same_queries_for_2_or_6_requests(api, tree):
    from tests.support import counting_queries

    west_staff, _ = await api.person("staff", tree.west.id)
    counts = []
    for people in (2, 4):
        for _ in range(people):
            token, _ = await api.person("volunteer", tree.east_village.id)
            assert (await move(api, token, tree.west_village.id)).status == 200
        with counting_queries() as log:
            reply = await api.call("GET", f"{REQUESTS}?limit=100", token=west_staff)
        assert reply.status == 200
        counts.append(log.selects)
    assert len(reply.body["items"]) == 6
    assert counts[0] == counts[1], counts
