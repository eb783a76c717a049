"""The WeChat client against the fake WeChat, over real HTTP."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import time

import aiohttp
import pytest
from PIL import Image
from redis.asyncio import Redis

from server.kernel.errors import (
    WeChatCodeInvalid,
    WeChatError,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUserBlocked,
)
from server.wechat.client import (
    MemoryTokenStore,
    RedisTokenStore,
    TokenStore,
    WeChatClient,
    WxPhone,
)
from server.wechat.fake import (
    CODE2SESSION_PATH,
    MEDIA_CHECK_PATH,
    PHONE_PATH,
    STABLE_TOKEN_PATH,
    SUBSCRIBE_SEND_PATH,
    WXACODE_PATH,
    FakeWeChat,
)

TEMPLATE = "tmpl-task-approved"


def make_client(
    fake: FakeWeChat,
    session: aiohttp.ClientSession,
    *,
    tokens: TokenStore | None = None,
    api_base: str | None = None,
    timeout: float = 2.0,
    busy_retries: int = 2,
    backoff: float = 0.01,
) -> WeChatClient:
    return WeChatClient(
        appid=fake.appid,
        secret=fake.secret,
        api_base=api_base or fake.base_url,
        session=session,
        tokens=tokens or MemoryTokenStore(),
        timeout=timeout,
        busy_retries=busy_retries,
        backoff=backoff,
    )


@pytest.fixture
def wx(fake_wechat: FakeWeChat, wx_http: aiohttp.ClientSession) -> WeChatClient:
    return make_client(fake_wechat, wx_http)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- code2Session ----------------------------------------------------------------


async def test_code2session_returns_the_users_session(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    code = fake_wechat.issue_code(openid="o-alice", unionid="u-alice")

    session = await wx.code2session(code)

    assert (session.openid, session.unionid) == ("o-alice", "u-alice")
    assert session.session_key


async def test_code2session_without_unionid_gives_none(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    session = await wx.code2session(fake_wechat.issue_code(openid="o-bob"))

    assert session.unionid is None


async def test_used_code_is_invalid(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    code = fake_wechat.issue_code()
    await wx.code2session(code)

    with pytest.raises(WeChatCodeInvalid):
        await wx.code2session(code)


async def test_unknown_code_is_invalid(wx: WeChatClient) -> None:
    with pytest.raises(WeChatCodeInvalid):
        await wx.code2session("never-issued")


async def test_wrong_secret_is_a_wechat_error(fake_wechat: FakeWeChat, wx_http: aiohttp.ClientSession) -> None:
    client = WeChatClient(
        appid=fake_wechat.appid,
        secret="wrong",
        api_base=fake_wechat.base_url,
        session=wx_http,
        tokens=MemoryTokenStore(),
    )

    with pytest.raises(WeChatError) as caught:
        await client.code2session(fake_wechat.issue_code())

    assert caught.value.errcode == 40125


async def test_busy_once_is_retried(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    fake_wechat.fail_next(CODE2SESSION_PATH, -1)

    session = await wx.code2session(fake_wechat.issue_code(openid="o-carol"))

    assert session.openid == "o-carol"
    assert fake_wechat.count(CODE2SESSION_PATH) == 2


async def test_busy_every_time_gives_up_after_the_retries(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    fake_wechat.fail_next(CODE2SESSION_PATH, -1, times=10)
    started = time.monotonic()

    with pytest.raises(WeChatUnavailable) as caught:
        await wx.code2session(fake_wechat.issue_code())

    assert caught.value.retry_after >= 1
    assert fake_wechat.count(CODE2SESSION_PATH) == 3  # 1 + busy_retries
    assert time.monotonic() - started < 1.0


async def test_retries_stop_at_the_timeout_budget(fake_wechat: FakeWeChat, wx_http: aiohttp.ClientSession) -> None:
    client = make_client(fake_wechat, wx_http, timeout=0.5, backoff=2.0)
    fake_wechat.fail_next(CODE2SESSION_PATH, -1, times=10)
    started = time.monotonic()

    with pytest.raises(WeChatUnavailable):
        await client.code2session(fake_wechat.issue_code())

    assert time.monotonic() - started < 0.5
    assert fake_wechat.count(CODE2SESSION_PATH) == 1


async def test_http_5xx_is_unavailable(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    fake_wechat.fail_next(CODE2SESSION_PATH, -1, times=10, http_status=502)

    with pytest.raises(WeChatUnavailable):
        await wx.code2session(fake_wechat.issue_code())

    assert fake_wechat.count(CODE2SESSION_PATH) == 3


async def test_slow_wechat_is_unavailable_within_the_timeout(
    fake_wechat: FakeWeChat, wx_http: aiohttp.ClientSession
) -> None:
    client = make_client(fake_wechat, wx_http, timeout=0.3)
    fake_wechat.delay(CODE2SESSION_PATH, 5)
    started = time.monotonic()

    with pytest.raises(WeChatUnavailable):
        await client.code2session(fake_wechat.issue_code())

    assert time.monotonic() - started < 1.0


async def test_stopped_wechat_is_unavailable(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    code = fake_wechat.issue_code()
    await fake_wechat.stop()

    with pytest.raises(WeChatUnavailable):
        await wx.code2session(code)


async def test_closed_port_is_unavailable_even_for_a_send(
    fake_wechat: FakeWeChat, wx_http: aiohttp.ClientSession
) -> None:
    tokens = MemoryTokenStore()
    await tokens.set("cached-token", 600)
    client = make_client(fake_wechat, wx_http, tokens=tokens, api_base=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(WeChatUnavailable):
        await client.send_subscribe(touser="o-x", template_id=TEMPLATE, data={"thing1": {"value": "ok"}})


async def test_rate_limit_is_not_retried(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    fake_wechat.fail_next(CODE2SESSION_PATH, 45011)

    with pytest.raises(WeChatRateLimited) as caught:
        await wx.code2session(fake_wechat.issue_code())

    assert caught.value.headers["Retry-After"] == str(caught.value.retry_after)
    assert caught.value.retry_after >= 30
    assert fake_wechat.count(CODE2SESSION_PATH) == 1


async def test_blocked_user(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    fake_wechat.fail_next(CODE2SESSION_PATH, 40226)

    with pytest.raises(WeChatUserBlocked):
        await wx.code2session(fake_wechat.issue_code())


# -- access token ----------------------------------------------------------------


async def test_expired_token_is_replaced_transparently(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    await wx.get_phone_number(fake_wechat.issue_phone_code())
    old = await wx.access_token()
    fake_wechat.expire_tokens()

    phone = await wx.get_phone_number(fake_wechat.issue_phone_code("13900139000"))

    assert phone.pure_phone_number == "13900139000"
    assert await wx.access_token() != old
    assert fake_wechat.count(STABLE_TOKEN_PATH) == 2
    assert fake_wechat.count(PHONE_PATH) == 3  # ok, rejected (42001), retried


async def test_token_rejected_but_still_issued_is_force_refreshed(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    await wx.access_token()
    fake_wechat.fail_next(PHONE_PATH, 40001)

    await wx.get_phone_number(fake_wechat.issue_phone_code())

    token_bodies = [c.body for c in fake_wechat.calls if c.path == STABLE_TOKEN_PATH]
    assert [b["force_refresh"] for b in token_bodies if b] == [False, False, True]


async def test_token_rejected_twice_is_a_wechat_error(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    fake_wechat.fail_next(PHONE_PATH, 40001, times=2)

    with pytest.raises(WeChatError) as caught:
        await wx.get_phone_number(fake_wechat.issue_phone_code())

    assert caught.value.errcode == 40001
    assert fake_wechat.count(PHONE_PATH) == 2


async def test_sequential_calls_fetch_the_token_once(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    for _ in range(50):
        await wx.get_phone_number(fake_wechat.issue_phone_code())

    assert fake_wechat.count(STABLE_TOKEN_PATH) == 1


async def test_concurrent_calls_with_empty_cache_fetch_the_token_once(
    fake_wechat: FakeWeChat, wx: WeChatClient
) -> None:
    fake_wechat.delay(STABLE_TOKEN_PATH, 0.05)  # keep the fetch open while all callers arrive
    codes = [fake_wechat.issue_phone_code() for _ in range(20)]

    phones = await asyncio.gather(*(wx.get_phone_number(code) for code in codes))

    assert len(phones) == 20
    assert fake_wechat.count(STABLE_TOKEN_PATH) == 1


async def test_force_refresh_retires_the_old_token(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    old = await wx.access_token()

    new = await wx.access_token(force_refresh=True)

    assert new != old
    assert await wx.access_token() == new


async def test_memory_store_delete_if_keeps_a_fresher_token() -> None:
    store = MemoryTokenStore()
    await store.set("fresh", 600)

    await store.delete_if("stale")

    assert await store.get() == "fresh"


async def test_redis_store_delete_if_is_compare_and_delete(redis: Redis) -> None:
    store = RedisTokenStore(redis, "wxdemoappid")
    await store.set("fresh", 600)
    await store.delete_if("stale")
    assert await store.get() == "fresh"

    await store.delete_if("fresh")

    assert await store.get() is None


async def test_redis_token_ttl_leaves_a_safety_margin(
    fake_wechat: FakeWeChat, wx_http: aiohttp.ClientSession, redis: Redis
) -> None:
    store = RedisTokenStore(redis, fake_wechat.appid)
    client = make_client(fake_wechat, wx_http, tokens=store)

    await client.access_token()

    assert 7200 - 300 - 5 <= await redis.ttl(store.key) <= 7200 - 300


async def test_two_workers_share_one_token_through_redis(fake_wechat: FakeWeChat, redis: Redis, redis_url: str) -> None:
    fake_wechat.delay(STABLE_TOKEN_PATH, 0.05)
    other_redis = Redis.from_url(redis_url)
    try:
        async with aiohttp.ClientSession() as first, aiohttp.ClientSession() as second:
            workers = [
                make_client(fake_wechat, first, tokens=RedisTokenStore(redis, fake_wechat.appid)),
                make_client(fake_wechat, second, tokens=RedisTokenStore(other_redis, fake_wechat.appid)),
            ]
            tokens = await asyncio.gather(*(w.access_token() for w in workers * 5))
    finally:
        await other_redis.aclose()

    assert len(set(tokens)) == 1
    assert fake_wechat.count(STABLE_TOKEN_PATH) == 1


# -- phone number ----------------------------------------------------------------


async def test_phone_number(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    phone = await wx.get_phone_number(fake_wechat.issue_phone_code("13700137000"))

    assert phone == WxPhone(phone_number="13700137000", pure_phone_number="13700137000", country_code="86")


async def test_phone_code_is_single_use(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    code = fake_wechat.issue_phone_code()
    await wx.get_phone_number(code)

    with pytest.raises(WeChatCodeInvalid):
        await wx.get_phone_number(code)


# -- content checks --------------------------------------------------------------


async def test_msg_sec_check_passes_clean_text(wx: WeChatClient) -> None:
    result = await wx.msg_sec_check("今天去村里宣传网络文明", openid="o-a")

    assert result["result"]["suggest"] == "pass"
    assert result["trace_id"]


async def test_msg_sec_check_flags_risky_text(wx: WeChatClient) -> None:
    result = await wx.msg_sec_check("一起来赌博吧", openid="o-a")

    assert result["result"]["suggest"] == "risky"


async def test_media_check_async_returns_the_trace_id(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    trace_id = await wx.media_check_async("https://example.com/m/1.jpg", openid="o-a")

    assert fake_wechat.media_checks[0]["trace_id"] == trace_id
    assert fake_wechat.media_checks[0]["media_url"] == "https://example.com/m/1.jpg"


async def test_media_check_busy_is_retried(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    fake_wechat.fail_next(MEDIA_CHECK_PATH, -1)

    await wx.media_check_async("https://example.com/m/1.jpg", openid="o-a")

    assert fake_wechat.count(MEDIA_CHECK_PATH) == 2


# -- subscribe messages ----------------------------------------------------------


async def test_send_subscribe_delivers(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    data = {"thing1": {"value": "审核通过"}}

    sent = await wx.send_subscribe(touser="o-a", template_id=TEMPLATE, data=data, page="pages/task/index")

    assert sent is True
    assert fake_wechat.sent_messages[0]["data"] == data
    assert fake_wechat.sent_messages[0]["page"] == "pages/task/index"


async def test_send_subscribe_to_unsubscribed_user_returns_false(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    fake_wechat.refuse_subscribe("o-refuser")

    sent = await wx.send_subscribe(touser="o-refuser", template_id=TEMPLATE, data={"thing1": {"value": "审核通过"}})

    assert sent is False
    assert fake_wechat.sent_messages == []


async def test_send_subscribe_with_too_long_thing_is_a_wechat_error(wx: WeChatClient) -> None:
    with pytest.raises(WeChatError) as caught:
        await wx.send_subscribe(touser="o-a", template_id=TEMPLATE, data={"thing1": {"value": "长" * 21}})

    assert caught.value.errcode == 47003


async def test_send_subscribe_busy_is_not_retried(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    await wx.access_token()
    fake_wechat.fail_next(SUBSCRIBE_SEND_PATH, -1)

    with pytest.raises(WeChatUnavailable):
        await wx.send_subscribe(touser="o-a", template_id=TEMPLATE, data={"thing1": {"value": "审核通过"}})

    assert fake_wechat.count(SUBSCRIBE_SEND_PATH) == 1


# -- mini-program codes ----------------------------------------------------------


async def test_wxacode_is_a_png(wx: WeChatClient) -> None:
    image, content_type = await wx.get_wxacode_unlimit(scene="t=42", page="pages/checkin/index")

    assert content_type == "image/png"
    with Image.open(io.BytesIO(image)) as png:
        assert png.format == "PNG"


async def test_wxacode_differs_by_scene(wx: WeChatClient) -> None:
    first, _ = await wx.get_wxacode_unlimit(scene="t=1", page="pages/checkin/index")
    second, _ = await wx.get_wxacode_unlimit(scene="t=2", page="pages/checkin/index")

    assert first != second


async def test_wxacode_bad_scene_is_a_wechat_error(wx: WeChatClient) -> None:
    with pytest.raises(WeChatError) as caught:
        await wx.get_wxacode_unlimit(scene="x" * 33, page="pages/checkin/index")

    assert caught.value.errcode == 40169


async def test_wxacode_page_with_leading_slash_is_a_wechat_error(fake_wechat: FakeWeChat, wx: WeChatClient) -> None:
    with pytest.raises(WeChatError) as caught:
        await wx.get_wxacode_unlimit(scene="t=1", page="/pages/checkin/index")

    assert caught.value.errcode == 41030
    assert fake_wechat.count(WXACODE_PATH) == 1


# -- logging ---------------------------------------------------------------------


async def test_logs_never_hold_secrets(
    fake_wechat: FakeWeChat, wx: WeChatClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wenming.wechat")
    login_code = fake_wechat.issue_code(openid="o-dave")
    phone_code = fake_wechat.issue_phone_code("13600136000")
    fake_wechat.fail_next(PHONE_PATH, 42001)
    fake_wechat.fail_next(CODE2SESSION_PATH, -1)

    session = await wx.code2session(login_code)
    await wx.get_phone_number(phone_code)
    with pytest.raises(WeChatCodeInvalid):
        await wx.code2session(login_code)
    with pytest.raises(WeChatError):
        await wx.send_subscribe(touser="o-a", template_id=TEMPLATE, data={"thing1": {}})

    tokens = [c.query["access_token"] for c in fake_wechat.calls if "access_token" in c.query]
    secrets = [fake_wechat.secret, login_code, phone_code, session.session_key, "13600136000"]
    assert caplog.records  # the failures above were logged
    for secret in secrets + tokens:
        assert secret not in caplog.text
