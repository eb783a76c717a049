"""Notices (通知): who receives one, reading it, the counts staff see, the subscribe message, privacy."""

from __future__ import annotations

import pytest

from models.audit import AuditEntry
from models.notices import BATCH, Notice, NoticeRecipient, reachable_batches
from models.notifications import Notification
from models.users import User
from tests.factories import TASKS, make_campaign, make_task
from tests.support import counting_queries

NOTICES = "/api/v1/notices"


def body(org_id: int | str, **extra) -> dict:
    return {"title": "周六集合", "content": "请于周六上午九点到文化广场集合。", "org_id": str(org_id), **extra}


async def send(api, token: str, org_id: int | str, **extra) -> dict:
    reply = await api.call("POST", NOTICES, token=token, json=body(org_id, **extra))
    assert reply.status == 201, reply.body
    return reply.body


@pytest.fixture
async def people(api, tree) -> dict[str, tuple[str, int]]:
    """Members of the east township (one in its village, one influencer), one of the west, and staff."""
    return {
        "east": await api.person("volunteer", tree.east.id),
        "village": await api.person("volunteer", tree.east_village.id),
        "influencer": await api.person("influencer", tree.east_village.id),
        "west": await api.person("volunteer", tree.west.id),
        "east_staff": await api.person("staff", tree.east_village.id),
    }


async def recipients_of(notice_id: str) -> set[int]:
    return set(await NoticeRecipient.filter(notice_id=int(notice_id)).values_list("user_id", flat=True))


async def test_a_notice_to_an_org_reaches_its_subtree_members_only(api, staff, tree, people) -> None:
    notice = await send(api, staff, tree.east.id)

    ids = {people[k][1] for k in ("east", "village", "influencer")}
    assert await recipients_of(notice["id"]) == ids
    assert notice["recipients"] == 3
    assert notice["org"]["id"] == str(tree.east.id)
    assert notice["campaign_id"] is None and notice["roles"] is None
    assert notice["read_count"] == 0
    (entry,) = await AuditEntry.filter(action="notice")
    assert entry.target == f"notice:{notice['id']}"
    assert entry.details["recipients"] == 3


async def test_roles_narrow_the_recipients(api, staff, tree, people) -> None:
    notice = await send(api, staff, tree.east.id, roles=["influencer"])
    assert await recipients_of(notice["id"]) == {people["influencer"][1]}
    assert notice["roles"] == ["influencer"]


async def test_an_erased_member_is_not_a_recipient(api, staff, tree, people) -> None:
    token, uid = people["east"]
    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204
    notice = await send(api, staff, tree.east.id)
    assert uid not in await recipients_of(notice["id"])


async def test_a_campaign_notice_reaches_its_enrolled_people_whatever_their_org(api, staff, tree, people) -> None:
    campaign = await make_campaign(api, staff, tree.east.id)
    task = await make_task(api, staff, campaign["id"])
    for key in ("west", "village", "east"):
        assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=people[key][0])).status == 201
    assert (await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=people["east"][0])).status in (200, 204)

    notice = await send(api, staff, tree.east.id, campaign_id=campaign["id"])

    assert await recipients_of(notice["id"]) == {people["west"][1], people["village"][1]}
    assert notice["campaign_id"] == campaign["id"]


async def test_nobody_to_tell_is_refused_naming_the_field_and_writes_nothing(api, staff, tree) -> None:
    reply = await api.call("POST", NOTICES, token=staff, json=body(tree.east.id))
    assert reply.status == 400
    assert reply.body["error"]["details"]["fields"] == {"org_id": "没有符合条件的接收人"}

    campaign = await make_campaign(api, staff, tree.east.id)
    reply = await api.call("POST", NOTICES, token=staff, json=body(tree.east.id, campaign_id=campaign["id"]))
    assert reply.status == 400
    assert "campaign_id" in reply.body["error"]["details"]["fields"]
    assert await Notice.all().count() == 0
    assert await AuditEntry.filter(action="notice").count() == 0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "长" * 65}, "title"),
        ({"content": "字" * 2001}, "content"),
        ({"roles": ["staff"]}, "roles.0"),
        ({"roles": ["volunteer", "volunteer"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"campaign_id": "999999"}, "campaign_id"),
    ],
)
async def test_bad_input_names_the_field(api, staff, tree, people, extra, field) -> None:
    reply = await api.call("POST", NOTICES, token=staff, json=body(tree.east.id, **extra))
    assert reply.status == 400, reply.body
    assert field in reply.body["error"]["details"]["fields"]


async def test_an_unknown_org_is_400_and_another_township_403(api, staff, tree, people) -> None:
    unknown = await api.call("POST", NOTICES, token=staff, json=body(999999))
    assert unknown.status == 400 and "org_id" in unknown.body["error"]["details"]["fields"]
    other = await api.call("POST", NOTICES, token=staff, json=body(tree.west.id))
    assert other.status == 403


