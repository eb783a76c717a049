"""One person's image work cannot starve everyone else's: the per-person image budget, over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from tests.images import encode, scene
from tests.support import until

# A flat 36-MP PNG: valid, about 0.6 s of CPU (1.3 s on a busy machine) for the pipeline, and at
# 63 pixels per byte it looks like a real picture to the pixels-per-byte check.
HEAVY_SIZE = (6000, 6000)
FLOOD = 10  # concurrent uploads by one person: 8 of them wait for the 2 image processes without a budget
# The other person's 800x600 upload takes about 50 ms alone; without a per-person budget it waits
# behind the whole flood (5 s and more here). With one, it must finish within this.
OTHER_UPLOAD_BOUND_S = 2.0


@pytest.fixture(scope="module")
def heavy_png() -> bytes:
    return encode(scene(HEAVY_SIZE), "PNG", compress_level=1)


DRAIN_S = 60


async def drain_image_work(api) -> None:
    """Wait until the image pool is idle: jobs whose callers went away still run to their end."""
    await until(lambda: api.service.services.image_budget.in_flight() == 0, DRAIN_S)


async def test_one_person_flooding_cannot_push_anothers_upload_past_the_bound(api, heavy_png) -> None:
    flooder, _ = await api.person("volunteer")
    other, _ = await api.person("volunteer")
    small = encode(scene(), "JPEG", quality=90)

    flood = [
        asyncio.create_task(api.upload(flooder, heavy_png, filename="big.png", content_type="image/png"))
        for _ in range(FLOOD)
    ]
    try:
        await asyncio.sleep(1.0)  # the flood's bodies are in and its work is queued
        start = time.perf_counter()
        reply = await api.upload(other, small)
        elapsed = time.perf_counter() - start
        done = [t.result() for t in flood if t.done()]
    finally:
        for task in flood:
            task.cancel()
        await asyncio.gather(*flood, return_exceptions=True)
        await drain_image_work(api)

    assert reply.status == 201, reply.body
    assert elapsed < OTHER_UPLOAD_BOUND_S, f"the other person's upload took {elapsed:.2f} s under the flood"
    # The flood was real work, not refused outright: whatever finished was stored or held back for a while.
    assert all(r.status in (201, 429) for r in done), [r.body for r in done]


async def test_an_upload_past_the_persons_cpu_allowance_is_429_and_others_still_upload(api) -> None:
    spender, spender_id = await api.person("volunteer")
    other, _ = await api.person("volunteer")
    photo = encode(scene(), "JPEG", quality=90)
    await api.service.services.image_budget.charge(str(spender_id), api.service.config.image_cpu.limit)

    refused = await api.upload(spender, photo)
    accepted = await api.upload(other, photo)

    assert refused.status == 429 and refused.error_code == "rate_limited", refused.body
    assert 1 <= int(refused.headers["Retry-After"]) <= api.service.config.image_cpu.period
    assert "图片处理" in refused.body["error"]["message"]
    assert accepted.status == 201, accepted.body


async def test_a_retry_after_a_passing_refusal_runs_again_though_it_carries_the_same_key(api) -> None:
    """429 and 408 say "not now": the retry with the same Idempotency-Key must not get them replayed."""
    spender, spender_id = await api.person("volunteer")
    photo = encode(scene(), "JPEG", quality=90)
    key = {"Idempotency-Key": "busy-upload-7d3a1e9f"}
    await api.service.services.image_budget.charge(str(spender_id), api.service.config.image_cpu.limit)
    refused = await api.upload(spender, photo, headers=key)
    assert refused.status == 429, refused.body
    # The allowance comes back (as a new period would give it), in Redis too where there is one.
    await api.service.services.image_budget.charge(str(spender_id), -api.service.config.image_cpu.limit)

    retry = await api.upload(spender, photo, headers=key)

    assert retry.status == 201, retry.body
    assert "Idempotent-Replayed" not in retry.headers


async def test_an_upload_whose_image_process_is_killed_is_503_and_the_next_upload_is_stored(api, heavy_png) -> None:
    token, _ = await api.person("volunteer")
    services = api.service.services
    upload = asyncio.create_task(api.upload(token, heavy_png, filename="big.png", content_type="image/png"))
    await until(services.image_budget.in_flight, DRAIN_S)
    await asyncio.sleep(0.2)  # in an image process by now: the picture takes it half a second and more
    for pid in services.image_pool.pids():
        os.kill(pid, signal.SIGKILL)

    lost = await upload
    stored = await api.upload(token, encode(scene(), "JPEG", quality=90))

    assert lost.status == 503 and lost.error_code == "service_unavailable", lost.body
    assert lost.headers["Retry-After"] == "2"
    assert "图片处理" in lost.body["error"]["message"]
    assert stored.status == 201, stored.body
