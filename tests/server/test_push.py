"""WeChat message push: signature, time window, nonce replay, safe-mode crypto, XML and JSON.

Requests are built with wechatpy's own signer and cipher, so the verifier is
checked against an independent implementation; the last tests receive what
the fake WeChat pushes over real HTTP.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
import xmltodict
from aiohttp import web
from redis.asyncio import Redis
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner, check_signature

from server.kernel.errors import ApiError, InvalidRequest
from server.wechat.fake import FakeWeChat
from server.wechat.push import NONCE_PREFIX, NonceGuard, PushRejected, PushVerifier, media_verdict, sign

TOKEN = "push-token-for-tests"
APPID = "wxdemoappid"
NOW = 1_700_000_000.0
TRACE_ID = "60f96f1d-3845297a-1976a3ae"


def new_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


AES_KEY = new_aes_key()


def wx_sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def media_event(suggest: str = "pass", trace_id: str = TRACE_ID) -> dict[str, Any]:
    return {
        "ToUserName": "gh_38cc49f9733b",
        "FromUserName": "oG0NJ5Oi_3Dd1HlZJ14xfnA0sJ6s",
        "CreateTime": int(NOW),
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": APPID,
        "trace_id": trace_id,
        "version": 2,
        "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": 100, "prob": 90}],
        "errcode": 0,
        "errmsg": "ok",
        "result": {"suggest": suggest, "label": 100},
    }


def as_xml(message: dict[str, Any]) -> bytes:
    return xmltodict.unparse({"xml": message}, full_document=False).encode()


def as_json(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def plain_args(timestamp: float = NOW, nonce: str | None = None, token: str = TOKEN) -> dict[str, str]:
    stamp, nonce = str(int(timestamp)), nonce or secrets.token_hex(8)
    return {"signature": wx_sign(token, stamp, nonce), "timestamp": stamp, "nonce": nonce}


def safe_json(message: dict[str, Any], timestamp: float = NOW, nonce: str | None = None) -> tuple[dict, bytes]:
    """A safe-mode JSON push: the event encrypted into ``Encrypt``, signed as msg_signature."""
    args = plain_args(timestamp, nonce)
    key = base64.b64decode(AES_KEY + "=")
    encrypt = PrpCrypto(key).encrypt(json.dumps(message), APPID).decode()
    args.update(encrypt_type="aes", msg_signature=wx_sign(TOKEN, args["timestamp"], args["nonce"], encrypt))
    return args, as_json({"ToUserName": "gh_38cc49f9733b", "Encrypt": encrypt})


def safe_xml(message: dict[str, Any], timestamp: float = NOW, nonce: str | None = None) -> tuple[dict, bytes]:
    """A safe-mode XML push as wechatpy's own encrypt_message renders it."""
    args = plain_args(timestamp, nonce)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    envelope = crypto.encrypt_message(as_xml(message).decode(), args["nonce"], args["timestamp"])
    parsed = xmltodict.parse(envelope)["xml"]
    args.update(encrypt_type="aes", msg_signature=parsed["MsgSignature"])
    return args, envelope.encode()


def verifier(aes_key: str | None = AES_KEY, nonces: NonceGuard | None = None) -> PushVerifier:
    return PushVerifier(TOKEN, aes_key, APPID, nonces or NonceGuard())


def plain_verifier(nonces: NonceGuard | None = None) -> PushVerifier:
    """Plain mode: no EncodingAESKey configured, so plain bodies are what WeChat sends."""
    return verifier(aes_key=None, nonces=nonces)


# -- signing and URL check --------------------------------------------------------


def test_sign_matches_wechatpy() -> None:
    signature = sign(TOKEN, "1700000000", "abc")
    check_signature(TOKEN, signature, "1700000000", "abc")  # raises on mismatch
    assert sign(TOKEN, "1", "n", "Encrypt==") == wx_sign(TOKEN, "1", "n", "Encrypt==")
    assert sign("中文令牌", "1", "é") == wx_sign("中文令牌", "1", "é")


async def test_url_check_answers_echostr() -> None:
    assert await verifier().url_check({**plain_args(), "echostr": "hello-123"}, now=NOW) == "hello-123"


@pytest.mark.parametrize(
    "args",
    [
        {**plain_args(), "signature": "0" * 40},
        plain_args(token="someone-elses-token"),
        plain_args(timestamp=NOW - 360),
        {"timestamp": str(int(NOW)), "nonce": "n"},
    ],
    ids=["forged", "wrong-token", "stale", "unsigned"],
)
async def test_url_check_rejects(args: dict[str, str]) -> None:
    with pytest.raises(PushRejected) as caught:
        await verifier().url_check({**args, "echostr": "hello"}, now=NOW)
    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    assert caught.value.message == "推送签名无效" or "时间戳" in caught.value.message