async def test_a_campaign_outside_the_chosen_org_is_refused(api, staff, tree, people) -> None:
    admin, _ = await api.person("admin")
    west_campaign = await make_campaign(api, admin, tree.west.id)
    theirs = await api.call("POST", NOTICES, token=staff, json=body(tree.east.id, campaign_id=west_campaign["id"]))
    assert theirs.status == 403  # a campaign the staff member does not manage
    mixed = await api.call("POST", NOTICES, token=admin, json=body(tree.east.id, campaign_id=west_campaign["id"]))
    assert mixed.status == 400
    assert mixed.body["error"]["details"]["fields"] == {"campaign_id": "活动不属于所选的接收组织"}


async def test_members_may_not_send(api, tree, people) -> None:
    reply = await api.call("POST", NOTICES, token=people["east"][0], json=body(tree.east.id))
    assert reply.status == 403


async def test_sending_is_limited_per_staff_member(api, staff, tree, people) -> None:
    for n in range(10):
        await send(api, staff, tree.east.id, title=f"通知{n}")
    reply = await api.call("POST", NOTICES, token=staff, json=body(tree.east.id))
    assert reply.status == 429
    assert reply.body["error"]["code"] == "rate_limited"
    assert int(reply.headers["Retry-After"]) > 0
    other, _ = await api.person("staff", tree.east.id)
    assert (await api.call("POST", NOTICES, token=other, json=body(tree.east.id))).status == 201
    assert await Notice.all().count() == 11


async def test_people_read_their_notices_newest_first(api, staff, tree, people) -> None:
    token, _ = people["village"]
    first = await send(api, staff, tree.east.id, title="第一条")
    second = await send(api, staff, tree.east_village.id, title="第二条")
    await send(api, staff, tree.east.id, title="只给达人", roles=["influencer"])

    me = await api.call("GET", "/api/v1/me", token=token)
    assert me.body["unread_notices"] == 2

    page = await api.call("GET", f"{NOTICES}?limit=1", token=token)
    assert [n["id"] for n in page.body["items"]] == [second["id"]]
    assert page.body["items"][0]["read"] is False and page.body["items"][0]["read_count"] is None
    rest = await api.call("GET", f"{NOTICES}?limit=1&cursor={page.body['next_cursor']}", token=token)
    assert [n["id"] for n in rest.body["items"]] == [first["id"]]
    assert rest.body["next_cursor"] is None

    for _ in range(2):  # again is harmless
        assert (await api.call("POST", f"{NOTICES}/{first['id']}/read", token=token)).status == 204
    (row,) = await NoticeRecipient.filter(notice_id=int(first["id"]), user_id=people["village"][1])
    read_at = row.read_at
    assert read_at is not None
    assert (await api.call("POST", f"{NOTICES}/{first['id']}/read", token=token)).status == 204
    assert (await NoticeRecipient.get(id=row.id)).read_at == read_at  # the first reading counts

    one = await api.call("GET", f"{NOTICES}/{first['id']}", token=token)
    assert one.status == 200 and one.body["read"] is True and one.body["read_at"]
    assert (await api.call("GET", "/api/v1/me", token=token)).body["unread_notices"] == 1


async def test_someone_else_s_notice_is_not_found(api, staff, tree, people) -> None:
    notice = await send(api, staff, tree.east.id)
    outsider = people["west"][0]
    assert (await api.call("GET", f"{NOTICES}/{notice['id']}", token=outsider)).status == 404
    assert (await api.call("POST", f"{NOTICES}/{notice['id']}/read", token=outsider)).status == 404
    assert (await api.call("POST", f"{NOTICES}/999999/read", token=outsider)).status == 404
    assert await NoticeRecipient.filter(read_at__isnull=False).count() == 0


async def test_staff_see_how_many_read(api, staff, tree, people) -> None:
    notice = await send(api, staff, tree.east.id)
    await api.call("POST", f"{NOTICES}/{notice['id']}/read", token=people["east"][0])

    stats = await api.call("GET", f"{NOTICES}/{notice['id']}/stats", token=staff)
    assert stats.status == 200 and stats.body == {"recipients": 3, "read": 1}
    one = await api.call("GET", f"{NOTICES}/{notice['id']}", token=staff)
    assert one.body["read_count"] == 1 and one.body["read"] is None

    county, _ = await api.person("staff", tree.county.id)
    assert (await api.call("GET", f"{NOTICES}/{notice['id']}/stats", token=county)).body["read"] == 1
    west, _ = await api.person("staff", tree.west.id)
    assert (await api.call("GET", f"{NOTICES}/{notice['id']}/stats", token=west)).status == 404
    assert (await api.call("GET", f"{NOTICES}/{notice['id']}", token=west)).status == 404
    assert (await api.call("GET", f"{NOTICES}/{notice['id']}/stats", token=people["east"][0])).status == 403


