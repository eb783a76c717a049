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
