"""Certificate drawings, kept until what they show changes and limited per person.

``GET /me/certificate.png`` had no limit and drew the page (about 0.1 s of
CPU) on every call, in the same image pool as uploads. Now a drawing is
kept in this process under the hash of every field the page shows
(:class:`media.certificate.CertificateData`): the same figures answer from
memory, and any change (hours, tasks, name, org, serial) is a new key, so a
stale page is never served. New drawings count against the person's
``WENMING_LIMIT_CERTIFICATE`` and run within their image budget; answers from
memory count against neither. The memory is bounded (least recently used
pages go first); each worker keeps its own, which at worst costs one drawing
per worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict

from media.certificate import CertificateData, render_certificate
from server.config import Rate
from server.kernel.errors import RateLimited
from server.web.imagebudget import ImageBudget
from server.web.ratelimit import RateLimiter

CACHE_BYTES = 32 * 1024 * 1024  # a page is about 40 KB: some 800 of them
RENDER_VERSION = "2"  # bump when the layout changes, so kept pages are drawn anew


class CertificateRendersLimited(RateLimited):
    message = "生成服务证明太频繁，请稍后再试"


def drawing_key(data: CertificateData) -> str:
    """A digest of everything the page shows: equal figures, equal key."""
    shown = repr((RENDER_VERSION, *dataclasses.astuple(data)))
    return hashlib.sha256(shown.encode()).hexdigest()


class CertificateDrawings:
    def __init__(self, budget: ImageBudget, limiter: RateLimiter, rate: Rate, max_bytes: int = CACHE_BYTES) -> None:
        self._budget = budget
        self._limiter = limiter
        self._rate = rate
        self._max_bytes = max_bytes
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self.drawn = 0  # pages drawn by this process

    async def png(self, person: str, data: CertificateData) -> bytes:
        """The page for ``data``: kept, or drawn now within ``person``'s limits (429 past them)."""
        key = drawing_key(data)
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
            return page
        await self._limiter.hit("certificate", person, self._rate, CertificateRendersLimited)
        page = await self._budget.run(person, render_certificate, data)
        self.drawn += 1
        self._keep(key, page)
        return page

    def _keep(self, key: str, page: bytes) -> None:
        if len(page) > self._max_bytes or key in self._pages:
            return
        self._pages[key] = page
        self._bytes += len(page)
        while self._bytes > self._max_bytes:
            _, old = self._pages.popitem(last=False)
            self._bytes -= len(old)
