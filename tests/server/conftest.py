"""Fixtures for the WeChat client tests: the fake WeChat over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from server.wechat.fake import FakeWeChat


@pytest_asyncio.fixture
async def fake_wechat() -> AsyncIterator[FakeWeChat]:
    """A fresh fake WeChat on a free loopback port."""
    fake = FakeWeChat()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def wx_http() -> AsyncIterator[aiohttp.ClientSession]:
    """The worker's shared aiohttp session."""
    async with aiohttp.ClientSession() as session:
        yield session
