"""The console over real HTTP: a browser-like client (cookies, CSRF token from the page) per person."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from yarl import URL

from models.console import open_link
from models.users import User
from tests.factories import Tree, org_tree

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass
class Page:
    status: int
    text: str
    headers: Any
    url: str

    @property
    def csrf(self) -> str | None:
        found = _CSRF.search(self.text)
        return found.group(1) if found else None


class ConsoleClient:
    """What a browser does: keeps cookies, sends the page's CSRF token with every form."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        # unsafe: cookies for an IP address (127.0.0.1), which aiohttp refuses by default.
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.session.close()

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    async def _page(self, resp: aiohttp.ClientResponse) -> Page:
        page = Page(resp.status, await resp.text(errors="replace"), resp.headers, str(resp.url))
        if page.csrf:
            self.csrf = page.csrf
        return page

    async def get(self, path: str, *, follow: bool = True, htmx: bool = False) -> Page:
        headers = {"HX-Request": "true"} if htmx else {}
        async with self.session.get(self._url(path), allow_redirects=follow, headers=headers) as resp:
            return await self._page(resp)

    def cookie(self, name: str, path: str = "/console/") -> str:
        """The value of a cookie the browser would send to ``path``."""
        return self.session.cookie_jar.filter_cookies(URL(self._url(path)))[name].value

    async def get_bytes(self, path: str) -> tuple[int, bytes, Any]:
        async with self.session.get(self._url(path)) as resp:
            return resp.status, await resp.read(), resp.headers

    async def post(
        self,
        path: str,
        data: dict[str, Any] | aiohttp.FormData | None = None,
        *,
        csrf: str | None = "page",
        htmx: bool = False,
        follow: bool = True,
    ) -> Page:
        """A form POST; ``csrf="page"`` sends the token of the last page, None sends none."""
        token = self.csrf if csrf == "page" else csrf
        headers = {"HX-Request": "true"} if htmx else {}
        if htmx and token is not None:
            headers["X-CSRF-Token"] = token
        elif token is not None:
            if isinstance(data, aiohttp.FormData):
                data.add_field("_csrf", token)
            else:
                data = {**(data or {}), "_csrf": token}
        async with self.session.post(self._url(path), data=data, headers=headers, allow_redirects=follow) as resp:
            return await self._page(resp)


async def sign_in(base_url: str, user_id: int) -> ConsoleClient:
    """A console client signed in as the person (through a one-time link, as `wenming console link`)."""
    user = await User.get(id=user_id)
    client = ConsoleClient(base_url)
    page = await client.get(f"/console/login/link/{await open_link(user)}")
    assert page.status == 200, page.text[:500]
    return client


@pytest.fixture
async def tree(api) -> Tree:
    return await org_tree()


@pytest.fixture
async def staff_id(api, tree) -> int:
    """A staff member of the east township."""
    _, user_id = await api.person("staff", tree.east.id)
    return user_id


@pytest.fixture
async def console(api, staff_id) -> AsyncIterator[ConsoleClient]:
    """The east township's staff member, signed in to the console."""
    client = await sign_in(api.service.base_url, staff_id)
    yield client
    await client.close()


@pytest.fixture
async def admin_console(api, tree) -> AsyncIterator[ConsoleClient]:
    _, user_id = await api.person("admin", tree.county.id)
    client = await sign_in(api.service.base_url, user_id)
    yield client
    await client.close()
