"""POST /tasks/{id}/submissions, GET /submissions: rules, risk flags, content checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.campaigns import Enrollment
from models.idempotency import IdempotencyRecord
from models.media import Media
from models.submissions import Submission, SubmissionMedia
from server.wechat.fake import FLAGGED_WORDS
from tests.factories import SPOT, TASKS, iso, published_task
from tests.images import encode, phone_photo, scene
from tests.support import answers_cannot_be_recorded, counting_queries

SUBMISSIONS = "/api/v1/submissions"


async def photo(api, token: str, data: bytes | None = None, seed: int = 0) -> str:
    reply = await api.upload(token, data if data is not None else encode(scene((640, 480), seed=seed), "JPEG"))
    assert reply.status == 201, reply.body
    return reply.body["id"]


async def enrolled(api, token: str, task: dict) -> None:
    reply = await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)
    assert reply.status == 201, reply.body


async def hand_in(api, token: str, task: dict, media_ids: list[str], **extra):
    headers = extra.pop("headers", None)
    body = {"media_ids": media_ids, "text": extra.pop("text", "今天走访了村文化礼堂"), **extra}
    return await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body, headers=headers)


@pytest.fixture
async def task(api, staff, tree) -> dict:
    return await published_task(api, staff, tree.east.id, min_photos=1, max_photos=3)


@pytest.fixture
async def volunteer(api, tree) -> str:
    token, _ = await api.person("volunteer", tree.east_village.id)
    return token


async def test_submission_is_created_pending_and_enrollment_marked(api, task, volunteer) -> None:
    await enrolled(api, volunteer, task)
    media_id = await photo(api, volunteer)

    reply = await hand_in(api, volunteer, task, [media_id], links=["https://example.org/post/1"], lat=30.0, lng=120.0)

    assert reply.status == 201, reply.body
    body = reply.body
    assert body["status"] == "pending"
    assert body["task_id"] == task["id"]
    assert [m["id"] for m in body["media"]] == [media_id]
    assert body["media"][0]["url"].startswith(api.service.base_url + "/media/files/")
    assert body["links"] == ["https://example.org/post/1"]
    assert body["review"] is None
    assert body["risk"] is None  # volunteers never see the risk flags
    assert "lat" not in body["media"][0]  # nor where their photo was taken, as stored
    assert body["user"]["nickname"]
    enrollment = await Enrollment.get(task_id=int(task["id"]))
    assert enrollment.status == "submitted"


async def test_staff_see_risk_flags_and_volunteers_do_not(api, task, volunteer, staff) -> None:
    await enrolled(api, volunteer, task)
    reply = await hand_in(api, volunteer, task, [await photo(api, volunteer)])
    sid = reply.body["id"]

    mine = await api.call("GET", f"{SUBMISSIONS}/{sid}", token=volunteer)
    theirs = await api.call("GET", f"{SUBMISSIONS}/{sid}", token=staff)

    assert mine.status == theirs.status == 200
    assert mine.body["risk"] is None
    assert theirs.body["risk"] == {
        "duplicate_of": [],
        "outside_area": False,
        "outside_window": False,
        "content": "unchecked",  # the photo check is asked for, its verdict not in yet
        "link_used": [],
        "account_unverified": [],
    }


# --- the rules of API.md ------------------------------------------------------------------------


async def test_not_enrolled_is_409(api, task, volunteer) -> None:
    reply = await hand_in(api, volunteer, task, [await photo(api, volunteer)])
    assert reply.status == 409 and reply.error_code == "not_enrolled"
    assert await Submission.all().count() == 0


async def test_withdrawn_is_not_enrolled(api, task, volunteer) -> None:
    await enrolled(api, volunteer, task)
    assert (await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=volunteer)).status == 204
    reply = await hand_in(api, volunteer, task, [await photo(api, volunteer)])
    assert reply.status == 409 and reply.error_code == "not_enrolled"


async def test_too_few_and_too_many_photos(api, staff, tree, volunteer) -> None:
    task = await published_task(api, staff, tree.east.id, min_photos=2, max_photos=3)
    await enrolled(api, volunteer, task)
    ids = [await photo(api, volunteer, seed=i) for i in range(4)]

    few = await hand_in(api, volunteer, task, ids[:1])
    many = await hand_in(api, volunteer, task, ids)

    assert few.status == 400 and few.error_code == "too_few_photos"
    assert many.status == 400 and many.error_code == "too_many_photos"
    assert await Submission.all().count() == 0


async def test_another_users_media_is_403_media_not_yours(api, task, volunteer, tree) -> None:
    other, _ = await api.person("volunteer", tree.east_village.id)
    await enrolled(api, volunteer, task)
    stolen = await photo(api, other)

    reply = await hand_in(api, volunteer, task, [stolen])

    assert reply.status == 403 and reply.error_code == "media_not_yours"
    missing = await hand_in(api, volunteer, task, ["999999"])
    assert missing.status == 403 and missing.error_code == "media_not_yours"
    assert await Submission.all().count() == 0
    assert await Enrollment.filter(status="submitted").count() == 0


async def test_cancelled_task_is_409_task_closed(api, task, volunteer, staff) -> None:
    await enrolled(api, volunteer, task)
    media_id = await photo(api, volunteer)
    assert (await api.call("POST", f"{TASKS}/{task['id']}/cancel", token=staff)).status == 200

    reply = await hand_in(api, volunteer, task, [media_id])

    assert reply.status == 409 and reply.error_code == "task_closed"


async def ended_ago(api, staff: str, task: dict, hours: int) -> None:
    """Move the task into the past: it ended ``hours`` ago, after running five hours."""
    window = {"starts_at": iso(-timedelta(hours=hours + 5)), "ends_at": iso(-timedelta(hours=hours))}
    reply = await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json=window)
    assert reply.status == 200, reply.body


@pytest.mark.parametrize("hours, status", [(3, 201), (71, 201), (73, 409)])
async def test_evidence_is_taken_for_three_days_after_the_task_ended(api, task, volunteer, staff, hours, status):
    await enrolled(api, volunteer, task)
    media_id = await photo(api, volunteer)
    await ended_ago(api, staff, task, hours)

    reply = await hand_in(api, volunteer, task, [media_id])

    assert reply.status == status, reply.body
    if status == 409:
        assert reply.error_code == "task_closed"


async def test_checkin_required_is_409_until_checked_in(api, staff, tree, volunteer) -> None:
    task = await published_task(api, staff, tree.east.id, location=SPOT, checkin_required=True)
    await enrolled(api, volunteer, task)
    media_id = await photo(api, volunteer)

    before = await hand_in(api, volunteer, task, [media_id])
    checkin = await api.call(
        "POST", f"{TASKS}/{task['id']}/checkin", token=volunteer, json={"lat": SPOT["lat"], "lng": SPOT["lng"]}
    )
    after = await hand_in(api, volunteer, task, [media_id])

    assert before.status == 409 and before.error_code == "checkin_required"
    assert checkin.status == 200, checkin.body
    assert after.status == 201, after.body


async def test_a_second_submission_is_409_but_an_idempotent_retry_replays(api, task, volunteer) -> None:
    await enrolled(api, volunteer, task)
    media_id = await photo(api, volunteer)
    headers = {"Idempotency-Key": "submit-0000-0001"}

    first = await hand_in(api, volunteer, task, [media_id], headers=headers)
    retry = await hand_in(api, volunteer, task, [media_id], headers=headers)
    second = await hand_in(api, volunteer, task, [media_id])

    assert first.status == retry.status == 201
    assert retry.body["id"] == first.body["id"]
    assert second.status == 409 and second.error_code == "already_submitted"
    assert await Submission.all().count() == 1
    assert await SubmissionMedia.all().count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"media_ids": ["1"]}, "text"),
        ({"media_ids": "1", "text": ""}, "media_ids"),
        ({"media_ids": ["1", "1"], "text": ""}, "media_ids"),
        ({"media_ids": ["abc"], "text": ""}, "media_ids.0"),
        ({"media_ids": ["1"], "text": "x" * 2001}, "text"),
        ({"media_ids": ["1"], "text": "", "lat": 30.0}, "lng"),
        ({"media_ids": ["1"], "text": "", "lat": 91, "lng": 0}, "lat"),
        ({"media_ids": ["1"], "text": "", "links": ["javascript:alert(1)"]}, "links.0"),
        ({"media_ids": ["1"], "text": "", "links": ["https://a.cn"] * 11}, "links"),
        ({"media_ids": ["1"], "text": "", "points": 5}, "points"),
    ],
)
async def test_bad_bodies_are_400_with_the_field(api, task, volunteer, body, field) -> None:
    await enrolled(api, volunteer, task)
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=volunteer, json=body)
    assert reply.status == 400 and reply.error_code == "invalid_request", reply.body
    assert field in reply.body["error"]["details"]["fields"]


async def test_staff_cannot_submit(api, task, staff) -> None:
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=staff, json={"media_ids": [], "text": ""})
    assert reply.status == 403 and reply.error_code == "forbidden"


# --- risk flags ---------------------------------------------------------------------------------


async def test_the_same_photo_by_someone_else_is_flagged_as_duplicate(api, task, volunteer, tree, staff) -> None:
    copier, _ = await api.person("volunteer", tree.east_village.id)
    await enrolled(api, volunteer, task)
    await enrolled(api, copier, task)
    picture = scene((1024, 768))
    original = await hand_in(api, volunteer, task, [await photo(api, volunteer, encode(picture, "JPEG", quality=95))])
    # The copier saved it from a chat: smaller, recompressed, so not the same bytes.
    resaved = encode(picture.resize((700, 525)), "JPEG", quality=60)
    copy = await hand_in(api, copier, task, [await photo(api, copier, resaved)])
    unrelated_task = await published_task(api, staff, tree.east.id)
    await enrolled(api, copier, unrelated_task)
    fresh = await hand_in(api, copier, unrelated_task, [await photo(api, copier, seed=1)])

    copy_seen = await api.call("GET", f"{SUBMISSIONS}/{copy.body['id']}", token=staff)
    fresh_seen = await api.call("GET", f"{SUBMISSIONS}/{fresh.body['id']}", token=staff)

    assert copy_seen.body["risk"]["duplicate_of"] == [original.body["id"]]
    assert fresh_seen.body["risk"]["duplicate_of"] == []


async def test_photo_taken_elsewhere_and_at_another_time_is_flagged(api, staff, tree, volunteer) -> None:
    task = await published_task(api, staff, tree.east.id, location=SPOT)
    await enrolled(api, volunteer, task)
    # Taken in 2024 in Shanghai; the task is now, at SPOT (some 150 km away).
    media_id = await photo(api, volunteer, phone_photo(lat=31.2304, lng=121.4737))

    reply = await hand_in(api, volunteer, task, [media_id])
    seen = await api.call("GET", f"{SUBMISSIONS}/{reply.body['id']}", token=staff)

    assert seen.body["risk"]["outside_area"] is True
    assert seen.body["risk"]["outside_window"] is True
    assert seen.body["media"][0]["lat"] == pytest.approx(31.2304, abs=1e-4)


async def test_photo_taken_on_the_spot_is_not_flagged(api, staff, tree, volunteer) -> None:
    task = await published_task(api, staff, tree.east.id, location=SPOT)
    await enrolled(api, volunteer, task)
    now_shanghai = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y:%m:%d %H:%M:%S")
    media_id = await photo(api, volunteer, phone_photo(lat=SPOT["lat"] + 0.0003, lng=SPOT["lng"], taken=now_shanghai))

    reply = await hand_in(api, volunteer, task, [media_id])
    seen = await api.call("GET", f"{SUBMISSIONS}/{reply.body['id']}", token=staff)

    assert seen.body["risk"]["outside_area"] is False
    assert seen.body["risk"]["outside_window"] is False


# --- content checks -----------------------------------------------------------------------------


async def test_risky_text_flags_the_submission(api, task, volunteer, staff) -> None:
    await enrolled(api, volunteer, task)
    word = next(w for w, (suggest, _) in FLAGGED_WORDS.items() if suggest == "risky")
    reply = await hand_in(api, volunteer, task, [await photo(api, volunteer)], text=f"今天的活动{word}")
    assert reply.status == 201
    assert reply.body["status"] == "flagged"
    seen = await api.call("GET", f"{SUBMISSIONS}/{reply.body['id']}", token=staff)
    assert seen.body["risk"]["content"] == "risky"


async def test_wechat_down_still_takes_the_submission_unchecked(api, task, volunteer, staff, wechat) -> None:
    await enrolled(api, volunteer, task)
    media_id = await photo(api, volunteer)
    wechat.fail_next("/wxa/msg_sec_check", -1, times=5)
    reply = await hand_in(api, volunteer, task, [media_id])
    assert reply.status == 201 and reply.body["status"] == "pending"
    assert (await Submission.get(id=int(reply.body["id"]))).text_check == "unchecked"


async def test_photos_are_sent_for_checking_and_a_risky_verdict_flags(api, task, volunteer, staff, wechat) -> None:
    await enrolled(api, volunteer, task)
    media_id = await photo(api, volunteer)
    reply = await hand_in(api, volunteer, task, [media_id])
    await api.settle()

    assert len(wechat.media_checks) == 1
    check = wechat.media_checks[0]
    status, _, _ = await fetch_url(api, check["media_url"])  # WeChat can download it, no token
    assert status == 200
    assert (await Media.get(id=int(media_id))).check_result == "pending"

    assert await wechat.push_media_verdict(check["trace_id"], "risky", 20002) == (200, "success")

    seen = await api.call("GET", f"{SUBMISSIONS}/{reply.body['id']}", token=staff)
    assert seen.body["status"] == "flagged"
    assert seen.body["risk"]["content"] == "risky"
    assert seen.body["media"][0]["check"] == "risky"


async def test_a_passing_verdict_keeps_it_pending(api, task, volunteer, staff, wechat) -> None:
    await enrolled(api, volunteer, task)
    reply = await hand_in(api, volunteer, task, [await photo(api, volunteer)])
    await api.settle()
    assert await wechat.push_media_verdict(wechat.media_checks[0]["trace_id"], "pass") == (200, "success")
    seen = await api.call("GET", f"{SUBMISSIONS}/{reply.body['id']}", token=staff)
    assert seen.body["status"] == "pending"
    assert seen.body["risk"]["content"] == "pass"


async def fetch_url(api, url: str) -> tuple[int, bytes, dict]:
    async with api.session.get(url) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


# --- reading ------------------------------------------------------------------------------------


async def test_who_may_read_a_submission(api, task, volunteer, tree) -> None:
    await enrolled(api, volunteer, task)
    sid = (await hand_in(api, volunteer, task, [await photo(api, volunteer)])).body["id"]
    stranger, _ = await api.person("volunteer", tree.east_village.id)
    west_staff, _ = await api.person("staff", tree.west.id)
    county_staff, _ = await api.person("staff", tree.county.id)
    admin, _ = await api.person("admin")

    for token, expected in ((stranger, 404), (west_staff, 404), (county_staff, 200), (admin, 200), (volunteer, 200)):
        reply = await api.call("GET", f"{SUBMISSIONS}/{sid}", token=token)
        assert reply.status == expected, (expected, reply.body)
        if expected == 404:
            assert reply.error_code == "not_found"
    assert (await api.call("GET", f"{SUBMISSIONS}/2147483648", token=admin)).status == 404


async def test_lists_mine_and_staff_scope_with_filters_and_paging(api, staff, tree, volunteer) -> None:
    west_staff, _ = await api.person("staff", tree.west.id)
    tasks = [await published_task(api, staff, tree.east.id) for _ in range(3)]
    other, _ = await api.person("volunteer", tree.east_village.id)
    for t in tasks:
        await enrolled(api, volunteer, t)
        assert (await hand_in(api, volunteer, t, [await photo(api, volunteer)])).status == 201
    await enrolled(api, other, tasks[0])
    assert (await hand_in(api, other, tasks[0], [await photo(api, other)])).status == 201

    mine = await api.call("GET", f"{SUBMISSIONS}?mine=1", token=volunteer)
    implicit = await api.call("GET", SUBMISSIONS, token=volunteer)
    assert len(mine.body["items"]) == len(implicit.body["items"]) == 3
    ids = []
    cursor = None
    while True:
        page = await api.call("GET", f"{SUBMISSIONS}?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=staff)
        assert page.status == 200
        ids += [item["id"] for item in page.body["items"]]
        assert all(item["risk"] is not None for item in page.body["items"])
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert len(ids) == len(set(ids)) == 4
    assert ids == sorted(ids, key=int, reverse=True)
    by_task = await api.call("GET", f"{SUBMISSIONS}?task_id={tasks[0]['id']}", token=staff)
    assert len(by_task.body["items"]) == 2
    assert (await api.call("GET", SUBMISSIONS, token=west_staff)).body["items"] == []
    flagged = await api.call("GET", f"{SUBMISSIONS}?status=flagged", token=staff)
    assert flagged.body["items"] == []
    bad = await api.call("GET", f"{SUBMISSIONS}?status=lost", token=staff)
    assert bad.status == 400 and "status" in bad.body["error"]["details"]["fields"]


async def test_listing_makes_the_same_queries_for_2_or_6_submissions(api, staff, tree) -> None:
    people = [(await api.person("volunteer", tree.east_village.id))[0] for _ in range(6)]
    task = await published_task(api, staff, tree.east.id, max_photos=3)
    counts = []
    for batch in (people[:2], people[2:]):
        for token in batch:
            await enrolled(api, token, task)
            ids = [await photo(api, token, seed=i) for i in range(2)]
            assert (await hand_in(api, token, task, ids)).status == 201
        with counting_queries() as log:
            reply = await api.call("GET", f"{SUBMISSIONS}?limit=100", token=staff)
        assert reply.status == 200
        counts.append(log.selects)
    assert len(reply.body["items"]) == 6
    assert counts[0] == counts[1], counts


async def test_a_submission_that_committed_answers_its_retry_though_its_answer_was_lost(api, task, volunteer):
    """As for enrollment: the retry of a committed submission whose answer was lost gets that submission."""
    await enrolled(api, volunteer, task)
    media_id = await photo(api, volunteer)
    key = {"Idempotency-Key": "lost-submission-0c4f9a2b"}
    async with answers_cannot_be_recorded():
        first = await hand_in(api, volunteer, task, [media_id], headers=key)
    assert first.status >= 500
    await IdempotencyRecord.filter(key=key["Idempotency-Key"]).update(
        created_at=datetime.now(UTC) - timedelta(minutes=1)
    )

    retry = await hand_in(api, volunteer, task, [media_id], headers=key)

    assert retry.status == 201, retry.body
    (only,) = await Submission.filter(task_id=int(task["id"]))
    assert retry.body["id"] == str(only.id)
