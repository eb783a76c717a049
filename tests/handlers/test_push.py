"""/wechat/push on the running service, driven by the fake WeChat's signed pushes."""

from __future__ import annotations

import time

import pytest

from models.media import Media
from server.wechat.push import NonceGuard, PushVerifier, sign
from tests.conftest import PUSH_AES_KEY, PUSH_TOKEN
from tests.images import encode, scene

PUSH = "/api/v1/wechat/push"


@pytest.fixture
async def checked_media(api, wechat) -> Media:
    """A photo whose content check was asked for (as after a submission)."""
    token, _ = await api.person("volunteer")
    reply = await api.upload(token, encode(scene(), "JPEG"))
    media = await Media.get(id=int(reply.body["id"]))
    await Media.filter(id=media.id).update(check_trace_id="trace-0001", check_result="pending")
    return media


@pytest.fixture
def plain_mode(api, wechat, monkeypatch) -> None:
    """The service as deployed without an EncodingAESKey (WeChat's plain mode)."""
    services = api.service.services
    plain = PushVerifier(PUSH_TOKEN, None, api.service.config.wechat_appid, NonceGuard(services.redis))
    monkeypatch.setattr(services, "push", plain)


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("safe", [True, False])
async def test_verdict_is_applied_in_every_mode(api, wechat, checked_media, fmt, safe, request) -> None:
    if not safe:
        request.getfixturevalue("plain_mode")
    wechat.configure_push(api.service.base_url + PUSH, PUSH_TOKEN, PUSH_AES_KEY if safe else None, fmt=fmt)
    assert await wechat.push_media_verdict("trace-0001", "review", 20006) == (200, "success")
    assert (await Media.get(id=checked_media.id)).check_result == "review"


async def test_url_check_answers_echostr(api, wechat) -> None:
    assert await wechat.push_url_check("echo-123") == (200, "echo-123")
    status, _ = await wechat.push_url_check("echo-123", signature="0" * 40)
    assert status == 403


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_plain_push_is_refused_when_an_aes_key_is_set(api, wechat, checked_media, fmt) -> None:
    """The plain signature does not cover the body: anyone holding one signed query could send any verdict."""
    wechat.configure_push(api.service.base_url + PUSH, PUSH_TOKEN, None, fmt=fmt)
    status, body = await wechat.push_media_verdict("trace-0001", "risky")
    assert status == 403 and '"forbidden"' in body
    assert (await Media.get(id=checked_media.id)).check_result == "pending"


async def test_url_check_uses_up_its_nonce(api, wechat) -> None:
    now = int(time.time())
    assert await wechat.push_url_check("echo-1", timestamp=now, nonce="n-echo") == (200, "echo-1")
    status, _ = await wechat.push_url_check("echo-1", timestamp=now, nonce="n-echo")
    assert status == 403


async def test_a_failed_push_uses_up_its_nonce(api, wechat, checked_media, plain_mode) -> None:
    now = str(int(time.time()))
    query = f"?signature={sign(PUSH_TOKEN, now, 'n-bad')}&timestamp={now}&nonce=n-bad"
    reply = await api.call("POST", PUSH + query, data=b"<xml><unclosed>")
    assert reply.status == 400 and reply.error_code == "invalid_request"
    wechat.configure_push(api.service.base_url + PUSH, PUSH_TOKEN, None, fmt="json")
    assert (await wechat.push_media_verdict("trace-0001", "risky", timestamp=int(now), nonce="n-bad"))[0] == 403
    assert (await Media.get(id=checked_media.id)).check_result == "pending"


async def test_forged_signature_is_403_and_changes_nothing(api, wechat, checked_media) -> None:
    status, body = await wechat.push_media_verdict("trace-0001", "risky", signature="f" * 40)
    assert status == 403 and '"forbidden"' in body
    assert (await Media.get(id=checked_media.id)).check_result == "pending"


async def test_stale_timestamp_is_403(api, wechat, checked_media) -> None:
    status, _ = await wechat.push_media_verdict("trace-0001", "risky", timestamp=int(time.time()) - 6 * 60)
    assert status == 403
    assert (await Media.get(id=checked_media.id)).check_result == "pending"


async def test_replayed_nonce_is_403(api, wechat, checked_media) -> None:
    now = int(time.time())
    assert await wechat.push_media_verdict("trace-0001", "pass", timestamp=now, nonce="n-1") == (200, "success")
    status, _ = await wechat.push_media_verdict("trace-0001", "risky", timestamp=now, nonce="n-1")
    assert status == 403
    assert (await Media.get(id=checked_media.id)).check_result == "pass"


async def test_unknown_trace_id_is_acknowledged(api, wechat) -> None:
    assert await wechat.push_media_verdict("never-asked", "risky") == (200, "success")


async def test_garbage_body_is_refused_cleanly(api) -> None:
    reply = await api.call("POST", PUSH + "?signature=x&timestamp=1&nonce=2", data=b"<xml><unclosed>")
    assert reply.status in (400, 403) and reply.error_code in ("invalid_request", "forbidden")