async def test_staff_list_what_went_to_their_subtree_with_read_counts(api, staff, tree, people) -> None:
    admin, _ = await api.person("admin")
    east = await send(api, staff, tree.east.id)
    west = await send(api, admin, tree.west.id)
    await api.call("POST", f"{NOTICES}/{east['id']}/read", token=people["village"][0])

    mine = await api.call("GET", f"{NOTICES}?sent=1", token=staff)
    assert [(n["id"], n["recipients"], n["read_count"]) for n in mine.body["items"]] == [(east["id"], 3, 1)]
    everything = await api.call("GET", f"{NOTICES}?sent=1", token=admin)
    assert [n["id"] for n in everything.body["items"]] == [west["id"], east["id"]]
    refused = await api.call("GET", f"{NOTICES}?sent=1", token=people["east"][0])
    assert refused.status == 403


async def test_thousands_of_recipients_take_a_few_statements(api, staff, tree) -> None:
    await User.bulk_create(
        [User(openid=f"bulk-{n}", nickname=f"志愿者{n}", org_id=tree.east_village.id) for n in range(2000)],
        batch_size=500,
    )
    with counting_queries() as log:
        notice = await send(api, staff, tree.east.id)
    assert notice["recipients"] == 2000
    assert await NoticeRecipient.filter(notice_id=int(notice["id"])).count() == 2000
    # Authentication, rate limit, org, the audience, the notice, 2000 / BATCH inserts, the audit entry.
    assert len(log.statements) <= 12 + 2000 // BATCH, log.statements


async def test_me_counts_unread_notices_in_one_statement(api, staff, tree, people) -> None:
    token, _ = people["east"]
    await api.call("GET", "/api/v1/me", token=token)  # the first request of a token records the sign-in
    await api.settle()
    with counting_queries() as before:
        assert (await api.call("GET", "/api/v1/me", token=token)).body["unread_notices"] == 0
    for n in range(3):
        await send(api, staff, tree.east.id, title=f"通知{n}")
    await api.settle()  # the subscribe messages' statements are not the profile's
    with counting_queries() as after:
        assert (await api.call("GET", "/api/v1/me", token=token)).body["unread_notices"] == 3
    assert len(after.statements) == len(before.statements)


async def test_recipients_are_told_by_subscribe_message(api, wechat, staff, tree, people) -> None:
    await api.settle()
    wechat.sent_messages.clear()
    refusing = (await User.get(id=people["influencer"][1])).openid or ""
    wechat.refuse_subscribe(refusing)

    notice = await send(api, staff, tree.east.id, title="关于开展“清朗”网络文明志愿服务活动的通知")
    await api.settle()

    told = {m["touser"] for m in wechat.sent_messages if m["template_id"] == "tmpl-notice"}
    expected = {(await User.get(id=people[k][1])).openid for k in ("east", "village")}
    assert told == expected
    message = next(m for m in wechat.sent_messages if m["template_id"] == "tmpl-notice")
    assert message["page"] == f"pages/notice/detail?id={notice['id']}"
    assert message["data"]["thing1"]["value"] == "关于开展“清朗”网络文明志愿服务活动的…"
    assert message["data"]["thing2"]["value"] == "东镇"
    statuses = dict(await Notification.filter(event="notice").values_list("user_id", "status"))
    assert statuses[people["influencer"][1]] == "refused"
    assert statuses[people["east"][1]] == statuses[people["village"][1]] == "sent"

    await api.service.services.jobs.run_here("notify_notice", int(notice["id"]))  # a retried job
    assert len([m for m in wechat.sent_messages if m["template_id"] == "tmpl-notice"]) == 2


async def test_the_subscribe_message_goes_in_batches_to_reachable_people(api, staff, tree, people) -> None:
    notice = await send(api, staff, tree.east.id)
    await api.call("DELETE", "/api/v1/me", token=people["east"][0])  # erased after it was sent
    batches = await reachable_batches(int(notice["id"]), size=1)
    assert batches == [[people["village"][1]], [people["influencer"][1]]]


async def test_export_has_notices_with_read_times_and_erasure_removes_receipts(api, staff, tree, people) -> None:
    token, uid = people["village"]
    notice = await send(api, staff, tree.east.id)
    await api.call("POST", f"{NOTICES}/{notice['id']}/read", token=token)

    export = await api.call("GET", "/api/v1/me/export", token=token)
    (mine,) = export.body["notices"]
    assert mine["id"] == notice["id"] and mine["title"] == "周六集合" and mine["read_at"]

    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204
    assert not await NoticeRecipient.exists(user_id=uid)
    stats = await api.call("GET", f"{NOTICES}/{notice['id']}/stats", token=staff)
    assert stats.body == {"recipients": 3, "read": 0}  # as sent; the erased reader's receipt is gone