# -- plain mode ---------------------------------------------------------------------


async def test_plain_json_event() -> None:
    event = await plain_verifier().event(plain_args(), as_json(media_event("risky")), "application/json", now=NOW)
    assert event == media_event("risky")
    assert media_verdict(event) == (TRACE_ID, "risky")


async def test_plain_xml_event_is_a_nested_dict_without_the_root() -> None:
    event = await plain_verifier().event(plain_args(), as_xml(media_event("review")), "text/xml", now=NOW)
    assert event["Event"] == "wxa_media_check"
    assert event["result"] == {"suggest": "review", "label": "100"}
    assert event["detail"]["strategy"] == "content_model"
    assert "xml" not in event
    assert media_verdict(event) == (TRACE_ID, "review")


async def test_body_format_is_sniffed_not_taken_from_the_header() -> None:
    event = await plain_verifier().event(plain_args(), b"  \n" + as_xml(media_event()), "application/json", now=NOW)
    assert media_verdict(event) == (TRACE_ID, "pass")


# -- safe mode ----------------------------------------------------------------------


@pytest.mark.parametrize("build", [safe_json, safe_xml], ids=["json", "xml"])
async def test_safe_mode_event_is_decrypted(build: Any) -> None:
    args, body = build(media_event("risky"))
    event = await verifier().event(args, body, "text/xml", now=NOW)
    assert event["trace_id"] == TRACE_ID
    assert media_verdict(event) == (TRACE_ID, "risky")


async def test_safe_mode_without_aes_key_is_rejected() -> None:
    args, body = safe_json(media_event())
    with pytest.raises(PushRejected):
        await verifier(aes_key=None).event(args, body, "application/json", now=NOW)


async def test_safe_mode_encrypt_swapped_under_a_valid_signature_is_rejected() -> None:
    args, _ = safe_json(media_event("pass"))
    _, other_body = safe_json(media_event("risky"))
    with pytest.raises(PushRejected):
        await verifier().event(args, other_body, "application/json", now=NOW)


@pytest.mark.parametrize(
    ("encrypt", "key", "appid"),
    [
        ("not base64 at all!", AES_KEY, APPID),
        ("QUJD", AES_KEY, APPID),  # valid base64, not a whole AES block
        (None, new_aes_key(), APPID),
        (None, AES_KEY, "wxsomeoneelse"),
    ],
    ids=["not-base64", "short", "wrong-key", "wrong-appid"],
)
async def test_undecryptable_encrypt_is_rejected(encrypt: str | None, key: str, appid: str) -> None:
    if encrypt is None:
        encrypt = PrpCrypto(base64.b64decode(key + "=")).encrypt(json.dumps(media_event()), appid).decode()
    args = plain_args()
    args.update(encrypt_type="aes", msg_signature=wx_sign(TOKEN, args["timestamp"], args["nonce"], encrypt))
    with pytest.raises(PushRejected):
        await verifier().event(args, as_json({"Encrypt": encrypt}), "application/json", now=NOW)


def test_malformed_aes_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        verifier(aes_key="too-short")


# -- authentication failures ---------------------------------------------------------


async def test_forged_signature_is_rejected_without_burning_the_nonce() -> None:
    v = plain_verifier()
    good = plain_args(nonce="n-forged")
    with pytest.raises(PushRejected):
        await v.event(
            {**good, "signature": wx_sign("guessed-token", good["timestamp"], "n-forged")}, b"{}", "", now=NOW
        )
    assert (await v.event(good, as_json(media_event()), "", now=NOW))["trace_id"] == TRACE_ID


@pytest.mark.parametrize("offset", [-360, 360], ids=["six-minutes-old", "six-minutes-ahead"])
@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_timestamp_outside_five_minutes_is_rejected(offset: int, safe: bool) -> None:
    if safe:
        args, body = safe_json(media_event(), timestamp=NOW + offset)
    else:
        args, body = plain_args(timestamp=NOW + offset), as_json(media_event())
    with pytest.raises(PushRejected, match="时间戳"):
        await verifier(AES_KEY if safe else None).event(args, body, "application/json", now=NOW)


async def test_timestamp_inside_the_window_is_accepted() -> None:
    event = await plain_verifier().event(plain_args(timestamp=NOW - 290), as_json(media_event()), "", now=NOW)
    assert event["Event"] == "wxa_media_check"


