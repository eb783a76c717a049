"""Enrolling, withdrawing and checking in, against the running service."""

import asyncio
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image

from models.campaigns import Enrollment, Task
from models.enrollment import distance_m, scene_for
from models.idempotency import KEEP_ANSWERS, KEEP_REFUSALS, IdempotencyRecord
from server.config import Rate
from server.kernel.clock import now_utc
from server.runtime.jobs import DAILY, PERIODIC, _seconds_until_minute, worker_settings
from server.web import idempotency
from server.web.idempotency import ABANDONED_AFTER
from server.wechat.client import WXACODE_PATH
from server.wechat.fake import wxacode_text
from tests.factories import SPOT, TASKS, iso, published_task
from tests.support import answers_cannot_be_recorded, configured, counting_queries

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def task(api, tree, staff):
    return await published_task(api, staff, tree.east.id, location=SPOT)


@pytest.fixture
async def volunteer(api, tree):
    return await api.person("volunteer", tree.east_village.id)


async def enroll(api, token, task_id, **headers):
    return await api.call("POST", f"{TASKS}/{task_id}/enroll", token=token, headers=headers or None)


async def checkin(api, token, task_id, body):
    return await api.call("POST", f"{TASKS}/{task_id}/checkin", token=token, json=body)


async def enrolled_count(api, token, task_id):
    reply = await api.call("GET", f"{TASKS}/{task_id}", token=token)
    assert reply.status == 200, reply.body
    return reply.body["enrolled_count"]


# -- enroll -------------------------------------------------------------------


async def test_enroll_answers_201_with_the_enrollment(api, task, volunteer):
    token, user_id = volunteer

    reply = await enroll(api, token, task["id"])

    assert reply.status == 201, reply.body
    assert set(reply.body) == {"id", "task_id", "user_id", "status", "enrolled_at", "checked_in_at", "checked_out_at"}
    assert reply.body["task_id"] == task["id"]
    assert reply.body["user_id"] == str(user_id)
    assert reply.body["status"] == "enrolled"
    assert reply.body["checked_in_at"] is None
    assert isinstance(reply.body["id"], str)


