"""Share links and opens: one ref per person and task, opens counted once, paid up to a daily cap."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from models.ledger import LedgerEntry
from models.sharing import ShareOpen, ref_for
from models.users import User
from server.kernel.clock import local_day, now_utc
from server.kernel.crypto import derive_key
from tests.factories import make_campaign, make_task, published_task

LINKS = "/api/v1/share-links"
OPENS = "/api/v1/share-opens"


def online(**settings) -> dict:
    return {"platforms": ["douyin"], **settings}


async def share(api, token: str, task_id: str) -> str:
    reply = await api.call("POST", LINKS, token=token, json={"task_id": task_id})
    assert reply.status == 201, reply.body
    return reply.body["ref"]


async def open_card(api, token: str, ref: str) -> None:
    reply = await api.call("POST", OPENS, token=token, json={"ref": ref})
    assert reply.status == 204, reply.body


async def stats(api, staff: str, task_id: str) -> dict:
    reply = await api.call("GET", f"/api/v1/tasks/{task_id}/share-stats", token=staff)
    assert reply.status == 200, reply.body
    return reply.body


@pytest.fixture
async def paying(api, staff, tree) -> dict:
    """An online task paying 3 points an open, at most 2 paid opens a day."""
    return await published_task(
        api, staff, tree.east.id, title="转发家乡短视频", online=online(share_points=3, share_daily_cap=2)
    )


@pytest.fixture
async def sharer(api, tree) -> tuple[str, int]:
    return await api.person("volunteer", tree.east_village.id)


async def test_sharing_again_gives_the_same_ref_and_each_person_their_own(api, staff, paying, sharer, tree) -> None:
    other, _ = await api.person("volunteer", tree.west_village.id)

    first = await share(api, sharer[0], paying["id"])
    again = await share(api, sharer[0], paying["id"])
    theirs = await share(api, other, paying["id"])

    assert first == again
    assert theirs != first
    assert await stats(api, staff, paying["id"]) == {"links": 2, "opens": 0}


async def test_concurrent_first_shares_make_one_link(api, staff, paying, sharer) -> None:
    refs = await asyncio.gather(*(share(api, sharer[0], paying["id"]) for _ in range(8)))
    assert len(set(refs)) == 1
    assert (await stats(api, staff, paying["id"]))["links"] == 1


async def test_a_task_the_person_cannot_see_cannot_be_shared(api, staff, sharer, tree) -> None:
    draft = await make_campaign(api, staff, tree.east.id, publish=False, title="筹备中")
    hidden = await make_task(api, staff, draft["id"])

    reply = await api.call("POST", LINKS, token=sharer[0], json={"task_id": hidden["id"]})
    missing = await api.call("POST", LINKS, token=sharer[0], json={"task_id": "2000000000"})

    assert reply.status == 404 and reply.error_code == "not_found"
    assert missing.status == 404


async def test_an_open_counts_once_per_opener_and_never_for_the_sharer(api, staff, paying, sharer, tree) -> None:
    ref = await share(api, sharer[0], paying["id"])
    opener, opener_id = await api.person("volunteer", tree.west_village.id)

    await open_card(api, sharer[0], ref)
    await open_card(api, opener, ref)
    await open_card(api, opener, ref)

    assert await stats(api, staff, paying["id"]) == {"links": 1, "opens": 1}
    assert await ShareOpen.filter(opener_id=sharer[1]).count() == 0
    row = await ShareOpen.get(opener_id=opener_id)
    assert row.day == local_day(now_utc()).isoformat()
    assert (await User.get(id=sharer[1])).points == 3


@pytest.mark.parametrize(
    "mangle",
    [
        lambda ref: ref[:-1] + ("A" if ref[-1] != "A" else "B"),  # signature changed
        lambda ref: f"{int(ref.split('.')[0]) + 1}.{ref.split('.')[1]}",  # another link, this signature
        lambda ref: ref.split(".")[0],  # no signature
        lambda ref: "x" + ref,
        lambda ref: "99999999999." + ref.split(".")[1],  # no id fits
        lambda ref: "１." + ref.split(".")[1],  # a full-width digit
    ],
)
async def test_a_forged_or_mangled_ref_is_400_bad_ref(api, staff, paying, sharer, tree, mangle) -> None:
    ref = await share(api, sharer[0], paying["id"])
    await share(api, (await api.person("volunteer", tree.east_village.id))[0], paying["id"])  # link id + 1 exists
    opener, _ = await api.person("volunteer", tree.west_village.id)

    reply = await api.call("POST", OPENS, token=opener, json={"ref": mangle(ref)})

    assert reply.status == 400, reply.body
    assert reply.error_code == "bad_ref" and reply.body["error"]["message"] == "分享链接无效"
    assert (await stats(api, staff, paying["id"]))["opens"] == 0


async def test_a_ref_signed_with_another_key_is_refused(api, paying, sharer, tree) -> None:
    ref = await share(api, sharer[0], paying["id"])
    link_id = int(ref.split(".")[0])
    forged = ref_for(link_id, derive_key("another-secret", "share-ref-v1"))
    opener, _ = await api.person("volunteer", tree.west_village.id)

    reply = await api.call("POST", OPENS, token=opener, json={"ref": forged})

    assert reply.status == 400 and reply.error_code == "bad_ref"


async def test_opens_pay_the_sharer_up_to_the_daily_cap(api, staff, paying, sharer, tree) -> None:
    ref = await share(api, sharer[0], paying["id"])
    for _ in range(3):
        await open_card(api, (await api.person("volunteer", tree.west_village.id))[0], ref)

    entries = await LedgerEntry.filter(user_id=sharer[1]).order_by("id")
    assert [(e.points, e.reason, e.campaign_id) for e in entries] == [
        (3, "分享的任务被打开：转发家乡短视频", int(paying["campaign_id"]))
    ] * 2
    assert (await User.get(id=sharer[1])).points == 6
    assert await ShareOpen.filter(rewarded=True).count() == 2
    assert (await stats(api, staff, paying["id"]))["opens"] == 3  # the third is counted, unpaid
    board = await api.call("GET", "/api/v1/leaderboard", token=sharer[0])
    assert board.body["me"] == {"rank": 1, "points": 6}


async def test_the_cap_starts_again_the_next_local_day(api, paying, sharer, tree) -> None:
    ref = await share(api, sharer[0], paying["id"])
    for _ in range(2):
        await open_card(api, (await api.person("volunteer", tree.west_village.id))[0], ref)
    today = local_day(now_utc()).isoformat()
    yesterday = (local_day(now_utc()) - timedelta(days=1)).isoformat()
    for entry in await LedgerEntry.filter(user_id=sharer[1]):
        entry.once_key = entry.once_key.replace(today, yesterday)
        await entry.save(update_fields=["once_key"])
    await ShareOpen.all().update(day=yesterday)

    await open_card(api, (await api.person("volunteer", tree.west_village.id))[0], ref)

    assert (await User.get(id=sharer[1])).points == 9


async def test_a_task_without_share_points_pays_nothing(api, staff, sharer, tree) -> None:
    plain = await published_task(api, staff, tree.east.id)
    unpaid = await published_task(api, staff, tree.east.id, online=online())
    for task in (plain, unpaid):
        ref = await share(api, sharer[0], task["id"])
        await open_card(api, (await api.person("volunteer", tree.west_village.id))[0], ref)
        assert (await stats(api, staff, task["id"]))["opens"] == 1

    assert await LedgerEntry.filter(user_id=sharer[1]).count() == 0


async def test_the_cap_holds_under_concurrent_opens(api, staff, tree, sharer) -> None:
    task = await published_task(api, staff, tree.east.id, online=online(share_points=2, share_daily_cap=5))
    ref = await share(api, sharer[0], task["id"])
    openers = [(await api.person("volunteer", tree.west_village.id))[0] for _ in range(20)]

    replies = await asyncio.gather(*(api.call("POST", OPENS, token=t, json={"ref": ref}) for t in openers))

    assert [r.status for r in replies] == [204] * 20
    assert await ShareOpen.all().count() == 20
    assert await ShareOpen.filter(rewarded=True).count() == 5
    assert await LedgerEntry.filter(user_id=sharer[1]).count() == 5
    assert (await User.get(id=sharer[1])).points == 10


async def test_one_opener_racing_themself_counts_once(api, staff, paying, sharer, tree) -> None:
    ref = await share(api, sharer[0], paying["id"])
    opener, _ = await api.person("volunteer", tree.west_village.id)

    replies = await asyncio.gather(*(api.call("POST", OPENS, token=opener, json={"ref": ref}) for _ in range(6)))

    assert [r.status for r in replies] == [204] * 6
    assert (await stats(api, staff, paying["id"]))["opens"] == 1
    assert (await User.get(id=sharer[1])).points == 3


async def test_share_stats_are_for_staff_of_the_task_subtree(api, staff, paying, sharer, tree) -> None:
    west_staff, _ = await api.person("staff", tree.west.id)
    path = f"/api/v1/tasks/{paying['id']}/share-stats"

    assert (await api.call("GET", path, token=sharer[0])).status == 403
    assert (await api.call("GET", path, token=west_staff)).status == 403
    assert (await api.call("GET", path, token=staff)).status == 200