@pytest.mark.parametrize("build", [safe_json, safe_xml], ids=["safe-json", "safe-xml"])
async def test_replayed_nonce_is_rejected(build: Any) -> None:
    v = verifier()
    args, body = build(media_event())
    await v.event(args, body, "", now=NOW)
    with pytest.raises(PushRejected, match="nonce"):
        await v.event(args, body, "", now=NOW + 1)


async def test_plain_replay_with_another_body_is_rejected() -> None:
    v = plain_verifier()
    args = plain_args()
    await v.event(args, as_json(media_event("risky")), "", now=NOW)
    with pytest.raises(PushRejected):
        await v.event(args, as_json(media_event("pass")), "", now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"success",
        b"{not json",
        b"[1, 2, 3]",
        b"{}",
        b"<xml><unclosed></xml>",
        b"<xml>just text</xml>",
        b"<root><Event>x</Event></root>",
        b"<xml><a>1</a></xml><xml/>",
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><xml><e>&b;</e></xml>',
        b"\xff\xfe<\x00x\x00",
        b"{" * 5000,
    ],
    ids=lambda body: body[:24].decode(errors="replace") or "empty",
)
async def test_garbage_body_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        await plain_verifier().event(plain_args(), body, "application/json", now=NOW)


@pytest.mark.parametrize(
    "body",
    [b"garbage", b"{}", b'{"Encrypt": 12}', b"<xml><Encrypt></Encrypt></xml>", b"<xml><Encrypt>"],
    ids=["garbage", "no-encrypt", "number", "empty-xml", "broken-xml"],
)
async def test_garbage_safe_mode_body_never_escapes_the_error_hierarchy(body: bytes) -> None:
    args = {**plain_args(), "encrypt_type": "aes", "msg_signature": "0" * 40}
    with pytest.raises(ApiError) as caught:
        await verifier().event(args, body, "text/xml", now=NOW)
    assert caught.value.status in (400, 403)


async def test_plain_body_is_refused_when_an_aes_key_is_set() -> None:
    """The plain signature covers no body: with safe mode configured, only Encrypt is trusted."""
    v = verifier()
    for body in (as_json(media_event("risky")), as_xml(media_event("risky"))):
        with pytest.raises(PushRejected):
            await v.event(plain_args(), body, "application/json", now=NOW)
    args, _ = safe_json(media_event("pass"))
    with pytest.raises(PushRejected):
        await v.event({**args, "encrypt_type": "raw"}, as_json(media_event("risky")), "", now=NOW)


async def test_url_check_uses_up_its_nonce() -> None:
    v = verifier()
    args = {**plain_args(nonce="n-echo"), "echostr": "hello"}
    assert await v.url_check(args, now=NOW) == "hello"
    with pytest.raises(PushRejected, match="nonce"):
        await v.url_check(args, now=NOW + 1)


async def test_a_failed_plain_push_uses_up_its_nonce() -> None:
    v = plain_verifier()
    args = plain_args(nonce="n-garbage")
    with pytest.raises(InvalidRequest):
        await v.event(args, b"{not json", "application/json", now=NOW)
    with pytest.raises(PushRejected, match="nonce"):
        await v.event(args, as_json(media_event("risky")), "application/json", now=NOW)


async def test_an_undecryptable_safe_push_uses_up_its_nonce() -> None:
    v = verifier()
    args, body = safe_json(media_event(), nonce="n-undecryptable")
    encrypt = PrpCrypto(base64.b64decode(new_aes_key() + "=")).encrypt(json.dumps(media_event()), APPID).decode()
    forged = {**args, "msg_signature": wx_sign(TOKEN, args["timestamp"], args["nonce"], encrypt)}
    with pytest.raises(PushRejected):
        await v.event(forged, as_json({"Encrypt": encrypt}), "application/json", now=NOW)
    with pytest.raises(PushRejected, match="nonce"):
        await v.event(args, body, "application/json", now=NOW)


def test_media_verdict_ignores_other_events_and_failed_checks() -> None:
    assert media_verdict({"Event": "subscribe_msg_popup_event"}) is None
    assert media_verdict({**media_event(), "errcode": 1, "result": None}) is None
    assert media_verdict({**media_event(), "result": {"suggest": "maybe"}}) is None
    assert media_verdict({**media_event(), "trace_id": ""}) is None
    assert media_verdict(media_event("pass")) == (TRACE_ID, "pass")


# -- the nonce guard ----------------------------------------------------------------


async def test_memory_nonce_guard_remembers_pairs_until_they_expire() -> None:
    guard = NonceGuard()
    assert await guard.first_use("n1", "100")
    assert not await guard.first_use("n1", "100")
    assert await guard.first_use("n1", "101")  # the pair is what counts
    assert await guard.first_use("brief", "100", ttl_s=0)
    assert await guard.first_use("brief", "100", ttl_s=0)