async def test_enrolling_twice_is_already_enrolled(api, task, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await enroll(api, token, task["id"])

    assert reply.status == 409
    assert reply.error_code == "already_enrolled"


async def test_same_idempotency_key_replays_the_first_answer(api, task, volunteer):
    token, user_id = volunteer
    key = "3f1c9a6e-4a5b-4c1d-9e2f-7a8b9c0d1e2f"
    first = await enroll(api, token, task["id"], **{"Idempotency-Key": key})

    again = await enroll(api, token, task["id"], **{"Idempotency-Key": key})

    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await Enrollment.filter(task_id=int(task["id"]), user_id=user_id).count() == 1
    assert await enrolled_count(api, token, task["id"]) == 1


async def test_racing_copies_of_one_request_enroll_once(api, task, volunteer):
    token, user_id = volunteer
    key = "race-3f1c9a6e-4a5b"

    replies = await asyncio.gather(*(enroll(api, token, task["id"], **{"Idempotency-Key": key}) for _ in range(5)))

    assert {r.status for r in replies} == {201}
    assert len({r.body["id"] for r in replies}) == 1
    assert await Enrollment.filter(task_id=int(task["id"]), user_id=user_id).count() == 1


async def test_a_claim_left_by_a_dead_request_is_taken_over_by_the_retry(api, task, volunteer):
    """A claim with no answer long after its request began (the worker or the database died) does not block."""
    token, user_id = volunteer
    key = "dead-claim-3f1c9a6e"
    route = f"POST {TASKS}/{task['id']}/enroll"
    claim = await IdempotencyRecord.create(user_id=user_id, key=key, route=route)
    await IdempotencyRecord.filter(id=claim.id).update(created_at=claim.created_at - ABANDONED_AFTER - timedelta(1))

    reply = await enroll(api, token, task["id"], **{"Idempotency-Key": key})

    assert reply.status == 201, reply.body
    assert "Idempotent-Replayed" not in reply.headers
    assert await Enrollment.filter(task_id=int(task["id"]), user_id=user_id).count() == 1
    assert (await IdempotencyRecord.get(user_id=user_id, key=key)).status == 201


async def test_work_that_committed_answers_its_retry_though_its_answer_was_lost(api, task, volunteer):
    """The contract: a replay with the same key answers as the first request would have. The enrollment
    commits, recording its answer fails: the retry must not run enroll again into already_enrolled."""
    token, user_id = volunteer
    key = "lost-answer-5b2e7d1c"
    async with answers_cannot_be_recorded():
        first = await enroll(api, token, task["id"], **{"Idempotency-Key": key})
    assert first.status >= 500  # the client saw no answer it may keep
    await IdempotencyRecord.filter(user_id=user_id, key=key).update(created_at=now_utc() - timedelta(minutes=1))

    retry = await enroll(api, token, task["id"], **{"Idempotency-Key": key})

    assert retry.status == 201, retry.body
    enrollment = await Enrollment.get(task_id=int(task["id"]), user_id=user_id)
    assert retry.body["id"] == str(enrollment.id)
    assert await enrolled_count(api, token, task["id"]) == 1
    assert (await IdempotencyRecord.get(user_id=user_id, key=key)).status == 201


async def test_a_recent_unanswered_claim_is_still_waited_for(api, task, volunteer, monkeypatch):
    token, user_id = volunteer
    key = "live-claim-3f1c9a6e"
    await IdempotencyRecord.create(user_id=user_id, key=key, route=f"POST {TASKS}/{task['id']}/enroll")
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST_S", 0.2)

    reply = await enroll(api, token, task["id"], **{"Idempotency-Key": key})

    assert reply.status == 409
    assert reply.error_code == "conflict"
    assert await Enrollment.filter(task_id=int(task["id"])).count() == 0


async def test_copies_waiting_on_a_key_in_flight_do_not_poll_the_database(api, task, volunteer, monkeypatch):
    """Copies of a request still running elsewhere wait with a backoff, not a query every 50 ms each."""
    token, user_id = volunteer
    key = "in-flight-3f1c9a6e"
    # The first request, still running in another worker: its claim, no answer yet.
    await IdempotencyRecord.create(user_id=user_id, key=key, route=f"POST {TASKS}/{task['id']}/enroll")
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST_S", 2.0)

    with counting_queries() as queries:
        replies = await asyncio.gather(*(enroll(api, token, task["id"], **{"Idempotency-Key": key}) for _ in range(5)))

    assert {r.error_code for r in replies} == {"conflict"}
    on_keys = [s for s in queries.statements if "idempotency_records" in s]
    # Polling every 50 ms for 2 s: about 40 reads each. A doubling backoff from 50 ms: about 7.
    assert len(on_keys) <= 5 * 10, len(on_keys)


async def test_copies_of_a_request_count_against_the_enrollment_rate_limit(api, task, volunteer):
    token, _ = volunteer
    key = "counted-3f1c9a6e"
    with configured(api.service.config, limit_enroll=Rate(3, 60)):
        replies = [await enroll(api, token, task["id"], **{"Idempotency-Key": key}) for _ in range(4)]

    assert [r.status for r in replies] == [201, 201, 201, 429]
    assert replies[3].error_code == "rate_limited" and int(replies[3].headers["Retry-After"]) >= 1


async def test_enrollment_is_rate_limited_per_person(api, task, volunteer, tree):
    token, _ = volunteer
    other, _ = await api.person("volunteer", tree.east_village.id)
    with configured(api.service.config, limit_enroll=Rate(2, 60)):
        mine = [await enroll(api, token, task["id"]) for _ in range(3)]
        theirs = await enroll(api, other, task["id"])

    assert [r.status for r in mine] == [201, 409, 429]
    assert theirs.status == 201


async def test_a_refusal_is_replayed_for_minutes_only(api, task, volunteer):
    """A 4xx changed nothing: its answer is kept briefly for racing copies, not for a week."""
    token, user_id = volunteer
    key = "refused-3f1c9a6e"
    assert (await enroll(api, token, task["id"])).status == 201
    refused = await enroll(api, token, task["id"], **{"Idempotency-Key": key})
    assert refused.error_code == "already_enrolled"
    assert (await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=token)).status == 204

    soon = await enroll(api, token, task["id"], **{"Idempotency-Key": key})
    aged = datetime.now(UTC) - KEEP_REFUSALS - timedelta(seconds=1)
    await IdempotencyRecord.filter(user_id=user_id, key=key).update(created_at=aged)
    later = await enroll(api, token, task["id"], **{"Idempotency-Key": key})

    assert soon.status == 409 and soon.headers.get("Idempotent-Replayed") == "true"
    assert later.status == 201, later.body
    assert "Idempotent-Replayed" not in later.headers
    assert (await IdempotencyRecord.get(user_id=user_id, key=key)).status == 201


