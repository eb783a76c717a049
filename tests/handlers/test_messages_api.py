"""Netizen messages over HTTP: writing, reading by the writer and by staff, the public list, privacy.

The moves of the state machine are tested with the flow; here a message is moved only to reach
the state a reading needs. The county receives every message; its staff (or an admin) hand it
to a township, whose staff handle it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from models.messages import Message
from models.users import ERASED_NICKNAME
from server.kernel.clock import LOCAL_TZ, now_utc
from tests.images import encode, scene
from tests.support import counting_queries

MESSAGE = {"category": "complain", "title": "路灯不亮", "content": "建设路口的路灯坏了一周，晚上出行不便。"}


@pytest.fixture
async def county(api, tree) -> str:
    """A staff member of the county, which receives every message."""
    token, _ = await api.person("staff", tree.county.id)
    return token


@pytest.fixture
async def writer(api, tree) -> tuple[str, int]:
    """A volunteer of the east village, with a name on record that must not leak."""
    from models.users import User

    token, uid = await api.person("volunteer", tree.east_village.id)
    await User.filter(id=uid).update(nickname="小明的昵称", real_name="王小明")
    return token, uid


async def write(api, token: str, **overrides) -> dict:
    reply = await api.call("POST", "/api/v1/messages", token=token, json=MESSAGE | overrides)
    assert reply.status == 201, reply.body
    return reply.body


async def act(api, token: str, message_id: str, action: str, **body) -> dict:
    reply = await api.call("POST", f"/api/v1/messages/{message_id}/{action}", token=token, json=body)
    assert reply.status == 200, (action, reply.body)
    return reply.body


async def handed_to_east(api, county: str, tree, message_id: str) -> None:
    await act(api, county, message_id, "accept")
    await act(api, county, message_id, "assign", org_id=str(tree.east.id), kind="jiaoban", note="请东镇办理")


async def replied(api, county: str, east: str, tree, message_id: str) -> None:
    await handed_to_east(api, county, tree, message_id)
    await act(api, east, message_id, "draft-reply", content="路灯已修复，感谢反映。")
    await act(api, county, message_id, "approve-reply")


def today() -> str:
    return now_utc().astimezone(LOCAL_TZ).strftime("%Y%m%d")


# -- writing -------------------------------------------------------------------------------------


async def test_a_message_is_numbered_by_the_local_day_and_waits_to_be_accepted(api, writer):
    photo = await api.upload(writer[0], encode(scene((320, 240), seed=1), "JPEG"))
    assert photo.status == 201

    body = await write(api, writer[0], media_ids=[photo.body["id"]], lat=27.6, lng=111.4, public_ok=True)

    assert body["number"] == f"QD{today()}-0001"
    assert body["status"] == "submitted" and body["org"] is None and body["due_at"] is None
    assert [m["id"] for m in body["media"]] == [photo.body["id"]]
    assert [e["action"] for e in body["events"]] == ["submit"]
    assert body["public_ok"] is True and body["supervision"] == 0 and body["reply"] is None
    # The writer's own view names nobody: the writer field is for the staff who handle it.
    assert body["writer"] is None and body["draft"] is None


async def test_concurrent_messages_get_unique_numbers_in_the_order_they_were_stored(api, tree):
    people = [(await api.person("volunteer", tree.east_village.id))[0] for _ in range(10)]

    replies = await asyncio.gather(
        *(
            api.call("POST", "/api/v1/messages", token=t, json=MESSAGE | {"title": f"第{n}条"})
            for n, t in enumerate(people)
        )
    )

    assert [r.status for r in replies] == [201] * 10, [r.body for r in replies if r.status != 201]
    numbers = [number for _, number in sorted((int(r.body["id"]), r.body["number"]) for r in replies)]
    assert numbers == [f"QD{today()}-{n:04d}" for n in range(1, 11)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "gossip"}, "category"),
        ({"category": None}, "category"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "长" * 101}, "title"),
        ({"content": ""}, "content"),
        ({"content": "字" * 5001}, "content"),
        ({"media_ids": ["1"] * 2}, "media_ids"),
        ({"media_ids": [str(n) for n in range(1, 11)]}, "media_ids"),
        ({"media_ids": ["abc"]}, "media_ids"),
        ({"lat": 91, "lng": 111.4}, "lat"),
        ({"lat": 27.6, "lng": 181}, "lng"),
        ({"lat": 27.6}, "lng"),
        ({"lng": 111.4}, "lat"),
        ({"public_ok": "maybe"}, "public_ok"),
        ({"writer_id": "1"}, "writer_id"),
    ],
)
async def test_bad_input_names_the_field(api, writer, change, field):
    reply = await api.call("POST", "/api/v1/messages", token=writer[0], json=MESSAGE | change)

    assert reply.status == 400, reply.body
    assert reply.error_code == "invalid_request"
    assert field in {name.split(".")[0] for name in reply.body["error"]["details"]["fields"]}, reply.body
    assert await Message.all().count() == 0


@pytest.mark.parametrize("missing", ["category", "title", "content"])
async def test_a_required_field_left_out_is_named(api, writer, missing):
    body = {k: v for k, v in MESSAGE.items() if k != missing}

    reply = await api.call("POST", "/api/v1/messages", token=writer[0], json=body)

    assert reply.status == 400 and missing in reply.body["error"]["details"]["fields"], reply.body


async def test_photos_of_someone_else_are_refused(api, tree, writer):
    other, _ = await api.person("volunteer", tree.east_village.id)
    theirs = await api.upload(other, encode(scene((320, 240), seed=2), "JPEG"))

    reply = await api.call(
        "POST", "/api/v1/messages", token=writer[0], json=MESSAGE | {"media_ids": [theirs.body["id"]]}
    )
    missing = await api.call("POST", "/api/v1/messages", token=writer[0], json=MESSAGE | {"media_ids": ["2000000000"]})

    assert (reply.status, reply.error_code) == (403, "media_not_yours")
    assert (missing.status, missing.error_code) == (403, "media_not_yours")
    assert await Message.all().count() == 0


async def test_writing_needs_sign_in(api):
    reply = await api.call("POST", "/api/v1/messages", json=MESSAGE)

    assert reply.status == 401


# -- reading -------------------------------------------------------------------------------------


async def test_mine_lists_only_my_messages_newest_first(api, tree, writer):
    other, _ = await api.person("volunteer", tree.east_village.id)
    first = await write(api, writer[0], title="第一条")
    await write(api, other, title="别人的")
    second = await write(api, writer[0], title="第二条")

    mine = await api.call("GET", "/api/v1/messages?mine=1", token=writer[0])
    plain = await api.call("GET", "/api/v1/messages", token=writer[0])  # a volunteer only ever has theirs

    assert [m["id"] for m in mine.body["items"]] == [second["id"], first["id"]]
    assert plain.body["items"] == mine.body["items"]
    assert all(m["writer"] is None for m in mine.body["items"])


async def test_the_writer_sees_public_steps_only_and_the_handlers_see_everything(api, tree, county, staff, writer):
    message = await write(api, writer[0])
    await handed_to_east(api, county, tree, message["id"])
    await act(api, staff, message["id"], "extend", days=2, reason="需协调供电部门")
    await act(api, staff, message["id"], "draft-reply", content="草稿：已安排维修")

    own = await api.call("GET", f"/api/v1/messages/{message['id']}", token=writer[0])
    handled = await api.call("GET", f"/api/v1/messages/{message['id']}", token=staff)
    above = await api.call("GET", f"/api/v1/messages/{message['id']}", token=county)

    assert own.status == handled.status == above.status == 200
    assert [e["action"] for e in own.body["events"]] == ["submit", "accept", "assign"]
    assert own.body["draft"] is None and own.body["writer"] is None and own.body["home_org"] is None
    assert own.body["extension_asked"] is None
    assert "王小明" not in str(own.body) and "小明的昵称" not in str(own.body)
    for view in (handled.body, above.body):
        assert [e["action"] for e in view["events"]] == ["submit", "accept", "assign", "extend", "draft-reply"]
        assert view["draft"] == "草稿：已安排维修" and view["extension_asked"] == 2
        assert view["writer"]["id"] == str(writer[1]) and view["writer"]["nickname"] == "小明的昵称"
        assert view["writer"]["org"]["id"] == str(tree.east_village.id)
        assert view["home_org"]["id"] == str(tree.county.id) and view["org"]["id"] == str(tree.east.id)


async def test_others_find_no_message(api, tree, county, writer):
    message = await write(api, writer[0])
    await handed_to_east(api, county, tree, message["id"])
    west, _ = await api.person("staff", tree.west.id)
    neighbour, _ = await api.person("volunteer", tree.east_village.id)

    for token in (west, neighbour):
        reply = await api.call("GET", f"/api/v1/messages/{message['id']}", token=token)
        assert (reply.status, reply.error_code) == (404, "not_found"), reply.body
        listed = await api.call("GET", "/api/v1/messages", token=token)
        assert message["id"] not in {m["id"] for m in listed.body["items"]}
    missing = await api.call("GET", "/api/v1/messages/2000000000", token=county)
    assert missing.status == 404


async def test_a_message_not_yet_assigned_is_the_countys_alone(api, tree, county, staff, writer):
    message = await write(api, writer[0])

    township = await api.call("GET", f"/api/v1/messages/{message['id']}", token=staff)
    received = await api.call("GET", f"/api/v1/messages/{message['id']}", token=county)

    assert township.status == 404
    assert received.status == 200 and received.body["writer"]["id"] == str(writer[1])


async def test_the_public_list_shows_allowed_replies_with_the_writer_as_a_netizen(api, tree, county, staff, writer):
    shown = await write(api, writer[0], title="可以公开", public_ok=True)
    private = await write(api, writer[0], title="不公开")
    waiting = await write(api, writer[0], title="还没答复", public_ok=True)
    for message in (shown, private):
        await replied(api, county, staff, tree, message["id"])
    await handed_to_east(api, county, tree, waiting["id"])

    reply = await api.call("GET", "/api/v1/public/messages")

    assert reply.status == 200
    (item,) = reply.body["items"]
    assert item["number"] == shown["number"] and item["writer"] == "网友"
    assert item["reply"]["content"] == "路灯已修复，感谢反映。"
    assert "id" not in item and "events" not in item
    text = str(reply.body)
    assert str(writer[1]) not in {item["number"], item["org"]["id"]}
    assert "王小明" not in text and "小明的昵称" not in text


async def test_staff_lists_filter_by_status_and_overdue(api, tree, county, staff, writer):
    fresh = await write(api, writer[0], title="待受理")
    late = await write(api, writer[0], title="超期")
    on_time = await write(api, writer[0], title="未超期")
    for message in (late, on_time):
        await handed_to_east(api, county, tree, message["id"])
    # Its deadline passed: the day it was due is behind us.
    await Message.filter(id=int(late["id"])).update(due_at=now_utc() - timedelta(days=1))

    submitted = await api.call("GET", "/api/v1/messages?status=submitted", token=county)
    assigned = await api.call("GET", "/api/v1/messages?status=assigned", token=county)
    overdue = await api.call("GET", "/api/v1/messages?overdue=1", token=county)
    east_overdue = await api.call("GET", "/api/v1/messages?overdue=1", token=staff)
    bad = await api.call("GET", "/api/v1/messages?status=lost", token=county)

    assert [m["id"] for m in submitted.body["items"]] == [fresh["id"]]
    assert [m["id"] for m in assigned.body["items"]] == [on_time["id"], late["id"]]
    assert [m["id"] for m in overdue.body["items"]] == [late["id"]] and overdue.body["items"][0]["overdue"] is True
    assert [m["id"] for m in east_overdue.body["items"]] == [late["id"]]
    assert bad.status == 400 and "status" in bad.body["error"]["details"]["fields"]


async def test_lists_page_with_a_cursor(api, writer):
    written = [await write(api, writer[0], title=f"第{n}条") for n in range(3)]

    first = await api.call("GET", "/api/v1/messages?mine=1&limit=2", token=writer[0])
    rest = await api.call("GET", f"/api/v1/messages?mine=1&limit=2&cursor={first.body['next_cursor']}", token=writer[0])

    assert [m["id"] for m in first.body["items"] + rest.body["items"]] == [m["id"] for m in reversed(written)]
    assert rest.body["next_cursor"] is None


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/api/v1/messages", "county"),
        ("/api/v1/messages?mine=1", "writer"),
        ("/api/v1/messages?status=assigned", "county"),
        ("/api/v1/messages?overdue=1", "staff"),
        ("/api/v1/public/messages", None),
    ],
)
async def test_a_message_list_costs_the_same_statements_for_one_row_or_many(
    api, tree, county, staff, writer, path, who
):
    for n in range(4):
        photo = await api.upload(writer[0], encode(scene((320, 240), seed=n), "JPEG"))
        message = await write(api, writer[0], title=f"第{n}条", public_ok=True, media_ids=[photo.body["id"]])
        await replied(api, county, staff, tree, message["id"])
        # Reopened by an unsatisfied rating: open again, and late.
        if path != "/api/v1/public/messages":
            await act(api, writer[0], message["id"], "rate", rating="unsatisfied")
            await Message.filter(id=int(message["id"])).update(due_at=now_utc() - timedelta(days=1))
    await api.settle()  # the notices the moves queued, which would read alongside the list
    token = {"county": county, "staff": staff, "writer": writer[0], None: None}[who]
    counts = []
    for limit in (1, 50):
        joiner = "&" if "?" in path else "?"
        with counting_queries() as log:
            reply = await api.call("GET", f"{path}{joiner}limit={limit}", token=token)
        assert reply.status == 200, reply.body
        counts.append((len(reply.body["items"]), len(log.statements)))

    (one, small), (many, large) = counts
    assert one == 1 and many == 4
    assert large == small > 0


# -- personal data -------------------------------------------------------------------------------


async def test_the_export_holds_my_messages_with_their_public_steps(api, tree, county, staff, writer):
    message = await write(api, writer[0], lat=27.6, lng=111.4)
    await handed_to_east(api, county, tree, message["id"])
    await act(api, staff, message["id"], "draft-reply", content="草稿")
    other, _ = await api.person("volunteer", tree.east_village.id)
    await write(api, other, title="别人的")

    reply = await api.call("GET", "/api/v1/me/export", token=writer[0])

    assert reply.status == 200
    (exported,) = reply.body["messages"]
    assert exported["id"] == message["id"] and exported["number"] == message["number"]
    assert (exported["content"], exported["lat"], exported["lng"]) == (MESSAGE["content"], 27.6, 111.4)
    assert [e["action"] for e in exported["events"]] == ["submit", "accept", "assign"]
    assert exported["status"] == "replying" and exported["reply"] is None
    assert "草稿" not in str(exported)


async def test_erasure_keeps_the_message_and_forgets_who_wrote_it(api, tree, county, staff, writer):
    photo = await api.upload(writer[0], encode(scene((320, 240), seed=5), "JPEG"))
    message = await write(api, writer[0], lat=27.6, lng=111.4, public_ok=True, media_ids=[photo.body["id"]])
    await handed_to_east(api, county, tree, message["id"])

    assert (await api.call("DELETE", "/api/v1/me", token=writer[0])).status == 204

    seen = await api.call("GET", f"/api/v1/messages/{message['id']}", token=staff)
    assert seen.status == 200
    assert seen.body["content"] == MESSAGE["content"] and seen.body["number"] == message["number"]
    assert "王小明" not in str(seen.body) and "小明的昵称" not in str(seen.body)
    assert seen.body["writer"]["nickname"] == ERASED_NICKNAME
    stored = await Message.get(id=int(message["id"]))
    assert stored.writer_id == writer[1] and (stored.lat, stored.lng) == (None, None)
    # The handling goes on to a published reply, shown as ever with the writer as 网友.
    await act(api, staff, message["id"], "draft-reply", content="已修复")
    await act(api, county, message["id"], "approve-reply")
    public = await api.call("GET", "/api/v1/public/messages")
    assert [m["number"] for m in public.body["items"]] == [message["number"]]
    assert public.body["items"][0]["writer"] == "网友"