async def test_memory_nonce_guard_is_bounded() -> None:
    guard = NonceGuard(max_entries=2)
    for nonce in ("a", "b", "c"):
        assert await guard.first_use(nonce, "1")
    assert await guard.first_use("a", "1")  # the oldest made room
    assert not await guard.first_use("c", "1")


async def test_redis_nonce_guard_sets_an_expiring_key(redis: Redis) -> None:
    guard = NonceGuard(redis)
    assert await guard.first_use("n1", "100", ttl_s=600)
    assert not await guard.first_use("n1", "100", ttl_s=600)
    assert await guard.first_use("n1", "101", ttl_s=600)
    keys = [key async for key in redis.scan_iter(match=NONCE_PREFIX + "*")]
    assert len(keys) == 2
    assert 590 <= await redis.ttl(keys[0]) <= 600


async def test_redis_nonce_guard_rejects_a_replay_seen_by_another_worker(redis: Redis) -> None:
    args, body = safe_xml(media_event())
    await verifier(nonces=NonceGuard(redis)).event(args, body, "text/xml", now=NOW)
    with pytest.raises(PushRejected):
        await verifier(nonces=NonceGuard(redis)).event(args, body, "text/xml", now=NOW)


# -- the fake WeChat pushing over real HTTP --------------------------------------------


@dataclass
class Receiver:
    """A tiny push endpoint in front of a PushVerifier, answering like the API does."""

    url: str = ""
    verifier: PushVerifier | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        assert self.verifier is not None
        try:
            if request.method == "GET":
                return web.Response(text=await self.verifier.url_check(request.query))
            event = await self.verifier.event(request.query, await request.read(), request.content_type)
        except ApiError as exc:
            return web.Response(status=exc.status, text=exc.code)
        self.events.append(event)
        return web.Response(text="success")


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/api/v1/wechat/push", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/api/v1/wechat/push"
    yield receiver
    await runner.cleanup()


MODES = [("json", None), ("xml", None), ("json", AES_KEY), ("xml", AES_KEY)]
MODE_IDS = ["plain-json", "plain-xml", "safe-json", "safe-xml"]


@pytest.mark.parametrize(("fmt", "aes_key"), MODES, ids=MODE_IDS)
async def test_fake_wechat_push_is_accepted(
    fake_wechat: FakeWeChat, receiver: Receiver, fmt: str, aes_key: str | None
) -> None:
    receiver.verifier = PushVerifier(TOKEN, aes_key, fake_wechat.appid, NonceGuard())
    fake_wechat.configure_push(receiver.url, TOKEN, aes_key=aes_key, fmt=fmt)
    assert await fake_wechat.push_media_verdict("trace-1", "risky", 20002) == (200, "success")
    assert [media_verdict(event) for event in receiver.events] == [("trace-1", "risky")]
    assert str(receiver.events[0]["result"]["label"]) == "20002"
    assert ("encrypt_type" in fake_wechat.pushes[0].query) == (aes_key is not None)


@pytest.mark.parametrize(("fmt", "aes_key"), MODES, ids=MODE_IDS)
async def test_fake_wechat_forged_stale_and_replayed_pushes_are_refused(
    fake_wechat: FakeWeChat, receiver: Receiver, fmt: str, aes_key: str | None
) -> None:
    receiver.verifier = PushVerifier(TOKEN, aes_key, fake_wechat.appid, NonceGuard())
    fake_wechat.configure_push(receiver.url, TOKEN, aes_key=aes_key, fmt=fmt)
    assert await fake_wechat.push_media_verdict("t", signature="0" * 40) == (403, "forbidden")
    assert await fake_wechat.push_media_verdict("t", timestamp=int(time.time()) - 360) == (403, "forbidden")
    assert await fake_wechat.push_media_verdict("t", nonce="once") == (200, "success")
    assert await fake_wechat.push_media_verdict("t", nonce="once") == (403, "forbidden")
    assert len(receiver.events) == 1


async def test_fake_wechat_url_check(fake_wechat: FakeWeChat, receiver: Receiver) -> None:
    receiver.verifier = PushVerifier(TOKEN, None, fake_wechat.appid, NonceGuard())
    fake_wechat.configure_push(receiver.url, TOKEN)
    assert await fake_wechat.push_url_check("echo-42") == (200, "echo-42")
    assert await fake_wechat.push_url_check("echo-42", signature="f" * 40) == (403, "forbidden")
    assert await fake_wechat.push_url_check("echo-42", timestamp=int(time.time()) + 360) == (403, "forbidden")