async def test_housekeeping_forgets_refusals_after_minutes_and_answers_after_a_week(api, task, volunteer):
    token, user_id = volunteer
    kept, refused = "kept-3f1c9a6e", "refused-3f1c9a6e"
    assert (await enroll(api, token, task["id"], **{"Idempotency-Key": kept})).status == 201
    assert (await enroll(api, token, task["id"], **{"Idempotency-Key": refused})).status == 409
    aged = datetime.now(UTC) - KEEP_REFUSALS - timedelta(seconds=1)
    await IdempotencyRecord.filter(user_id=user_id).update(created_at=aged)

    result = await api.service.services.jobs.run_here("housekeeping")

    assert result == "purged 1 idempotency answer(s)"
    assert await IdempotencyRecord.filter(user_id=user_id).values_list("key", flat=True) == [kept]


async def test_malformed_idempotency_key_is_invalid(api, task, volunteer):
    token, _ = volunteer

    reply = await enroll(api, token, task["id"], **{"Idempotency-Key": "bad key!"})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "Idempotency-Key" in reply.body["error"]["details"]["fields"]
    assert await Enrollment.filter(task_id=int(task["id"])).count() == 0


async def test_idempotency_key_reused_on_another_route_is_invalid(api, tree, staff, task, volunteer):
    token, _ = volunteer
    other = await published_task(api, staff, tree.east.id)
    key = "key-used-once-0001"
    assert (await enroll(api, token, task["id"], **{"Idempotency-Key": key})).status == 201

    reply = await enroll(api, token, other["id"], **{"Idempotency-Key": key})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert "Idempotency-Key" in reply.body["error"]["details"]["fields"]
    assert await Enrollment.filter(task_id=int(other["id"])).count() == 0


async def test_full_task_is_task_full(api, tree, staff):
    task = await published_task(api, staff, tree.east.id, quota=1)
    first, _ = await api.person("volunteer", tree.east_village.id)
    second, _ = await api.person("volunteer", tree.east_village.id)
    assert (await enroll(api, first, task["id"])).status == 201

    reply = await enroll(api, second, task["id"])

    assert reply.status == 409
    assert reply.error_code == "task_full"


async def test_person_outside_the_audience_is_not_in_audience(api, tree, staff):
    task = await published_task(api, staff, tree.east.id, audience={"org_ids": [str(tree.east.id)]})
    outsider, _ = await api.person("volunteer", tree.west_village.id)

    reply = await enroll(api, outsider, task["id"])

    assert reply.status == 403
    assert reply.error_code == "not_in_audience"


async def test_staff_cannot_enroll(api, task, staff):
    reply = await enroll(api, staff, task["id"])

    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_withdraw_gives_the_place_to_someone_else(api, tree, staff):
    task = await published_task(api, staff, tree.east.id, quota=1)
    first, _ = await api.person("volunteer", tree.east_village.id)
    second, _ = await api.person("volunteer", tree.east_village.id)
    assert (await enroll(api, first, task["id"])).status == 201
    assert (await enroll(api, second, task["id"])).error_code == "task_full"

    reply = await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=first)

    assert reply.status == 204
    assert await enrolled_count(api, first, task["id"]) == 0
    assert (await enroll(api, second, task["id"])).status == 201


