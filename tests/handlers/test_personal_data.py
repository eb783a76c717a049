"""PIPL: a person can take their data out and have it erased."""

from pathlib import Path

import pytest

from models.users import AuthToken, User


async def bind_phone(api, token, phone):
    code = api.wechat.issue_phone_code(phone)
    assert (await api.call("POST", "/api/v1/auth/phone", token=token, json={"code": code})).status == 200


async def test_export_holds_identity_and_full_phone(api):
    token, user = await api.login("o-export")
    await bind_phone(api, token, "13612345678")
    reply = await api.call("GET", "/api/v1/me/export", token=token)
    assert reply.status == 200
    assert reply.body["user"]["id"] == user["id"]
    assert reply.body["user"]["openid"] == "o-export"
    assert reply.body["user"]["phone"] == "13612345678"
    assert len(reply.body["sessions"]) == 1
    assert reply.body["enrollments"] == []


async def test_export_never_contains_secrets(api):
    token, _ = await api.login()
    reply = await api.call("GET", "/api/v1/me/export", token=token)
    text = str(reply.body)
    assert "session_key" not in text and token not in text


async def test_delete_erases_and_signs_out_everywhere(api):
    first, user = await api.login("o-erase")
    second, _ = await api.login("o-erase")
    await bind_phone(api, first, "13512345678")
    await User.filter(id=int(user["id"])).update(points=42)
    assert (await api.call("DELETE", "/api/v1/me", token=first)).status == 204
    for token in (first, second):
        assert (await api.call("GET", "/api/v1/me", token=token)).status == 401
    row = await User.get(id=int(user["id"]))
    assert row.openid is None and row.phone_enc is None and row.phone_hash is None
    assert row.session_key_enc is None and row.deleted_at is not None
    assert row.nickname == "已注销用户" and not row.leaderboard_visible
    assert row.points == 42  # rankings and reports keep adding up
    assert await AuthToken.filter(user_id=row.id).count() == 0


async def test_signing_in_after_erasure_is_a_new_person(api):
    token, user = await api.login("o-comeback")
    await api.call("DELETE", "/api/v1/me", token=token)
    _, again = await api.login("o-comeback")
    assert again["id"] != user["id"]
    assert again["points"] == 0


async def test_export_and_delete_need_sign_in(api):
    assert (await api.call("GET", "/api/v1/me/export")).status == 401
    assert (await api.call("DELETE", "/api/v1/me")).status == 401


async def test_export_lists_photos_with_their_evidence_and_submissions(api):
    from tests.images import phone_photo

    token, _ = await api.login("o-export-photos")
    uploaded = await api.upload(token, phone_photo())
    assert uploaded.status == 201

    reply = await api.call("GET", "/api/v1/me/export", token=token)

    (photo,) = reply.body["photos"]
    assert photo["id"] == uploaded.body["id"]
    assert photo["lat"] == pytest.approx(31.2304, abs=1e-4)  # theirs: the export shows what we keep
    assert photo["taken_at"]
    assert reply.body["submissions"] == []


async def test_erasing_an_account_removes_its_photos_and_their_evidence(api, tree, staff):
    from models.media import Media
    from models.submissions import Submission
    from tests.factories import published_task
    from tests.handlers.test_review import hand_in

    task = await published_task(api, staff, tree.east.id)
    token, uid = await api.person("volunteer", tree.east_village.id)
    sid = await hand_in(api, token, task)
    media = await Media.get(owner_id=uid)
    root = Path(api.service.config.media_root)
    files = [root / key for key in (media.original_key, media.display_key, media.thumb_key)]
    assert all(f.exists() for f in files)

    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204

    assert not any(f.exists() for f in files)
    media = await Media.get(id=media.id)
    assert (media.lat, media.lng, media.taken_at) == (None, None, None)
    submission = await Submission.get(id=int(sid))
    assert (submission.text, submission.links) == ("", [])
    seen = await api.call("GET", f"/api/v1/submissions/{sid}", token=staff)  # still reviewable, anonymous
    assert seen.status == 200
    assert seen.body["user"]["nickname"] == "已注销用户"
    assert seen.body["media"][0]["url"] is None


async def test_erasure_gives_back_the_places_the_person_held(api, tree, staff):
    """An erased person's live enrollments held quota seats nobody could ever use again."""
    from models.campaigns import Enrollment, Task
    from tests.factories import TASKS, published_task

    task = await published_task(api, staff, tree.east.id, quota=1)
    leaver, leaver_id = await api.person("volunteer", tree.east_village.id)
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=leaver)).status == 201

    assert (await api.call("DELETE", "/api/v1/me", token=leaver)).status == 204

    newcomer, _ = await api.person("volunteer", tree.east_village.id)
    reply = await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=newcomer)
    assert reply.status == 201, reply.body
    assert (await Enrollment.get(task_id=int(task["id"]), user_id=leaver_id)).status == "withdrawn"
    assert (await Task.get(id=int(task["id"]))).enrolled_count == 1


