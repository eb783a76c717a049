"""GET /me/certificate.png: a drawing is kept until its figures change, and new drawings are limited per person."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from media.certificate import FontMissing, find_cjk_font
from models.users import User

CERTIFICATE = "/api/v1/me/certificate.png"


@pytest.fixture(autouse=True)
def cjk_font() -> None:
    try:
        find_cjk_font()
    except FontMissing as exc:
        pytest.skip(str(exc))


async def certified(api, hours: str = "2.5") -> tuple[str, int]:
    token, user_id = await api.person("volunteer")
    await User.filter(id=user_id).update(service_hours=Decimal(hours), nickname="张晓明")
    return token, user_id


async def get_png(api, token: str) -> tuple[int, bytes, dict]:
    async with api.session.get(api.service.base_url + CERTIFICATE, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.read(), dict(r.headers)


async def test_an_unchanged_certificate_is_drawn_once_and_a_change_is_drawn_again(api) -> None:
    token, user_id = await certified(api)
    drawings = api.service.services.certificates
    before = drawings.drawn  # the service lives for the whole run: count this test's drawings only

    answers = [await get_png(api, token) for _ in range(3)]
    drawn_once = drawings.drawn - before
    await User.filter(id=user_id).update(service_hours=Decimal("4"))
    status, changed, headers = await get_png(api, token)

    assert [a[0] for a in answers] == [200, 200, 200]
    assert answers[0][1] == answers[1][1] == answers[2][1]
    assert drawn_once == 1
    assert status == 200 and changed != answers[0][1] and drawings.drawn - before == 2
    assert headers["X-Certificate-Serial"] != answers[0][2]["X-Certificate-Serial"]


async def test_new_drawings_past_the_persons_limit_are_429_and_kept_ones_do_not_count(api) -> None:
    token, user_id = await certified(api)
    limiter, rate = api.service.services.limiter, api.service.config.limit_certificate
    for attempt in range(2):
        # Use up all but one drawing of this window; retry once if the window turned over meanwhile.
        window = int(time.time()) // rate.period
        for _ in range(rate.limit - 1):
            await limiter.hit("certificate", str(user_id), rate)
        await User.filter(id=user_id).update(nickname=f"志愿者{attempt}")
        last = await get_png(api, token)
        again = await get_png(api, token)  # the same figures: from memory, not counted
        await User.filter(id=user_id).update(nickname="又改了名字")  # new figures: a new drawing
        refused = await api.call("GET", CERTIFICATE, token=token)
        if int(time.time()) // rate.period == window:
            break
    other, _ = await certified(api)

    assert last[0] == 200
    assert refused.status == 429 and refused.error_code == "rate_limited", refused.body
    assert int(refused.headers["Retry-After"]) >= 1 and "证明" in refused.body["error"]["message"]
    assert again[0] == 200 and again[1] == last[1]
    assert (await get_png(api, other))[0] == 200  # someone else's limit is their own