async def test_withdraw_without_enrollment_is_not_enrolled(api, task, volunteer):
    token, _ = volunteer

    reply = await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=token)

    assert reply.status == 409
    assert reply.error_code == "not_enrolled"


async def test_enrolling_again_after_withdrawal_works(api, task, volunteer):
    token, user_id = volunteer
    await enroll(api, token, task["id"])
    await api.call("DELETE", f"{TASKS}/{task['id']}/enroll", token=token)

    reply = await enroll(api, token, task["id"])

    assert reply.status == 201, reply.body
    assert reply.body["status"] == "enrolled"
    assert await enrolled_count(api, token, task["id"]) == 1
    assert await Enrollment.filter(task_id=int(task["id"]), user_id=user_id).count() == 1


async def test_fifty_concurrent_enrollments_never_exceed_the_quota(api, tree, staff):
    task = await published_task(api, staff, tree.east.id, quota=10)
    people = [await api.person("volunteer", tree.east_village.id) for _ in range(50)]

    replies = await asyncio.gather(*(enroll(api, token, task["id"]) for token, _ in people))

    statuses = sorted((r.status, r.error_code) for r in replies)
    assert statuses.count((201, None)) == 10
    assert statuses.count((409, "task_full")) == 40
    assert await Enrollment.filter(task_id=int(task["id"]), status="enrolled").count() == 10
    assert (await Task.get(id=int(task["id"]))).enrolled_count == 10


# -- check-in -----------------------------------------------------------------


async def test_gps_inside_the_radius_checks_in(api, task, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await checkin(api, token, task["id"], {"lat": 30.0003, "lng": 120.0})

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "checked_in"
    assert reply.body["checked_in_at"] is not None


async def test_gps_outside_the_radius_is_outside_area_with_distance(api, task, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await checkin(api, token, task["id"], {"lat": 30.01, "lng": 120.0})

    assert reply.status == 400
    assert reply.error_code == "outside_area"
    distance = reply.body["error"]["details"]["distance_m"]
    assert isinstance(distance, int)
    assert abs(distance - 1112) <= 5


async def test_gps_accuracy_lets_a_point_just_outside_pass(api, task, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])
    point = {"lat": 30.0012, "lng": 120.0}
    assert 110 < distance_m(30.0, 120.0, point["lat"], point["lng"]) < 150  # outside 100 m

    reply = await checkin(api, token, task["id"], {**point, "accuracy": 60})

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "checked_in"


async def test_checkin_without_enrollment_is_not_enrolled(api, task, volunteer):
    token, _ = volunteer

    reply = await checkin(api, token, task["id"], {"lat": 30.0, "lng": 120.0})

    assert reply.status == 409
    assert reply.error_code == "not_enrolled"


async def test_checkin_long_before_the_start_is_window_closed(api, tree, staff, volunteer):
    task = await published_task(
        api, staff, tree.east.id, location=SPOT, starts_at=iso(timedelta(hours=2)), ends_at=iso(timedelta(hours=5))
    )
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await checkin(api, token, task["id"], {"lat": 30.0, "lng": 120.0})

    assert reply.status == 409
    assert reply.error_code == "checkin_window_closed"


def local_minute(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


async def test_checkin_before_it_opens_says_when_it_opens(api, tree, staff, volunteer):
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    ends = starts + timedelta(hours=3)
    task = await published_task(
        api, staff, tree.east.id, location=SPOT, starts_at=starts.isoformat(), ends_at=ends.isoformat()
    )
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await checkin(api, token, task["id"], {"lat": 30.0, "lng": 120.0})

    assert (reply.status, reply.error_code) == (409, "checkin_window_closed")
    opens = starts - timedelta(minutes=30)  # check-in opens half an hour early
    assert local_minute(opens) in reply.body["error"]["message"]
    assert "开始" in reply.body["error"]["message"]
    details = reply.body["error"]["details"]
    assert datetime.fromisoformat(details["opens_at"]) == opens
    assert datetime.fromisoformat(details["closes_at"]) == ends


async def test_checkin_after_the_end_says_when_it_closed(api, task, staff, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])
    ends = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    window = {"starts_at": (ends - timedelta(hours=3)).isoformat(), "ends_at": ends.isoformat()}
    assert (await api.call("PATCH", f"{TASKS}/{task['id']}", token=staff, json=window)).status == 200

    reply = await checkin(api, token, task["id"], {"lat": 30.0, "lng": 120.0})

    assert (reply.status, reply.error_code) == (409, "checkin_window_closed")
    assert local_minute(ends) in reply.body["error"]["message"]
    assert "结束" in reply.body["error"]["message"]
    assert datetime.fromisoformat(reply.body["error"]["details"]["closes_at"]) == ends


async def test_scene_of_the_task_checks_in(api, task, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])
    scene = scene_for(int(task["id"]), api.service.services.scene_key)

    reply = await checkin(api, token, task["id"], {"scene": scene})

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "checked_in"