async def test_erasure_forgets_the_answers_kept_for_retries(api, tree, staff):
    """A stored first answer holds what the person sent; it must not outlive the account."""
    from models.idempotency import IdempotencyRecord
    from tests.factories import TASKS, published_task

    task = await published_task(api, staff, tree.east.id)
    leaver, leaver_id = await api.person("volunteer", tree.east_village.id)
    key = {"Idempotency-Key": "erase-me-4b7c2d1e"}
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=leaver, headers=key)).status == 201
    assert await IdempotencyRecord.filter(user_id=leaver_id).exists()

    assert (await api.call("DELETE", "/api/v1/me", token=leaver)).status == 204

    assert not await IdempotencyRecord.filter(user_id=leaver_id).exists()


async def test_erasure_withdraws_evidence_awaiting_review(api, tree, staff):
    """Pending evidence of an erased person left the queue, and approving it answers 409."""
    from models.campaigns import Enrollment, Task
    from models.ledger import LedgerEntry
    from tests.factories import published_task
    from tests.handlers.test_review import hand_in, review_path

    task = await published_task(api, staff, tree.east.id)
    token, uid = await api.person("volunteer", tree.east_village.id)
    sid = await hand_in(api, token, task)

    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204

    queue = await api.call("GET", "/api/v1/review/queue", token=staff)
    assert sid not in {s["id"] for s in queue.body["items"]}
    reply = await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})
    assert (reply.status, reply.error_code) == (409, "submission_withdrawn")
    seen = await api.call("GET", f"/api/v1/submissions/{sid}", token=staff)
    assert (seen.status, seen.body["status"]) == (200, "withdrawn")
    assert await LedgerEntry.filter(user_id=uid).count() == 0
    assert (await Enrollment.get(task_id=int(task["id"]), user_id=uid)).status == "withdrawn"
    assert (await Task.get(id=int(task["id"]))).enrolled_count == 0


async def test_erasure_keeps_approved_work_where_it_counts(api, tree, staff):
    """Approved evidence and its enrollment stay: the points stay, and so does the place taken."""
    from models.campaigns import Enrollment, Task
    from models.submissions import Submission
    from tests.factories import published_task
    from tests.handlers.test_review import hand_in, review_path

    task = await published_task(api, staff, tree.east.id, points=7)
    token, uid = await api.person("volunteer", tree.east_village.id)
    sid = await hand_in(api, token, task)
    assert (await api.call("POST", review_path(sid), token=staff, json={"decision": "approve"})).status == 200

    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204

    assert (await Submission.get(id=int(sid))).status == "approved"
    assert (await Enrollment.get(task_id=int(task["id"]), user_id=uid)).status == "submitted"
    assert (await Task.get(id=int(task["id"]))).enrolled_count == 1
    assert (await User.get(id=uid)).points == 7


async def test_erasure_removes_name_and_org_from_certificates(api, tree, staff):
    from models.certificates import Certificate

    token, uid = await api.person("volunteer", tree.east_village.id)
    await api.call("PATCH", "/api/v1/me", token=token, json={"nickname": "小明同学", "real_name": "王小明"})
    await User.filter(id=uid).update(service_hours=12)
    issued = await api.call("GET", "/api/v1/me/certificate.png", token=token)
    assert issued.status == 200, issued.body
    serial = issued.headers["X-Certificate-Serial"]
    assert (await Certificate.get(serial=serial)).name == "王小明"

    assert (await api.call("DELETE", "/api/v1/me", token=token)).status == 204

    cert = await Certificate.get(serial=serial)
    assert (cert.name, cert.org) == ("已注销用户", "")
    assert (await User.get(id=uid)).real_name is None
    check = await api.call("GET", f"/api/v1/certificates/{serial}")
    assert (check.status, check.body["valid"], check.body["name"]) == (200, False, "—")


async def test_export_holds_certificates_ledger_and_review_reasons(api, tree, staff):
    from tests.factories import published_task
    from tests.handlers.test_review import hand_in, review_path

    token, _ = await api.person("volunteer", tree.east_village.id)
    approved = await hand_in(api, token, await published_task(api, staff, tree.east.id, points=5), seed=1)
    rejected = await hand_in(api, token, await published_task(api, staff, tree.east.id), seed=2)
    body = {"decision": "approve", "reason": "内容真实"}
    assert (await api.call("POST", review_path(approved), token=staff, json=body)).status == 200
    body = {"decision": "reject", "reason": "照片模糊"}
    assert (await api.call("POST", review_path(rejected), token=staff, json=body)).status == 200
    issued = await api.call("GET", "/api/v1/me/certificate.png", token=token)
    assert issued.status == 200, issued.body

    reply = await api.call("GET", "/api/v1/me/export", token=token)

    assert reply.status == 200, reply.body
    (cert,) = reply.body["certificates"]
    assert cert["serial"] == issued.headers["X-Certificate-Serial"]
    assert cert["service_hours"] == 2 and cert["org"] == "县东镇东村"
    (award,) = reply.body["ledger"]
    assert (award["kind"], award["points"], award["submission_id"]) == ("award", 5, approved)
    reviews = {s["id"]: s["review"] for s in reply.body["submissions"]}
    assert reviews[approved]["reason"] == "内容真实" and reviews[approved]["decision"] == "approve"
    assert reviews[rejected] == {**reviews[rejected], "decision": "reject", "reason": "照片模糊"}


async def test_export_is_stamped_in_local_time(api):
    from datetime import datetime, timedelta

    token, _ = await api.login()
    reply = await api.call("GET", "/api/v1/me/export", token=token)
    assert datetime.fromisoformat(reply.body["exported_at"]).utcoffset() == timedelta(hours=8)
