"""Console sign-in: one-time tickets (a scanned code or a link) and server-side browser sessions.

Only hashes of the random values are stored: a leaked table opens no browser. A ticket works
once and briefly (5 minutes for a scanned code, 10 for a link); a session ends after
``SESSION_IDLE`` without use, on sign-out, and when its person stops being staff or is erased.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.users import STAFF_ROLES, User
from server.kernel.clock import now_utc
from server.kernel.errors import Conflict, Forbidden, NotFound

SCAN_TTL = timedelta(minutes=5)
LINK_TTL = timedelta(minutes=10)
SESSION_IDLE = timedelta(hours=8)
# A session's last use is written at most this often: not one UPDATE per page.
TOUCH_EVERY = timedelta(minutes=1)
SCAN, LINK = "scan", "link"


class ConsoleTicket(Model):
    """A way into the console that works once: a code to scan, or a link made for one person."""

    id = fields.IntField(primary_key=True)
    ticket_hash = fields.CharField(max_length=64, unique=True)
    kind = fields.CharField(max_length=8)
    # Scan: the browser that shows the code (the hash of its cookie), so only it can use the confirmation.
    browser_hash = fields.CharField(max_length=64, null=True)
    # Scan: who confirmed it in the mini-program; link: who it was made for.
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="console_tickets", null=True, on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField(db_index=True)
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int | None

    class Meta:
        table = "console_tickets"


class ConsoleSession(Model):
    """A signed-in browser."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="console_sessions", on_delete=fields.CASCADE
    )
    csrf = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(db_index=True)

    user_id: int

    class Meta:
        table = "console_sessions"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def open_scan_ticket() -> tuple[str, str]:
    """A new code to scan: (ticket, browser secret). The ticket goes into the code's scene
    (``login:<ticket>``, 24 characters within WeChat's 32); the secret stays in the browser's cookie."""
    ticket, browser = secrets.token_urlsafe(18), secrets.token_urlsafe(32)
    await ConsoleTicket.create(
        ticket_hash=_hash(ticket), kind=SCAN, browser_hash=_hash(browser), expires_at=now_utc() + SCAN_TTL
    )
    return ticket, browser


async def confirm_scan(ticket: str, user: User) -> None:
    """The mini-program, signed in as ``user``, vouches for the browser showing ``ticket``."""
    if not user.is_staff:
        raise Forbidden("只有工作人员和管理员可以登录管理后台")
    now = now_utc()
    confirmed = await ConsoleTicket.filter(
        ticket_hash=_hash(ticket), kind=SCAN, user_id__isnull=True, used_at__isnull=True, expires_at__gt=now
    ).update(user_id=user.id)
    if confirmed:
        return
    row = await ConsoleTicket.get_or_none(ticket_hash=_hash(ticket), kind=SCAN)
    if row is None or row.expires_at <= now or row.used_at is not None:
        raise NotFound("登录二维码已失效，请在电脑上刷新登录页后重新扫码")
    raise Conflict("该二维码已被确认，请勿重复扫码")


async def claim_scan(ticket: str, browser: str) -> User | bool | None:
    """The browser's question "has my code been confirmed?": the person once it has (the ticket is
    then used up), None while it waits, False when the code is gone (expired, used, not this browser's)."""
    row = await ConsoleTicket.get_or_none(ticket_hash=_hash(ticket), kind=SCAN).select_related("user__org")
    now = now_utc()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return False
    if not same_secret(_hash(browser), row.browser_hash or ""):
        return False
    if row.user is None:
        return None
    used = await ConsoleTicket.filter(id=row.id, used_at__isnull=True).update(used_at=now)
    return row.user if used else False


async def open_link(user: User) -> str:
    """A one-time sign-in link's secret for a staff member or admin."""
    if user.role not in STAFF_ROLES or user.deleted_at is not None:
        raise Forbidden("只有工作人员和管理员可以登录管理后台")
    raw = secrets.token_urlsafe(32)
    await ConsoleTicket.create(ticket_hash=_hash(raw), kind=LINK, user=user, expires_at=now_utc() + LINK_TTL)
    return raw


async def redeem_link(raw: str) -> User | None:
    """The person a link was made for, once and before it expires; None otherwise."""
    now = now_utc()
    row = await ConsoleTicket.get_or_none(ticket_hash=_hash(raw), kind=LINK).select_related("user__org")
    if row is None or row.user is None:
        return None
    used = await ConsoleTicket.filter(id=row.id, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    return row.user if used else None


async def start_session(user: User) -> tuple[str, ConsoleSession]:
    """A new browser session: (the cookie's value, the row)."""
    raw = secrets.token_urlsafe(32)
    async with in_transaction():
        # Tickets past their time are no use to anyone: they go as new ones come.
        await ConsoleTicket.filter(expires_at__lt=now_utc() - LINK_TTL).delete()
        session = await ConsoleSession.create(
            token_hash=_hash(raw), user=user, csrf=secrets.token_urlsafe(32), last_seen_at=now_utc()
        )
    session.user = user
    return raw, session


async def session_for(raw: str) -> ConsoleSession | None:
    """The live session behind a cookie (its person and org loaded), or None. Marks it used."""
    now = now_utc()
    session = await ConsoleSession.get_or_none(token_hash=_hash(raw)).select_related("user__org")
    if session is None:
        return None
    if session.last_seen_at <= now - SESSION_IDLE:
        await ConsoleSession.filter(id=session.id).delete()
        return None
    if session.last_seen_at <= now - TOUCH_EVERY:
        await ConsoleSession.filter(id=session.id).update(last_seen_at=now)
        session.last_seen_at = now
    return session


async def end_session(session_id: int) -> None:
    await ConsoleSession.filter(id=session_id).delete()


async def end_sessions_of(user_id: int) -> None:
    """Every browser of this person signs out (demoted, erased)."""
    await ConsoleSession.filter(user_id=user_id).delete()