async def test_scene_with_a_forged_signature_is_bad_scene(api, task, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await checkin(api, token, task["id"], {"scene": f"{task['id']}.AAAAAAAAAAAAAAAA"})

    assert reply.status == 400
    assert reply.error_code == "bad_scene"


async def test_literal_forged_scene_is_bad_scene(api, task, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await checkin(api, token, task["id"], {"scene": "123.AAAAAAAAAAAAAAAA"})

    assert reply.status == 400
    assert reply.error_code == "bad_scene"


async def test_another_tasks_scene_is_bad_scene(api, tree, staff, task, volunteer):
    other = await published_task(api, staff, tree.east.id)
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await checkin(
        api, token, task["id"], {"scene": scene_for(int(other["id"]), api.service.services.scene_key)}
    )

    assert reply.status == 400
    assert reply.error_code == "bad_scene"


async def test_checkin_without_position_or_scene_is_invalid(api, task, volunteer):
    token, _ = volunteer
    await enroll(api, token, task["id"])

    reply = await checkin(api, token, task["id"], {"lat": 30.0})

    assert reply.status == 400
    assert reply.error_code == "invalid_request"
    assert reply.body["error"]["details"]["fields"]


# -- staff views --------------------------------------------------------------


async def test_qrcode_is_a_png_fetched_from_wechat_once(api, task, staff):
    # The cache outlives a test when there is no Redis; start from an empty one.
    api.service.services.qrcodes._local.clear()

    first = await api.call("GET", f"{TASKS}/{task['id']}/qrcode", token=staff)
    second = await api.call("GET", f"{TASKS}/{task['id']}/qrcode", token=staff)

    assert first.status == second.status == 200
    assert first.headers["Content-Type"].startswith("image/png")
    assert isinstance(first.body, str)  # not JSON
    assert api.wechat.count(WXACODE_PATH) == 1


async def test_qrcode_carries_the_tasks_scene(api, task, staff):
    api.service.services.qrcodes._local.clear()

    async with api.session.get(
        f"{api.service.base_url}{TASKS}/{task['id']}/qrcode", headers={"Authorization": f"Bearer {staff}"}
    ) as resp:
        image = await resp.read()

    assert image.startswith(PNG_MAGIC)
    [call] = [c for c in api.wechat.calls if c.path == WXACODE_PATH]
    assert len(call.body["scene"]) <= 32
    assert call.body["scene"] == scene_for(int(task["id"]), api.service.services.scene_key)


async def test_the_demo_check_in_code_scans_to_its_task(api, task, staff):
    """The fake's codes are real QR codes (the demo's staff can print and scan one): it reads back as
    the check-in page with the task's scene."""
    api.service.services.qrcodes._local.clear()
    async with api.session.get(
        f"{api.service.base_url}{TASKS}/{task['id']}/qrcode", headers={"Authorization": f"Bearer {staff}"}
    ) as resp:
        image = Image.open(io.BytesIO(await resp.read()))

    [found] = zxingcpp.read_barcodes(image)

    scene = scene_for(int(task["id"]), api.service.services.scene_key)
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    assert found.text == wxacode_text(api.service.config.wechat_appid, "pages/checkin/index", scene)
    assert image.width >= 280


async def test_volunteer_cannot_fetch_the_qrcode(api, task, volunteer):
    token, _ = volunteer

    reply = await api.call("GET", f"{TASKS}/{task['id']}/qrcode", token=token)

    assert reply.status == 403
    assert reply.error_code == "forbidden"


async def test_staff_list_enrollees_with_checkin_state(api, tree, task, staff):
    here, here_id = await api.person("volunteer", tree.east_village.id)
    away, away_id = await api.person("volunteer", tree.east_village.id)
    await enroll(api, here, task["id"])
    await enroll(api, away, task["id"])
    await checkin(api, here, task["id"], {"lat": 30.0, "lng": 120.0})

    reply = await api.call("GET", f"{TASKS}/{task['id']}/enrollments", token=staff)

    assert reply.status == 200, reply.body
    rows = {row["user"]["id"]: row for row in reply.body["items"]}
    assert set(rows) == {str(here_id), str(away_id)}
    assert rows[str(here_id)]["enrollment"]["status"] == "checked_in"
    assert rows[str(here_id)]["checkin_method"] == "gps"
    assert rows[str(away_id)]["enrollment"]["status"] == "enrolled"
    assert rows[str(away_id)]["enrollment"]["checked_in_at"] is None
    assert reply.body["next_cursor"] is None


async def test_staff_of_another_township_cannot_list_enrollees(api, tree, task):
    other_staff, _ = await api.person("staff", tree.west.id)

    reply = await api.call("GET", f"{TASKS}/{task['id']}/enrollments", token=other_staff)

    # The published task is visible to them, its roster is not theirs to see.
    assert reply.status == 403
    assert reply.error_code == "forbidden"
    assert "items" not in reply.body


async def test_daily_housekeeping_forgets_answers_older_than_a_week(api, task, volunteer):
    token, user_id = volunteer
    old, recent = "kept-long-ago-0001", "kept-recently-0002"
    assert (await enroll(api, token, task["id"], **{"Idempotency-Key": old})).status == 201
    assert (await enroll(api, token, task["id"], **{"Idempotency-Key": recent})).status == 409
    week_ago = datetime.now(UTC) - KEEP_ANSWERS - timedelta(minutes=1)
    await IdempotencyRecord.filter(user_id=user_id, key=old).update(created_at=week_ago)

    result = await api.service.services.jobs.run_here("housekeeping")

    assert result == "purged 1 idempotency answer(s)"
    assert await IdempotencyRecord.filter(user_id=user_id).values_list("key", flat=True) == [recent]


def test_housekeeping_runs_daily_in_the_worker_and_without_one() -> None:
    settings = worker_settings("redis://127.0.0.1:6379/0", startup=None, shutdown=None)  # type: ignore[arg-type]
    assert {job.name for job in settings.cron_jobs} == {f"cron:{name}" for name in (*DAILY, *PERIODIC)}
    assert "housekeeping" in DAILY and "remind_tomorrow" in DAILY


def test_the_check_out_reminder_runs_every_few_minutes_in_the_worker_and_without_one() -> None:
    settings = worker_settings("redis://127.0.0.1:6379/0", startup=None, shutdown=None)  # type: ignore[arg-type]
    (job,) = [job for job in settings.cron_jobs if job.name == "cron:remind_checkout"]
    assert job.minute == set(range(0, 60, PERIODIC["remind_checkout"]))
    at = datetime(2026, 12, 6, 9, 7, 30, tzinfo=UTC)
    assert _seconds_until_minute(5, at) == 150  # to 09:10
    assert _seconds_until_minute(5, at.replace(minute=55, second=0)) == 300  # to 10:00
