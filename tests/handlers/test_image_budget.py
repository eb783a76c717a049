"""One person's image work cannot starve everyone else's: the per-person image budget, over HTTP."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.images import encode, scene

# A flat 36-MP PNG: valid, about 0.6 s of CPU (1.3 s on a busy machine) for the pipeline, and at
# 63 pixels per byte it looks like a real picture to the pixels-per-byte check.
HEAVY_SIZE = (6000, 6000)
FLOOD = 10  # concurrent uploads by one person: 8 of them wait for the 2 image threads without a budget
# The other person's 800x600 upload takes about 50 ms alone; without a per-person budget it waits
# behind the whole flood (5 s and more here). With one, it must finish within this.
OTHER_UPLOAD_BOUND_S = 2.0


@pytest.fixture(scope="module")
def heavy_png() -> bytes:
    return encode(scene(HEAVY_SIZE), "PNG", compress_level=1)


DRAIN_S = 60


async def drain_image_threads(api) -> None:
    """Wait until every image thread is free: one barrier task per thread can only meet on an idle pool."""
    pool = api.service.services.image_pool
    barrier = threading.Barrier(pool._max_workers)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(DRAIN_S):
        await asyncio.gather(*(loop.run_in_executor(pool, barrier.wait, DRAIN_S) for _ in range(pool._max_workers)))


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
        await drain_image_threads(api)

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
