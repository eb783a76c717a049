"""The typed bag of long-lived things a handler may use, built once per worker by ``server.app``.

Handlers ask for it by naming a ``services: Services`` parameter (the ``endpoint``
decorator passes it), so every use can be followed by reading, instead of untyped
``request.app.ctx`` lookups.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sanic import Request

if TYPE_CHECKING:  # annotations only: importing the runtime here would tie web's modules into a circle
    import aiohttp
    from redis.asyncio import Redis

    from media.storage import Storage, UrlSigner
    from models.rankings import Rankings
    from server.config import Config
    from server.kernel.crypto import Vault
    from server.runtime.background import Background
    from server.runtime.changes import SqliteWatch
    from server.runtime.effects import Effects
    from server.runtime.jobs import Jobs
    from server.runtime.subscriber import Subscriber
    from server.web.caches import Caches
    from server.web.certcache import CertificateDrawings
    from server.web.imagebudget import ImageBudget
    from server.web.imagepool import ImagePool
    from server.web.intake import UploadGate
    from server.web.ratelimit import RateLimiter
    from server.wechat.client import WeChatClient
    from server.wechat.codes import QrCodeCache
    from server.wechat.push import PushVerifier

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(eq=False)
class Services:
    config: Config
    redis: Redis | None  # None: one process, in-process fallbacks
    http: aiohttp.ClientSession
    wechat: WeChatClient
    vault: Vault  # phones and WeChat session keys at rest
    scene_key: bytes  # signs check-in QR scenes
    share_key: bytes  # signs share-card refs (models.sharing)
    qrcodes: QrCodeCache
    limiter: RateLimiter
    signer: UrlSigner
    storage: Storage
    incoming: str  # folder of uploads in progress
    uploads: UploadGate  # open-upload caps and the body deadline
    image_pool: ImagePool  # Pillow work, in processes of its own (off the event loop's GIL)
    image_budget: ImageBudget  # each person's share of image_pool
    certificates: CertificateDrawings  # certificate PNGs kept until their figures change
    background: Background
    rankings: Rankings
    jobs: Jobs
    effects: Effects  # the after-commit hook of domain operations
    push: PushVerifier | None  # None: the message push is off
    metrics_allow: tuple[Network, ...]
    caches: Caches  # in-process reads, emptied by every process's commits (server.runtime.changes)
    subscriber: Subscriber | None  # hears the other processes' commits; None without Redis
    sqlite_watch: SqliteWatch | None  # without Redis on SQLite: notices the CLI's commits


def services_of(request: Request) -> Services:
    """For the few routes outside the ``endpoint`` decorator (file serving, metrics, health)."""
    return request.app.ctx.services
