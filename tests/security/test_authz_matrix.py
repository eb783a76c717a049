"""Who may call what: every route of the OpenAPI spec, called as every kind of caller.

``TABLE`` is the matrix: a row per route (and, where the object matters, per case), a column
per role, the outcome API.md promises. A route the spec lists without a row fails
``test_every_spec_route_has_a_row``, so a route added later cannot escape the matrix.

The callers, all signed in through the API except ``anon``:

- ``anon``: no Authorization header;
- ``volunteer``, ``influencer``: members of the east village and strangers to the *owner*,
  another east volunteer whose submission, photos, enrollment and points the others reach
  for. The volunteer has approved work (points, a certificate) of their own; the influencer
  has taken part in nothing;
- ``staff``: staff of the east township, which owns every campaign and task here;
- ``other_staff``: staff of the west township, a sibling: outside the objects' subtree;
- ``admin``: no org; everything.

An outcome is a status (refused with exactly that), a (status, error code) pair, or ``OK``:
the caller got past every authorization check (2xx, or a 400/409 about the body or the
object's state). Bodies are valid, so object-level checks, which run after the body is
parsed, are reached.

The data is made once for the module (``world``). A row that changes what other rows rely on
(publish, close, cancel, review, withdraw, role changes, sign-out, erasure) gets objects of
its own from ``Send.prepare``, so rows do not depend on each other or on their order. Within
a row the roles call in ``CALL_ORDER``, refusals first, so the allowed roles act last. Where
an allowed answer could still leak (lists, ledgers, batch results, staff-only fields),
``Send.check`` looks inside it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import inspect
import io
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import openpyxl
import pytest
import pytest_asyncio
from wechatpy.crypto import PrpCrypto

from models.campaigns import Enrollment
from models.console import open_scan_ticket
from models.ledger import LedgerEntry
from models.quiz import Question
from models.users import User
from server.wechat.fake import FakeWeChat
from server.wechat.push import sign
from tests.conftest import PUSH_AES_KEY, PUSH_TOKEN, Api, Reply, Service, clean_slate
from tests.factories import SPOT, Tree, campaign_body, iso, make_campaign, make_task, org_tree, task_body
from tests.handlers.test_reach import ONLINE, hand_in_online
from tests.handlers.test_review import hand_in
from tests.images import encode, scene
from tests.questions import csv_bytes, row, single

ROLES = ("anon", "volunteer", "influencer", "staff", "other_staff", "admin")
# Refusals first, so what an allowed role changes cannot change what the others get.
CALL_ORDER = ("anon", "volunteer", "influencer", "other_staff", "staff", "admin")
MEMBERS = ("volunteer", "influencer")
# The account role of each caller's person (other_staff is staff too, of another org).
ACCOUNT_ROLE = {
    "volunteer": "volunteer",
    "influencer": "influencer",
    "staff": "staff",
    "other_staff": "staff",
    "admin": "admin",
}


class _Allowed:
    def __repr__(self) -> str:
        return "OK"


OK = _Allowed()  # past authorization: 2xx, or 400/409 about the body or the object's state
NOT_YOURS = (403, "media_not_yours")  # someone else's photo
UNENROLLED = (409, "not_enrolled")  # "enrolled user" routes, for everyone else
Outcome = int | tuple[int, str] | _Allowed

# fmt: off
TABLE: dict[tuple[str, str, str], tuple[Outcome, ...]] = {
    # (method, path as in the spec, case):
    #     (the outcome for each role, in ROLES order)
    # -- sign-in and profile
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/auth/wechat-login", ""):
        (OK,   OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/auth/phone", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/auth/logout", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/me", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("PATCH", "/api/v1/me", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("PATCH", "/api/v1/me", "another org"):
        (401,  OK,          OK,          403,         403,         OK),
    ("PATCH", "/api/v1/me", "others' photo as avatar"):
        (401,  NOT_YOURS,   NOT_YOURS,   NOT_YOURS,   NOT_YOURS,   NOT_YOURS),
    ("DELETE", "/api/v1/me", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/me/export", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/me/points", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/me/certificate.png", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/certificates/{serial}", ""):
        (OK,   OK,          OK,          OK,          OK,          OK),
    # -- the staff console's scanned sign-in: staff and admins vouch for a browser (after the first: 409)
    ("POST", "/api/v1/console/tickets/{ticket}/confirm", ""):
        (401,  403,         403,         OK,          OK,          OK),
    # -- orgs and people (staff: own subtree; admin: everything)
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/orgs", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/orgs", "under east"):
        (401,  403,         403,         OK,          403,         OK),
    # The certificate signer of the east township: its own staff and admins (the west's staff: not found).
    ("GET", "/api/v1/orgs/{org_id}/certificate", "east"):
        (401,  403,         403,         OK,          404,         OK),
    ("PUT", "/api/v1/orgs/{org_id}/certificate", "east"):
        (401,  403,         403,         OK,          404,         OK),
    ("GET", "/api/v1/users", ""):
        (401,  403,         403,         OK,          OK,          OK),
    ("GET", "/api/v1/users", "org_id=east"):
        (401,  403,         403,         OK,          403,         OK),
    ("PATCH", "/api/v1/users/{user_id}", "make influencer"):
        (401,  403,         403,         OK,          404,         OK),
    ("PATCH", "/api/v1/users/{user_id}", "make staff"):
        (401,  403,         403,         403,         404,         OK),
    ("PATCH", "/api/v1/users/{user_id}", "move to west"):
        (401,  403,         403,         403,         404,         OK),
    # Honour hours: admins only, whoever the person.
    ("POST", "/api/v1/users/{user_id}/honour-hours", ""):
        (401,  403,         403,         403,         403,         OK),
    # Staff import into their own subtree; the west's staff get 200 with the east row refused (roster_imported).
    ("POST", "/api/v1/users/import", ""):
        (401,  403,         403,         OK,          OK,          OK),
    # -- the question bank (staff: own subtree, another township's question is not there; admin: all)
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/questions", ""):
        (401,  403,         403,         OK,          OK,          OK),
    ("POST", "/api/v1/questions", "for east"):
        (401,  403,         403,         OK,          403,         OK),
    ("GET", "/api/v1/questions/{question_id}", ""):
        (401,  403,         403,         OK,          404,         OK),
    ("PATCH", "/api/v1/questions/{question_id}", ""):
        (401,  403,         403,         OK,          404,         OK),
    ("DELETE", "/api/v1/questions/{question_id}", ""):
        (401,  403,         403,         OK,          404,         OK),
    # Each imports into their own org (admin: the east township, named); a question of the row's stem each.
    ("POST", "/api/v1/questions/import", ""):
        (401,  403,         403,         OK,          OK,          OK),
    # -- org change requests: a west villager asks to join the east village; east staff decide
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/org-requests", ""):
        (401,  403,         403,         OK,          OK,          OK),
    ("POST", "/api/v1/org-requests/{request_id}/approve", ""):
        (401,  403,         403,         OK,          404,         OK),
    ("POST", "/api/v1/org-requests/{request_id}/refuse", ""):
        (401,  403,         403,         OK,          404,         OK),
    # -- platform accounts: each person their own; staff of the person's subtree verify (the owner's, east)
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/me/accounts", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/me/accounts", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("PATCH", "/api/v1/me/accounts/{account_id}", "the owner's"):
        (401,  404,         404,         404,         404,         404),
    ("DELETE", "/api/v1/me/accounts/{account_id}", "the owner's"):
        (401,  404,         404,         404,         404,         404),
    ("GET", "/api/v1/accounts", ""):
        (401,  403,         403,         OK,          OK,          OK),
    ("POST", "/api/v1/accounts/{account_id}/verify", ""):
        (401,  403,         403,         OK,          404,         OK),
    # -- share links and opens: anyone signed in shares a task they can see and opens the owner's card;
    #    staff of the task's subtree read the figures
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/share-links", "published"):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/share-links", "draft"):
        (401,  404,         404,         OK,          404,         OK),
    ("POST", "/api/v1/share-opens", "the owner's card"):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/tasks/{task_id}/share-stats", ""):
        (401,  403,         403,         OK,          403,         OK),
    # -- campaigns, all of the east township: out of scope, a published one is 403, a draft 404
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/campaigns", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/campaigns", "for east"):
        (401,  403,         403,         OK,          403,         OK),
    ("POST", "/api/v1/campaigns", "others' photo as cover"):
        (401,  403,         403,         NOT_YOURS,   NOT_YOURS,   NOT_YOURS),
    ("GET", "/api/v1/campaigns/{campaign_id}", "published"):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/campaigns/{campaign_id}", "draft"):
        (401,  404,         404,         OK,          404,         OK),
    ("PATCH", "/api/v1/campaigns/{campaign_id}", "published"):
        (401,  403,         403,         OK,          403,         OK),
    ("PATCH", "/api/v1/campaigns/{campaign_id}", "draft"):
        (401,  403,         403,         OK,          404,         OK),
    ("POST", "/api/v1/campaigns/{campaign_id}/publish", "draft"):
        (401,  403,         403,         OK,          404,         OK),
    ("POST", "/api/v1/campaigns/{campaign_id}/close", "published"):
        (401,  403,         403,         OK,          403,         OK),
    ("GET", "/api/v1/campaigns/{campaign_id}/summary", "published"):
        (401,  403,         403,         OK,          403,         OK),
    ("POST", "/api/v1/campaigns/{campaign_id}/tasks", "published"):
        (401,  403,         403,         OK,          403,         OK),
    ("POST", "/api/v1/campaigns/{campaign_id}/tasks", "draft"):
        (401,  403,         403,         OK,          404,         OK),
    # -- tasks and enrollment, of the east township. Out of a staff member's subtree a task it may see
    #    (published) answers 403, one it may not (draft) 404, as campaigns do; checkin is for enrolled users only
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/tasks", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/tasks/{task_id}", "published"):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/tasks/{task_id}", "draft"):
        (401,  404,         404,         OK,          404,         OK),
    ("PATCH", "/api/v1/tasks/{task_id}", ""):
        (401,  403,         403,         OK,          403,         OK),
    ("POST", "/api/v1/tasks/{task_id}/cancel", ""):
        (401,  403,         403,         OK,          403,         OK),
    ("POST", "/api/v1/tasks/{task_id}/enroll", "published"):
        (401,  OK,          OK,          403,         403,         403),
    ("POST", "/api/v1/tasks/{task_id}/enroll", "draft"):
        (401,  404,         404,         403,         403,         403),
    ("DELETE", "/api/v1/tasks/{task_id}/enroll", ""):
        (401,  OK,          UNENROLLED,  403,         403,         403),
    ("POST", "/api/v1/tasks/{task_id}/checkin", "published"):
        (401,  OK,          UNENROLLED,  UNENROLLED,  UNENROLLED,  UNENROLLED),
    ("POST", "/api/v1/tasks/{task_id}/checkin", "draft"):
        (401,  404,         404,         UNENROLLED,  404,         UNENROLLED),
    ("POST", "/api/v1/tasks/{task_id}/checkout", ""):
        (401,  OK,          UNENROLLED,  UNENROLLED,  UNENROLLED,  UNENROLLED),
    ("GET", "/api/v1/tasks/{task_id}/qrcode", ""):
        (401,  403,         403,         OK,          403,         OK),
    ("GET", "/api/v1/tasks/{task_id}/enrollments", ""):
        (401,  403,         403,         OK,          403,         OK),
    ("GET", "/api/v1/tasks/{task_id}/enrollments.xlsx", ""):
        (401,  403,         403,         OK,          403,         OK),
    # -- quizzes (网络普法答题): members take them; an attempt is its owner's (others: 404), staff of the
    #    task's subtree read it and see the figures
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/tasks/{task_id}/quiz/attempts", ""):
        (401,  OK,          OK,          403,         403,         403),
    ("PUT", "/api/v1/quiz-attempts/{attempt_id}/answers/{question_id}", "the volunteer's"):
        (401,  OK,          404,         403,         403,         403),
    ("POST", "/api/v1/quiz-attempts/{attempt_id}/finish", "the volunteer's"):
        (401,  OK,          404,         403,         403,         403),
    ("GET", "/api/v1/quiz-attempts/{attempt_id}", "the volunteer's"):
        (401,  OK,          404,         OK,          404,         OK),
    ("GET", "/api/v1/tasks/{task_id}/quiz/stats", ""):
        (401,  403,         403,         OK,          403,         OK),
    # -- photos and evidence: someone else's photo is refused, someone else's submission is not there
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/media", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/media", "others' Idempotency-Key"):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/media/files/{key}", "signed"):
        (OK,   OK,          OK,          OK,          OK,          OK),
    ("GET", "/media/files/{key}", "unsigned"):
        (403,  403,         403,         403,         403,         403),
    ("GET", "/media/files/{key}", "expiry tampered"):
        (403,  403,         403,         403,         403,         403),
    ("POST", "/api/v1/tasks/{task_id}/submissions", "own photo"):
        (401,  OK,          UNENROLLED,  403,         403,         403),
    ("POST", "/api/v1/tasks/{task_id}/submissions", "others' photo"):
        (401,  NOT_YOURS,   UNENROLLED,  403,         403,         403),
    ("GET", "/api/v1/submissions", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/submissions/{submission_id}", "the owner's"):
        (401,  404,         404,         OK,          404,         OK),
    ("GET", "/api/v1/submissions/{submission_id}", "the volunteer's"):
        (401,  OK,          404,         OK,          404,         OK),
    # -- online work: reach is recorded by the submission's owner and corrected by staff of the task's
    #    subtree; official reposts are recorded by that staff; everyone else finds no submission there
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/submissions/{submission_id}/reach", "the owner's"):
        (401,  404,         404,         OK,          404,         OK),
    ("POST", "/api/v1/submissions/{submission_id}/reach", "the volunteer's"):
        (401,  OK,          404,         OK,          404,         OK),
    ("GET", "/api/v1/submissions/{submission_id}/reach", "the volunteer's"):
        (401,  OK,          404,         OK,          404,         OK),
    ("POST", "/api/v1/submissions/{submission_id}/repost", "the owner's"):
        (401,  403,         403,         OK,          404,         OK),
    ("GET", "/api/v1/submissions/{submission_id}/reposts", "the owner's"):
        (401,  404,         404,         OK,          404,         OK),
    # -- netizen messages: written by anyone signed in; read by the writer and by staff of the org it
    #    sits with or above (the world's are handed by the county to the east township); moved by
    #    staff as models.messages says; rated by the writer alone. Others find no message there.
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/messages", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/messages", "others' photo"):
        (401,  NOT_YOURS,   NOT_YOURS,   NOT_YOURS,   NOT_YOURS,   NOT_YOURS),
    ("GET", "/api/v1/messages", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/messages/{message_id}", "the owner's"):
        (401,  404,         404,         OK,          404,         OK),
    ("GET", "/api/v1/messages/{message_id}", "the volunteer's"):
        (401,  OK,          404,         OK,          404,         OK),
    ("GET", "/api/v1/messages/{message_id}", "just written, the county's"):
        (401,  404,         404,         404,         404,         OK),
    ("GET", "/api/v1/public/messages", ""):
        (OK,   OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/messages/{message_id}/accept", "just written, the county's"):
        (401,  403,         403,         404,         404,         OK),
    ("POST", "/api/v1/messages/{message_id}/reject", "just written, the county's"):
        (401,  403,         403,         404,         404,         OK),
    ("POST", "/api/v1/messages/{message_id}/assign", "held by the east"):
        (401,  403,         403,         OK,          404,         OK),
    ("POST", "/api/v1/messages/{message_id}/return", "held by the east"):
        (401,  403,         403,         OK,          404,         OK),
    ("POST", "/api/v1/messages/{message_id}/extend", "held by the east"):
        (401,  403,         403,         OK,          404,         OK),
    ("POST", "/api/v1/messages/{message_id}/approve-extension", "asked by the east"):
        (401,  403,         403,         403,         404,         OK),
    ("POST", "/api/v1/messages/{message_id}/draft-reply", "held by the east"):
        (401,  403,         403,         OK,          404,         OK),
    ("POST", "/api/v1/messages/{message_id}/approve-reply", "drafted by the east"):
        (401,  403,         403,         403,         404,         OK),
    # The east's own staff do not supervise themselves: supervision comes from above.
    ("POST", "/api/v1/messages/{message_id}/supervise", "held by the east"):
        (401,  403,         403,         403,         404,         OK),
    ("POST", "/api/v1/messages/{message_id}/rate", "the volunteer's, replied"):
        (401,  OK,          404,         403,         404,         403),
    # -- notices: written by staff to their subtree; read by their recipients (the east village's
    #    members here); counted for staff whose subtree holds the notice's org. Others find none.
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/notices", "to the east"):
        (401,  403,         403,         OK,          403,         OK),
    ("GET", "/api/v1/notices", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/notices", "sent=1"):
        (401,  403,         403,         OK,          OK,          OK),
    ("GET", "/api/v1/notices/{notice_id}", "to the east's members"):
        (401,  OK,          OK,          OK,          404,         OK),
    ("GET", "/api/v1/notices/{notice_id}", "to influencers only"):
        (401,  404,         OK,          OK,          404,         OK),
    ("POST", "/api/v1/notices/{notice_id}/read", "to influencers only"):
        (401,  404,         OK,          404,         404,         404),
    ("GET", "/api/v1/notices/{notice_id}/stats", ""):
        (401,  403,         403,         OK,          404,         OK),
    # -- make-up requests for service hours: asked by anyone in the task's audience; read by the
    #    person and staff of the task's subtree; decided by that staff. Others find no request there.
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("POST", "/api/v1/hour-requests", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/hour-requests", "others' photo"):
        (401,  NOT_YOURS,   NOT_YOURS,   NOT_YOURS,   NOT_YOURS,   NOT_YOURS),
    ("GET", "/api/v1/hour-requests", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/hour-requests/{hour_request_id}", "the owner's"):
        (401,  404,         404,         OK,          404,         OK),
    ("POST", "/api/v1/hour-requests/{hour_request_id}/review", "the owner's"):
        (401,  403,         403,         OK,          404,         OK),
    # -- review, points, rankings
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/review/queue", ""):
        (401,  403,         403,         OK,          OK,          OK),
    ("POST", "/api/v1/submissions/{submission_id}/review", ""):
        (401,  403,         403,         OK,          404,         OK),
    ("POST", "/api/v1/review/batch", ""):
        (401,  403,         403,         OK,          OK,          OK),
    ("GET", "/api/v1/leaderboard", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("GET", "/api/v1/leaderboard/orgs", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    # -- operator tools
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/reports/participation.xlsx", "org_id=east"):
        (401,  403,         403,         OK,          403,         OK),
    ("GET", "/api/v1/reports/participation.csv", "org_id=east"):
        (401,  403,         403,         OK,          403,         OK),
    ("GET", "/api/v1/reports/messages.xlsx", "org_id=east"):
        (401,  403,         403,         OK,          403,         OK),
    ("GET", "/api/v1/audit", ""):
        (401,  403,         403,         403,         403,         OK),
    # -- the working-day calendar: read by anyone signed in, set by admins only
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/calendar/{year}", ""):
        (401,  OK,          OK,          OK,          OK,          OK),
    ("PUT", "/api/v1/calendar/{year}", ""):
        (401,  403,         403,         403,         403,         OK),
    # -- WeChat push: the signature is the credential, whoever else is signed in
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/api/v1/wechat/push", "unsigned"):
        (403,  403,         403,         403,         403,         403),
    ("GET", "/api/v1/wechat/push", "signed"):
        (OK,   OK,          OK,          OK,          OK,          OK),
    ("POST", "/api/v1/wechat/push", "unsigned"):
        (403,  403,         403,         403,         403,         403),
    ("POST", "/api/v1/wechat/push", "forged signature"):
        (403,  403,         403,         403,         403,         403),
    ("POST", "/api/v1/wechat/push", "signed"):
        (OK,   OK,          OK,          OK,          OK,          OK),
    # -- ops: open at the network level; /metrics only to its allow-list (loopback here)
    #    anon  volunteer    influencer   staff        other_staff  admin
    ("GET", "/healthz", ""):
        (OK,   OK,          OK,          OK,          OK,          OK),
    ("GET", "/readyz", ""):
        (OK,   OK,          OK,          OK,          OK,          OK),
    ("GET", "/metrics", "from loopback"):
        (OK,   OK,          OK,          OK,          OK,          OK),
    ("GET", "/metrics", "forwarded, proxy not trusted"):
        (403,  403,         403,         403,         403,         403),
}
# fmt: on


# -- the world every row runs in --------------------------------------------------


@dataclass
class World:
    api: Api
    tree: Tree
    tokens: dict[str, str | None]  # role -> bearer token (anon: None)
    ids: dict[str, int]  # role -> user id
    orgs: dict[str, int | None]  # role -> the org of the role's person
    owner: tuple[str, int]  # (token, id) of the east volunteer whose things the others reach for
    values: dict[str, str]  # path parameters and other ids, by name
    photos: dict[str, str] = field(default_factory=dict)  # role -> a photo of their own

    @property
    def staff(self) -> str:
        token = self.tokens["staff"]
        assert token is not None
        return token

    async def photo(self, role: str) -> str:
        """A photo of the role's own, uploaded on first use (anon, refused first, sends the owner's)."""
        if role == "anon":
            return self.values["spare_media_id"]
        if role not in self.photos:
            reply = await self.api.upload(self.tokens[role], encode(scene((320, 240), seed=4), "JPEG"))
            assert reply.status == 201, reply.body
            self.photos[role] = reply.body["id"]
        return self.photos[role]

    async def new_campaign(self, *, publish: bool) -> str:
        return (await make_campaign(self.api, self.staff, self.tree.east.id, publish=publish))["id"]

    async def new_task(self, **overrides: Any) -> str:
        """A task of its own in the east township's published campaign."""
        return (await make_task(self.api, self.staff, self.values["campaign_id"], **overrides))["id"]

    async def enroll(self, token: str | None, task_id: str) -> None:
        reply = await self.api.call("POST", f"/api/v1/tasks/{task_id}/enroll", token=token)
        assert reply.status == 201, reply.body


async def build_world(api: Api) -> World:
    tree = await org_tree()
    orgs: dict[str, int | None] = {
        "volunteer": tree.east_village.id,
        "influencer": tree.east_village.id,
        "staff": tree.east.id,
        "other_staff": tree.west.id,
        "admin": None,
    }
    tokens: dict[str, str | None] = {"anon": None}
    ids: dict[str, int] = {}
    for role, org_id in orgs.items():
        tokens[role], ids[role] = await api.person(ACCOUNT_ROLE[role], org_id)
    owner = await api.person("volunteer", tree.east_village.id)
    staff = tokens["staff"]

    campaign = await make_campaign(api, staff, tree.east.id)
    task = await make_task(api, staff, campaign["id"])
    paid_task = await make_task(api, staff, campaign["id"], title="拍摄村史馆")
    draft = await make_campaign(api, staff, tree.east.id, publish=False, title="筹备中的活动")
    draft_task = await make_task(api, staff, draft["id"])

    # The owner's evidence for the task awaits review; owner and volunteer both have approved work too.
    submission_id = await hand_in(api, owner[0], task)
    owner_paid = await hand_in(api, owner[0], paid_task, seed=1)
    volunteer_paid = await hand_in(api, tokens["volunteer"], paid_task, seed=2)
    for sid in (owner_paid, volunteer_paid):
        reply = await api.call("POST", f"/api/v1/submissions/{sid}/review", token=staff, json={"decision": "approve"})
        assert reply.status == 200, reply.body
    # The owner keeps off the leaderboard (shown anonymised) and has a photo used nowhere yet.
    hide = await api.call("PATCH", "/api/v1/me", token=owner[0], json={"leaderboard_visible": False})
    assert hide.status == 200, hide.body
    key = {"Idempotency-Key": "owner-upload-0001"}
    spare = await api.upload(owner[0], encode(scene((320, 240), seed=3), "JPEG"), headers=key)
    assert spare.status == 201, spare.body

    question = await api.call("POST", "/api/v1/questions", token=staff, json=single("东镇题库的题"))
    assert question.status == 201, question.body

    handle = {"platform": "weibo", "handle": "主人"}
    account = await api.call("POST", "/api/v1/me/accounts", token=owner[0], json=handle)
    assert account.status == 201, account.body

    county_token, _ = await api.person("staff", tree.county.id)
    messages = {
        name: await handed_to(api, county_token, writer, tree.east.id)
        for name, writer in (("message_id", owner[0]), ("volunteer_message_id", tokens["volunteer"]))
    }

    notices = {}
    for name, roles in (("notice_id", None), ("influencer_notice_id", ["influencer"])):
        body = NOTICE | {"org_id": str(tree.east.id)} | ({"roles": roles} if roles else {})
        reply = await api.call("POST", "/api/v1/notices", token=staff, json=body)
        assert reply.status == 201, reply.body
        notices[name] = reply.body["id"]

    values = {
        **messages,
        **notices,
        "county_token": county_token,
        "account_id": account.body["id"],
        "question_id": question.body["id"],
        "campaign_id": campaign["id"],
        "draft_campaign_id": draft["id"],
        "task_id": task["id"],
        "draft_task_id": draft_task["id"],
        "submission_id": submission_id,
        "volunteer_submission_id": volunteer_paid,
        "user_id": str(owner[1]),
        "spare_media_id": spare.body["id"],
        "spare_media_url": spare.body["url"],
        "spare_media_key": key["Idempotency-Key"],
    }
    return World(api, tree, tokens, ids, orgs, owner, values)


@pytest_asyncio.fixture(scope="module")
async def world(service: Service, wechat: FakeWeChat) -> AsyncIterator[World]:
    """One world for the whole matrix, on the clean slate the `api` fixture makes for a test."""
    await clean_slate(service, wechat)
    async with aiohttp.ClientSession() as session:
        yield await build_world(Api(service, wechat, session))


# -- how a row is called ----------------------------------------------------------

Check = Callable[[World, str, Reply, str | None], Awaitable[None] | None]


@dataclass(frozen=True)
class Send:
    """How to call a row. A path parameter takes the world's value of the same name unless renamed."""

    params: dict[str, str] = field(default_factory=dict)  # path parameter -> name in World.values
    query: Callable[[World], str] | None = None
    body: Callable[[World, str], Any] | None = None  # JSON body for a role; may be a coroutine function
    upload: Callable[[World, str], bytes] | None = None  # multipart field `file`
    url: Callable[[World, str], str] | None = None  # path and query, instead of the template
    headers: Callable[[World], dict[str, str]] | None = None
    # "own": the role's person; "second sign-in": a throwaway token of that person; "new person": someone new
    token: str = "own"
    prepare: Callable[[World], Awaitable[dict[str, str]]] | None = None  # objects of the row's own
    check: Check | None = None  # looks inside an allowed (2xx) answer for a leak
    after: Callable[[World], Awaitable[None]] | None = None  # once every role has called


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _token(w: World, role: str, how: Send) -> str | None:
    if role == "anon":
        return None
    if how.token == "second sign-in":
        return await w.api.login_as(w.ids[role])
    if how.token == "new person":
        return (await w.api.person(ACCOUNT_ROLE[role], w.orgs[role]))[0]
    return w.tokens[role]


async def _multipart(w: World, path: str, token: str | None, data: bytes, headers: dict[str, str]) -> Reply:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="upload.bin")
    headers = headers | ({"Authorization": f"Bearer {token}"} if token else {})
    async with w.api.session.post(w.api.service.base_url + path, data=form, headers=headers) as resp:
        raw = await resp.read()
        return Reply(resp.status, json.loads(raw) if raw else None, resp.headers)


async def send(w: World, key: tuple[str, str, str], how: Send, role: str) -> tuple[Reply, str | None]:
    method, template, _ = key
    token = await _token(w, role, how)
    if how.url is not None:
        path = how.url(w, role)
    else:
        path = template
        for name in (part[1:-1] for part in template.split("/") if part.startswith("{")):
            path = path.replace(f"{{{name}}}", w.values[how.params.get(name, name)])
        if how.query is not None:
            path += "?" + how.query(w)
    headers = how.headers(w) if how.headers is not None else {}
    if how.upload is not None:
        return await _multipart(w, path, token, how.upload(w, role), headers), token
    body = await _resolve(how.body(w, role)) if how.body is not None else None
    return await w.api.call(method, path, token=token, json=body, headers=headers), token


# -- objects of a row's own (Send.prepare) -----------------------------------------


async def a_draft(w: World) -> dict[str, str]:
    return {"campaign_id": await w.new_campaign(publish=False)}


async def a_campaign(w: World) -> dict[str, str]:
    return {"campaign_id": await w.new_campaign(publish=True)}


async def a_task(w: World) -> dict[str, str]:
    return {"task_id": await w.new_task()}


async def a_task_the_volunteer_joined(w: World) -> dict[str, str]:
    task_id = await w.new_task(location=SPOT)
    await w.enroll(w.tokens["volunteer"], task_id)
    return {"task_id": task_id}


async def a_task_the_volunteer_checked_in_at(w: World) -> dict[str, str]:
    """A task needing check-out at SPOT: the volunteer enrolled and checked in."""
    task_id = await w.new_task(location=SPOT, checkin_required=True, checkout_required=True)
    await w.enroll(w.tokens["volunteer"], task_id)
    reply = await w.api.call("POST", f"/api/v1/tasks/{task_id}/checkin", token=w.tokens["volunteer"], json=AT_THE_SPOT)
    assert reply.status == 200, reply.body
    return {"task_id": task_id}


async def a_task_three_joined(w: World) -> dict[str, str]:
    """The volunteer, the owner and a bystander enrolled; only the caller's own enrollment may go."""
    task_id = await w.new_task()
    bystander, bystander_id = await w.api.person("volunteer", w.tree.east_village.id)
    for token in (w.tokens["volunteer"], w.owner[0], bystander):
        await w.enroll(token, task_id)
    return {"task_id": task_id, "bystander_id": str(bystander_id)}


async def a_quiz_task(w: World) -> dict[str, str]:
    """A quiz task of the east township (no quota: its audience may answer) and its bank."""
    for n in range(2):
        stem = f"宪法规定的国家宪法日是哪一天？（{w.api.service.base_url}-{n}-{time.monotonic_ns()}）"
        await Question.create(
            org_id=w.tree.east.id,
            type="single",
            stem=stem,
            stem_key=hashlib.sha256(stem.encode()).hexdigest(),
            options=["12月4日", "3月15日"],
            answer=[0],
            explanation="2014年起每年12月4日为国家宪法日",
            tags=["宪法"],
        )
    quiz = {"count": 2, "time_limit_s": 600, "attempts_per_day": 5, "pass_score": 50, "points": 3}
    return {"task_id": await w.new_task(quota=None, quiz=quiz)}


async def a_quiz_attempt(w: World) -> dict[str, str]:
    """The volunteer's open attempt at a quiz task."""
    values = await a_quiz_task(w)
    reply = await w.api.call("POST", f"/api/v1/tasks/{values['task_id']}/quiz/attempts", token=w.tokens["volunteer"])
    assert reply.status == 201, reply.body
    return values | {"attempt_id": reply.body["id"], "question_id": reply.body["questions"][0]["id"]}


async def a_pending_submission(w: World) -> dict[str, str]:
    """The owner's evidence for a task of its own, awaiting review."""
    return {"submission_id": await hand_in(w.api, w.owner[0], {"id": await w.new_task()}, seed=6)}


async def online_work(w: World) -> dict[str, str]:
    """Approved hand-ins of the owner and the volunteer to an online task of the row's own."""
    task = {"id": await w.new_task(online=ONLINE)}
    made = {}
    for name, token in (("submission_id", w.owner[0]), ("volunteer_submission_id", w.tokens["volunteer"])):
        assert token is not None
        made[name] = await hand_in_online(w.api, token, task, seed=9, post=time.monotonic_ns() % 10**17)
        review = await w.api.call(
            "POST", f"/api/v1/submissions/{made[name]}/review", token=w.staff, json={"decision": "approve"}
        )
        assert review.status == 200, review.body
    return made


def some_reach(w: World, role: str) -> dict:
    return {"views": 120, "likes": 3, "comments": 1, "shares": 0, "captured_at": iso(-timedelta(hours=1))}


def reach_as_seen(w: World, role: str, reply: Reply, token: str | None) -> None:
    """Whether a screenshot matches other people's is for staff to see, not the owner."""
    for snapshot in reply.body["items"] if "items" in reply.body else [reply.body]:
        assert (snapshot["duplicate_of"] is None) == (role in MEMBERS), "duplicate_of shown to the wrong side"


async def an_east_volunteer(w: World) -> dict[str, str]:
    return {"user_id": str((await w.api.person("volunteer", w.tree.east_village.id))[1])}


async def a_request(w: World) -> dict[str, str]:
    """A west villager's pending request to join the east village."""
    token, mover_id = await w.api.person("volunteer", w.tree.west_village.id)
    reply = await w.api.call("PATCH", "/api/v1/me", token=token, json={"org_id": str(w.tree.east_village.id)})
    assert reply.status == 200 and reply.body["pending_org"], reply.body
    return {"request_id": reply.body["pending_org"]["id"], "mover_id": str(mover_id)}


async def an_account(w: World) -> dict[str, str]:
    """A pending account of the owner's (an east villager), of the row's own."""
    body = {"platform": "douyin", "handle": f"owner-{time.monotonic_ns()}"}
    reply = await w.api.call("POST", "/api/v1/me/accounts", token=w.owner[0], json=body)
    assert reply.status == 201, reply.body
    return {"account_id": reply.body["id"]}


def my_accounts(w: World, role: str, reply: Reply, token: str | None) -> None:
    assert w.values["account_id"] not in ids_in(reply), "lists the owner's account to someone else"


def accounts_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    shown = ids_in(reply)
    if role == "other_staff":
        assert w.values["account_id"] not in shown, "west staff see an east villager's account"
    else:
        assert w.values["account_id"] in shown


async def owner_keeps_the_account(w: World) -> None:
    mine = await w.api.call("GET", "/api/v1/me/accounts", token=w.owner[0])
    assert [a["followers"] for a in mine.body["items"] if a["id"] == w.values["account_id"]] == [None]


async def the_owners_card(w: World) -> dict[str, str]:
    """The ref of the owner's share of the task, as a share card carries it."""
    reply = await w.api.call("POST", "/api/v1/share-links", token=w.owner[0], json={"task_id": w.values["task_id"]})
    assert reply.status == 201, reply.body
    return {"ref": reply.body["ref"]}


async def opens_counted_for_the_owner(w: World) -> None:
    """Each signed-in caller's open counted once, for the owner's card only."""
    reply = await w.api.call("GET", f"/api/v1/tasks/{w.values['task_id']}/share-stats", token=w.staff)
    assert reply.body["opens"] == len(ROLES) - 1, reply.body


async def a_certificate(w: World) -> dict[str, str]:
    """The serial of the volunteer's certificate (they have approved service hours)."""
    reply = await w.api.call("GET", "/api/v1/me/certificate.png", token=w.tokens["volunteer"])
    assert reply.status == 200, reply.body
    return {"serial": reply.headers["X-Certificate-Serial"]}


async def two_questions(w: World) -> dict[str, str]:
    """East questions of the row's own: one for the east staff to delete, one for the admin."""
    made = {}
    for name in ("question_id", "admin_question_id"):
        body = single(f"要删除的题{name}")
        reply = await w.api.call("POST", "/api/v1/questions", token=w.staff, json=body)
        assert reply.status == 201, reply.body
        made[name] = reply.body["id"]
    return made


def question_file(w: World, role: str) -> bytes:
    return csv_bytes([row("判断", f"导入的题（{role}）", [], "对")])


def bank_import_url(w: World, role: str) -> str:
    return "/api/v1/questions/import" + (f"?org_id={w.tree.east.id}" if role == "admin" else "")


def questions_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    shown = ids_in(reply)
    if role == "other_staff":
        assert w.values["question_id"] not in shown, "west staff list an east question"
    else:
        assert w.values["question_id"] in shown


def bank_imported(w: World, role: str, reply: Reply, token: str | None) -> None:
    assert reply.body == {"created": 1, "errors": []}


async def a_login_code(w: World) -> dict[str, str]:
    """The ticket of a console sign-in page's code, as the mini-program reads it from the scene."""
    ticket, _ = await open_scan_ticket()
    return {"ticket": ticket}


def a_claim(task_id: str) -> dict:
    """Hours served on a task of the world (each starts an hour ago): from an hour before it to half an hour ago."""
    return {"task_id": task_id, "started_at": iso(-timedelta(hours=2.5)), "ended_at": iso(-timedelta(minutes=30))}


async def a_task_to_make_up(w: World) -> dict[str, str]:
    return {"task_id": await w.new_task(title="补录用的任务")}


async def the_owners_hour_request(w: World) -> dict[str, str]:
    """The owner's make-up request for a task of its own, awaiting review."""
    task_id = await w.new_task(title="主人补录的任务")
    reply = await w.api.call("POST", "/api/v1/hour-requests", token=w.owner[0], json=a_claim(task_id))
    assert reply.status == 201, reply.body
    return {"hour_request_id": reply.body["id"]}


async def hour_requests_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    """Members list only their own, without the person; staff of another township see nothing of the east."""
    mine = {w.ids[role]} if role != "anon" else set()
    if role in MEMBERS or role == "other_staff":
        people = {int(r["user"]["id"]) for r in reply.body["items"] if r["user"]}
        assert people <= mine, "lists someone else's make-up request"
        if role in MEMBERS:
            assert all(r["user"] is None for r in reply.body["items"]), "the person's own view shows the person"


NO_NOTE: Callable[[World, str], dict] = lambda w, role: {}  # noqa: E731
NOTICE = {"title": "周六集合", "content": "请于周六上午九点到文化广场集合。"}


def notices_received(w: World, role: str, reply: Reply, token: str | None) -> None:
    """Members list the notices sent to them; staff, who receive none, list nothing."""
    shown = {n["id"] for n in reply.body["items"]}
    if role in MEMBERS:
        assert w.values["notice_id"] in shown, "a recipient does not list the notice"
        assert all(n["read_count"] is None for n in reply.body["items"]), "a recipient sees read counts"
    else:
        assert not shown, "lists notices sent to others"


def notices_sent_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    """Staff list the notices to their subtree only: the west township none of the east's."""
    shown = {n["id"] for n in reply.body["items"]}
    assert (w.values["notice_id"] in shown) == (role != "other_staff"), "the sent list crosses subtrees"


MESSAGE = {"category": "complain", "title": "路灯不亮", "content": "建设路口的路灯坏了一周"}


async def written(api: Api, writer: str | None) -> str:
    reply = await api.call("POST", "/api/v1/messages", token=writer, json=MESSAGE)
    assert reply.status == 201, reply.body
    return reply.body["id"]


async def moved(api: Api, token: str | None, message_id: str, action: str, body: dict | None = None) -> None:
    reply = await api.call("POST", f"/api/v1/messages/{message_id}/{action}", token=token, json=body or {})
    assert reply.status == 200, (action, reply.body)


async def handed_to(api: Api, county: str, writer: str | None, org_id: int, message_id: str | None = None) -> str:
    """A message of ``writer``'s (or the one given), accepted by the county and handed (交办) to ``org_id``."""
    message_id = message_id or await written(api, writer)
    await moved(api, county, message_id, "accept")
    await moved(api, county, message_id, "assign", {"org_id": str(org_id), "kind": "jiaoban"})
    return message_id


async def replied(w: World, message_id: str) -> None:
    """The east drafts the reply to a message handed to it, the county approves it."""
    await moved(w.api, w.staff, message_id, "draft-reply", {"content": "已修好"})
    await moved(w.api, w.values["county_token"], message_id, "approve-reply")


async def a_fresh_message(w: World) -> dict[str, str]:
    """The owner's message as written: the county's, not yet accepted."""
    return {"message_id": await written(w.api, w.owner[0])}


async def a_message_for_the_east(w: World) -> dict[str, str]:
    return {"message_id": await handed_to(w.api, w.values["county_token"], w.owner[0], w.tree.east.id)}


async def an_extension_asked(w: World) -> dict[str, str]:
    made = await a_message_for_the_east(w)
    await moved(w.api, w.staff, made["message_id"], "extend", {"days": 2, "reason": "需现场勘查"})
    return made


async def a_drafted_reply(w: World) -> dict[str, str]:
    made = await a_message_for_the_east(w)
    await moved(w.api, w.staff, made["message_id"], "draft-reply", {"content": "已修好"})
    return made


async def the_volunteers_replied(w: World) -> dict[str, str]:
    message_id = await handed_to(w.api, w.values["county_token"], w.tokens["volunteer"], w.tree.east.id)
    await replied(w, message_id)
    return {"message_id": message_id}


async def a_published_reply(w: World) -> dict[str, str]:
    """The owner's message, replied, shown with the owner's leave."""
    reply = await w.api.call("POST", "/api/v1/messages", token=w.owner[0], json=MESSAGE | {"public_ok": True})
    assert reply.status == 201, reply.body
    await handed_to(w.api, w.values["county_token"], None, w.tree.east.id, reply.body["id"])
    await replied(w, reply.body["id"])
    return {"message_id": reply.body["id"], "public_number": reply.body["number"]}


def others_photo_in_a_message(w: World, role: str) -> dict:
    return MESSAGE | {"media_ids": [w.values["spare_media_id"]]}


def messages_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    """Members list their own only; the west lists nothing of the east's; the writer shows to handlers."""
    shown = {m["id"]: m for m in reply.body["items"]}
    owners = w.values["message_id"]
    if role in ("staff", "admin"):
        assert owners in shown, "a handler does not list the message"
        assert shown[owners]["writer"]["id"] == str(w.owner[1])
    else:
        assert owners not in shown, "lists a message it may not read"
    if role in MEMBERS:
        assert all(m["writer"] is None and m["draft"] is None for m in shown.values()), "the writer's view leaks"


def message_as_seen(w: World, role: str, reply: Reply, token: str | None) -> None:
    """Handling staff see the writer and every step; the writer sees neither who they are nor the draft."""
    if role in MEMBERS:
        assert reply.body["writer"] is None and reply.body["draft"] is None and reply.body["home_org"] is None
        assert {e["action"] for e in reply.body["events"]} <= {"submit", "accept", "assign"}
    else:
        assert reply.body["writer"] is not None, "a handler does not see the writer"


def public_and_anonymous(w: World, role: str, reply: Reply, token: str | None) -> None:
    items = {m["number"]: m for m in reply.body["items"]}
    assert w.values["public_number"] in items, "a published reply the writer allowed is not shown"
    assert all(m["writer"] == "网友" and "id" not in m for m in items.values())


async def calendar_unchanged_but_by_the_admin(w: World) -> None:
    reply = await w.api.call("GET", "/api/v1/calendar/2026", token=w.staff)
    assert reply.body["holidays"] == ["2026-10-01"], reply.body


# -- bodies and URLs --------------------------------------------------------------


def roster(w: World, role: str) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["姓名", "手机号", "组织", "身份"])
    book.active.append(["新志愿者", f"1390000000{ROLES.index(role)}", "东村", "志愿者"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def a_photo(w: World, role: str) -> bytes:
    return encode(scene((320, 240), seed=5), "JPEG")


async def own_evidence(w: World, role: str) -> dict:
    return {"media_ids": [await w.photo(role)], "text": "活动照片"}


def whole_page(w: World) -> str:
    """Lists whose contents are checked: one page holds everything the module makes."""
    return "limit=100"


def east_org(w: World) -> str:
    return f"org_id={w.tree.east.id}&limit=100"


def _spare_file(w: World) -> tuple[str, dict[str, str]]:
    url = urlsplit(w.values["spare_media_url"])
    return url.path, dict(parse_qsl(url.query))


def signed_file(w: World, role: str) -> str:
    path, query = _spare_file(w)
    return f"{path}?{urlencode(query)}"


def unsigned_file(w: World, role: str) -> str:
    return _spare_file(w)[0]


def tampered_file(w: World, role: str) -> str:
    path, query = _spare_file(w)
    return f"{path}?{urlencode(query | {'e': str(int(query['e']) + 3600)})}"


PUSH = "/api/v1/wechat/push"


def _push_query() -> dict[str, str]:
    stamp, nonce = str(int(time.time())), secrets.token_hex(8)  # a fresh nonce each call: a replay is refused
    return {"timestamp": stamp, "nonce": nonce, "signature": sign(PUSH_TOKEN, stamp, nonce)}


def signed_url_check(w: World, role: str) -> str:
    return f"{PUSH}?{urlencode(_push_query() | {'echostr': f'echo-{role}'})}"


def forged_push(w: World, role: str) -> str:
    return f"{PUSH}?{urlencode(_push_query() | {'signature': '0' * 40})}"


# A signed event is an encrypted body plus signatures over it (safe mode, as configured): made together.
_SIGNED_EVENTS: dict[str, dict[str, str]] = {}


def signed_push(w: World, role: str) -> str:
    appid = w.api.wechat.appid
    event = {"ToUserName": "gh_wenming", "MsgType": "event", "Event": "wxa_media_check", "appid": appid}
    event |= {"CreateTime": int(time.time()), "trace_id": f"unknown-{role}", "result": {"suggest": "pass"}}
    encrypt = PrpCrypto(base64.b64decode(PUSH_AES_KEY + "=")).encrypt(json.dumps(event), appid).decode()
    query = _push_query()
    query |= {"encrypt_type": "aes", "msg_signature": sign(PUSH_TOKEN, query["timestamp"], query["nonce"], encrypt)}
    _SIGNED_EVENTS[role] = {"ToUserName": "gh_wenming", "Encrypt": encrypt}
    return f"{PUSH}?{urlencode(query)}"


# -- looking inside allowed answers (Send.check, Send.after) ------------------------


def ids_in(reply: Reply) -> set[str]:
    return {item["id"] for item in reply.body["items"]}


def is_me(w: World, role: str, reply: Reply, token: str | None) -> None:
    assert reply.body["id"] == str(w.ids[role]), "shows someone else's profile"


def my_export(w: World, role: str, reply: Reply, token: str | None) -> None:
    assert reply.body["user"]["id"] == str(w.ids[role]), "exports someone else's profile"
    assert w.values["spare_media_id"] not in {p["id"] for p in reply.body["photos"]}, "exports the owner's photo"
    assert w.values["submission_id"] not in {s["id"] for s in reply.body["submissions"]}, "exports owner's evidence"
    assert w.values["message_id"] not in {m["id"] for m in reply.body["messages"]}, "exports the owner's message"


async def my_ledger(w: World, role: str, reply: Reply, token: str | None) -> None:
    shown = [int(entry["id"]) for entry in reply.body["items"]]
    others = await LedgerEntry.filter(id__in=shown).exclude(user_id=w.ids[role]).count()
    assert others == 0, f"shows {others} ledger entries of other people"
    if role == "volunteer":
        assert shown, "the volunteer's own award is missing"


async def signed_out(w: World, role: str, reply: Reply, token: str | None) -> None:
    assert (await w.api.call("GET", "/api/v1/me", token=token)).status == 401, "the token still works"
    assert (await w.api.call("GET", "/api/v1/me", token=w.tokens[role])).status == 200, "other sessions ended too"


async def erased(w: World, role: str, reply: Reply, token: str | None) -> None:
    assert (await w.api.call("GET", "/api/v1/me", token=token)).status == 401, "the erased person is still in"
    assert (await w.api.call("GET", "/api/v1/me", token=w.tokens[role])).status == 200, "erased someone else"


async def owner_still_there(w: World) -> None:
    assert (await w.api.call("GET", "/api/v1/me", token=w.owner[0])).status == 200, "the owner was erased"


def org_requested(w: World, role: str, reply: Reply, token: str | None) -> None:
    """Members ask; the org they are in still counts. An admin (no org yet) simply chooses."""
    if role in MEMBERS:
        assert reply.body["org"]["id"] == str(w.orgs[role]), "moved without anyone's approval"
        assert reply.body["pending_org"]["org"]["id"] == str(w.tree.west_village.id)
    else:
        assert reply.body["org"]["id"] == str(w.tree.west_village.id)


def requests_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    shown = ids_in(reply)
    if role == "other_staff":
        assert w.values["request_id"] not in shown, "west staff see a request to join the east village"
    else:
        assert w.values["request_id"] in shown


async def mover_is_in_the_east(w: World) -> None:
    assert (await User.get(id=int(w.values["mover_id"]))).org_id == w.tree.east_village.id, "approval did not move"


async def mover_stays_in_the_west(w: World) -> None:
    assert (await User.get(id=int(w.values["mover_id"]))).org_id == w.tree.west_village.id, "refusal moved them"


def no_answers(w: World, role: str, reply: Reply, token: str | None) -> None:
    text = json.dumps(reply.body, ensure_ascii=False)
    assert not any(word in text for word in ("answer", "explanation", "correct", "2014年起")), "an answer leaks"


def not_replayed(w: World, role: str, reply: Reply, token: str | None) -> None:
    assert reply.body["id"] != w.values["spare_media_id"], "answered with the owner's upload"
    assert "Idempotent-Replayed" not in reply.headers


def no_drafts(w: World, role: str, reply: Reply, token: str | None) -> None:
    if role not in ("staff", "admin"):
        assert w.values["draft_campaign_id"] not in ids_in(reply), "lists a draft outside the caller's subtree"


def no_draft_tasks(w: World, role: str, reply: Reply, token: str | None) -> None:
    if role not in ("staff", "admin"):
        assert w.values["draft_task_id"] not in ids_in(reply), "lists a task of a draft campaign"


def member_view(w: World, role: str, reply: Reply, token: str | None) -> None:
    """Members see their own evidence without the reviewers' risk flags and photo locations."""
    for submission in reply.body["items"] if "items" in reply.body else [reply.body]:
        if role in MEMBERS:
            assert submission["user"]["id"] == str(w.ids[role]), f"shows submission {submission['id']} of another"
            assert submission["risk"] is None, "shows the reviewers' risk flags"
            assert all("lat" not in m for m in submission["media"]), "shows where the photos were taken"
        else:
            assert submission["risk"] is not None, "staff miss the risk flags"


def submissions_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    member_view(w, role, reply, token)
    east = {w.values["submission_id"], w.values["volunteer_submission_id"]}
    if role == "other_staff":
        assert not ids_in(reply) & east, "west staff see east submissions"
    elif role == "staff":
        assert east <= ids_in(reply)


def people_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    if role == "other_staff":
        west = {str(w.tree.west.id), str(w.tree.west_village.id)}
        outside = [u["id"] for u in reply.body["items"] if not u["org"] or u["org"]["id"] not in west]
        assert not outside, f"west staff see people outside the west township: {outside}"
    elif role == "staff":
        assert str(w.owner[1]) in ids_in(reply)


def queue_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    if role == "other_staff":
        assert w.values["submission_id"] not in ids_in(reply), "west staff get an east submission to review"
    elif role == "staff":
        assert w.values["submission_id"] in ids_in(reply)


def batch_in_scope(w: World, role: str, reply: Reply, token: str | None) -> None:
    sid = w.values["submission_id"]
    if role == "other_staff":
        assert reply.body == {"done": [], "failed": {sid: "not_found"}}, "west staff reviewed an east submission"
    elif role == "staff":
        assert reply.body["done"] == [sid]


def roster_imported(w: World, role: str, reply: Reply, token: str | None) -> None:
    if role == "other_staff":
        assert reply.body["created"] == 0 and len(reply.body["errors"]) == 1, "west staff imported into the east"
    else:
        assert reply.body["created"] == 1 and not reply.body["errors"]


def roster_of_the_task(w: World, role: str, reply: Reply, token: str | None) -> None:
    assert str(w.owner[1]) in {item["enrollment"]["user_id"] for item in reply.body["items"]}


def owner_anonymised(w: World, role: str, reply: Reply, token: str | None) -> None:
    shown = [item["user"]["id"] for item in reply.body["items"]]
    assert str(w.owner[1]) not in shown, "shows a person who asked to stay off the leaderboard"
    assert None in shown, "the hidden person's points are not counted"


async def only_own_enrollment_withdrawn(w: World) -> None:
    rows = await Enrollment.filter(task_id=int(w.values["task_id"])).values_list("user_id", "status")
    statuses = dict(rows)
    assert statuses[w.ids["volunteer"]] == "withdrawn"
    assert statuses[w.owner[1]] == "enrolled", "withdrew the owner's enrollment"
    assert statuses[int(w.values["bystander_id"])] == "enrolled", "withdrew a bystander's enrollment"


DRAFT_CAMPAIGN = {"campaign_id": "draft_campaign_id"}
DRAFT_TASK = {"task_id": "draft_task_id"}
AT_THE_SPOT = {"lat": SPOT["lat"], "lng": SPOT["lng"]}


def east_signer(w: World, role: str) -> str:
    return f"/api/v1/orgs/{w.tree.east.id}/certificate"


def _title(title: str) -> Callable[[World, str], dict]:
    return lambda w, role: {"title": title}


HOW: dict[tuple[str, str, str], Send] = {
    ("POST", "/api/v1/auth/wechat-login", ""): Send(body=lambda w, role: {"code": w.api.wechat.issue_code()}),
    ("POST", "/api/v1/auth/phone", ""): Send(
        body=lambda w, role: {"code": w.api.wechat.issue_phone_code(f"1380013800{ROLES.index(role)}")}
    ),
    ("POST", "/api/v1/auth/logout", ""): Send(token="second sign-in", check=signed_out),
    ("GET", "/api/v1/me", ""): Send(check=is_me),
    ("PATCH", "/api/v1/me", ""): Send(body=lambda w, role: {"nickname": "新昵称"}, check=is_me),
    ("PATCH", "/api/v1/me", "another org"): Send(
        token="new person", body=lambda w, role: {"org_id": str(w.tree.west_village.id)}, check=org_requested
    ),
    ("PATCH", "/api/v1/me", "others' photo as avatar"): Send(
        body=lambda w, role: {"avatar_media_id": w.values["spare_media_id"]}
    ),
    ("DELETE", "/api/v1/me", ""): Send(token="new person", check=erased, after=owner_still_there),
    ("GET", "/api/v1/me/export", ""): Send(check=my_export),
    ("GET", "/api/v1/me/points", ""): Send(query=whole_page, check=my_ledger),
    ("GET", "/api/v1/certificates/{serial}", ""): Send(prepare=a_certificate),
    ("POST", "/api/v1/console/tickets/{ticket}/confirm", ""): Send(prepare=a_login_code),
    ("POST", "/api/v1/orgs", "under east"): Send(
        body=lambda w, role: {"name": f"新村{ROLES.index(role)}", "kind": "village", "parent_id": str(w.tree.east.id)}
    ),
    ("GET", "/api/v1/orgs/{org_id}/certificate", "east"): Send(url=east_signer),
    ("PUT", "/api/v1/orgs/{org_id}/certificate", "east"): Send(
        url=east_signer, body=lambda w, role: {"leader": "王建国", "handler": "李红", "contact": "0734-6123456"}
    ),
    ("GET", "/api/v1/users", ""): Send(query=whole_page, check=people_in_scope),
    ("GET", "/api/v1/users", "org_id=east"): Send(query=east_org, check=people_in_scope),
    ("PATCH", "/api/v1/users/{user_id}", "make influencer"): Send(
        prepare=an_east_volunteer, body=lambda w, role: {"role": "influencer"}
    ),
    ("PATCH", "/api/v1/users/{user_id}", "make staff"): Send(
        prepare=an_east_volunteer, body=lambda w, role: {"role": "staff"}
    ),
    ("PATCH", "/api/v1/users/{user_id}", "move to west"): Send(
        prepare=an_east_volunteer, body=lambda w, role: {"org_id": str(w.tree.west_village.id)}
    ),
    ("POST", "/api/v1/users/{user_id}/honour-hours", ""): Send(body=lambda w, role: {"hours": 1, "reason": "年度表彰"}),
    ("POST", "/api/v1/users/import", ""): Send(upload=roster, check=roster_imported),
    ("GET", "/api/v1/questions", ""): Send(query=whole_page, check=questions_in_scope),
    ("POST", "/api/v1/questions", "for east"): Send(
        body=lambda w, role: single(f"新题（{role}）", org_id=str(w.tree.east.id))
    ),
    ("PATCH", "/api/v1/questions/{question_id}", ""): Send(body=lambda w, role: {"difficulty": 2}),
    ("DELETE", "/api/v1/questions/{question_id}", ""): Send(
        prepare=two_questions,
        url=lambda w, role: f"/api/v1/questions/{w.values['admin_question_id' if role == 'admin' else 'question_id']}",
    ),
    ("POST", "/api/v1/questions/import", ""): Send(upload=question_file, url=bank_import_url, check=bank_imported),
    ("GET", "/api/v1/org-requests", ""): Send(prepare=a_request, query=whole_page, check=requests_in_scope),
    ("POST", "/api/v1/org-requests/{request_id}/approve", ""): Send(
        prepare=a_request, body=lambda w, role: {}, after=mover_is_in_the_east
    ),
    ("POST", "/api/v1/org-requests/{request_id}/refuse", ""): Send(
        prepare=a_request, body=lambda w, role: {"reason": "不在本村居住"}, after=mover_stays_in_the_west
    ),
    ("POST", "/api/v1/me/accounts", ""): Send(
        body=lambda w, role: {"platform": "kuaishou", "handle": f"{role}-handle", "followers": 10}
    ),
    ("GET", "/api/v1/me/accounts", ""): Send(check=my_accounts),
    ("PATCH", "/api/v1/me/accounts/{account_id}", "the owner's"): Send(
        body=lambda w, role: {"followers": 99}, after=owner_keeps_the_account
    ),
    ("DELETE", "/api/v1/me/accounts/{account_id}", "the owner's"): Send(after=owner_keeps_the_account),
    ("GET", "/api/v1/accounts", ""): Send(query=whole_page, check=accounts_in_scope),
    ("POST", "/api/v1/accounts/{account_id}/verify", ""): Send(
        prepare=an_account, body=lambda w, role: {"decision": "verify"}
    ),
    ("POST", "/api/v1/share-links", "published"): Send(body=lambda w, role: {"task_id": w.values["task_id"]}),
    ("POST", "/api/v1/share-links", "draft"): Send(body=lambda w, role: {"task_id": w.values["draft_task_id"]}),
    ("POST", "/api/v1/share-opens", "the owner's card"): Send(
        prepare=the_owners_card, body=lambda w, role: {"ref": w.values["ref"]}, after=opens_counted_for_the_owner
    ),
    ("GET", "/api/v1/campaigns", ""): Send(query=whole_page, check=no_drafts),
    ("POST", "/api/v1/campaigns", "for east"): Send(body=lambda w, role: campaign_body(w.tree.east.id)),
    ("POST", "/api/v1/campaigns", "others' photo as cover"): Send(
        # For the caller's own org, so that the photo is the only thing wrong.
        body=lambda w, role: campaign_body(
            w.orgs.get(role) or w.tree.east.id, cover_media_id=w.values["spare_media_id"]
        )
    ),
    ("GET", "/api/v1/campaigns/{campaign_id}", "draft"): Send(params=DRAFT_CAMPAIGN),
    ("PATCH", "/api/v1/campaigns/{campaign_id}", "published"): Send(body=_title("改过的标题")),
    ("PATCH", "/api/v1/campaigns/{campaign_id}", "draft"): Send(params=DRAFT_CAMPAIGN, body=_title("改过的标题")),
    ("POST", "/api/v1/campaigns/{campaign_id}/publish", "draft"): Send(prepare=a_draft),
    ("POST", "/api/v1/campaigns/{campaign_id}/close", "published"): Send(prepare=a_campaign),
    ("POST", "/api/v1/campaigns/{campaign_id}/tasks", "published"): Send(body=lambda w, role: task_body()),
    ("POST", "/api/v1/campaigns/{campaign_id}/tasks", "draft"): Send(
        params=DRAFT_CAMPAIGN, body=lambda w, role: task_body()
    ),
    ("GET", "/api/v1/tasks", ""): Send(query=whole_page, check=no_draft_tasks),
    ("GET", "/api/v1/tasks/{task_id}", "draft"): Send(params=DRAFT_TASK),
    ("PATCH", "/api/v1/tasks/{task_id}", ""): Send(body=_title("改过的任务")),
    ("POST", "/api/v1/tasks/{task_id}/cancel", ""): Send(prepare=a_task),
    ("POST", "/api/v1/tasks/{task_id}/enroll", "published"): Send(prepare=a_task),
    ("POST", "/api/v1/tasks/{task_id}/enroll", "draft"): Send(params=DRAFT_TASK),
    ("DELETE", "/api/v1/tasks/{task_id}/enroll", ""): Send(
        prepare=a_task_three_joined, after=only_own_enrollment_withdrawn
    ),
    ("POST", "/api/v1/tasks/{task_id}/checkin", "published"): Send(
        prepare=a_task_the_volunteer_joined, body=lambda w, role: AT_THE_SPOT
    ),
    ("POST", "/api/v1/tasks/{task_id}/checkin", "draft"): Send(params=DRAFT_TASK, body=lambda w, role: AT_THE_SPOT),
    ("GET", "/api/v1/tasks/{task_id}/enrollments", ""): Send(query=whole_page, check=roster_of_the_task),
    ("POST", "/api/v1/tasks/{task_id}/checkout", ""): Send(
        prepare=a_task_the_volunteer_checked_in_at, body=lambda w, role: AT_THE_SPOT
    ),
    ("POST", "/api/v1/tasks/{task_id}/quiz/attempts", ""): Send(prepare=a_quiz_task, check=no_answers),
    ("PUT", "/api/v1/quiz-attempts/{attempt_id}/answers/{question_id}", "the volunteer's"): Send(
        prepare=a_quiz_attempt, body=lambda w, role: {"choice": [0]}
    ),
    ("POST", "/api/v1/quiz-attempts/{attempt_id}/finish", "the volunteer's"): Send(prepare=a_quiz_attempt),
    ("GET", "/api/v1/quiz-attempts/{attempt_id}", "the volunteer's"): Send(prepare=a_quiz_attempt),
    ("GET", "/api/v1/tasks/{task_id}/quiz/stats", ""): Send(prepare=a_quiz_task),
    ("POST", "/api/v1/media", ""): Send(upload=a_photo),
    ("POST", "/api/v1/media", "others' Idempotency-Key"): Send(
        upload=a_photo, headers=lambda w: {"Idempotency-Key": w.values["spare_media_key"]}, check=not_replayed
    ),
    ("GET", "/media/files/{key}", "signed"): Send(url=signed_file),
    ("GET", "/media/files/{key}", "unsigned"): Send(url=unsigned_file),
    ("GET", "/media/files/{key}", "expiry tampered"): Send(url=tampered_file),
    ("POST", "/api/v1/tasks/{task_id}/submissions", "own photo"): Send(
        prepare=a_task_the_volunteer_joined, body=own_evidence, check=member_view
    ),
    ("POST", "/api/v1/tasks/{task_id}/submissions", "others' photo"): Send(
        prepare=a_task_the_volunteer_joined,
        body=lambda w, role: {"media_ids": [w.values["spare_media_id"]], "text": "活动照片"},
    ),
    ("GET", "/api/v1/submissions", ""): Send(query=whole_page, check=submissions_in_scope),
    ("GET", "/api/v1/submissions/{submission_id}", "the owner's"): Send(check=member_view),
    ("GET", "/api/v1/submissions/{submission_id}", "the volunteer's"): Send(
        params={"submission_id": "volunteer_submission_id"}, check=member_view
    ),
    ("POST", "/api/v1/submissions/{submission_id}/reach", "the owner's"): Send(
        prepare=online_work, body=some_reach, check=reach_as_seen
    ),
    ("POST", "/api/v1/submissions/{submission_id}/reach", "the volunteer's"): Send(
        prepare=online_work, params={"submission_id": "volunteer_submission_id"}, body=some_reach, check=reach_as_seen
    ),
    ("GET", "/api/v1/submissions/{submission_id}/reach", "the volunteer's"): Send(
        params={"submission_id": "volunteer_submission_id"}, check=reach_as_seen
    ),
    ("POST", "/api/v1/submissions/{submission_id}/repost", "the owner's"): Send(
        prepare=online_work, body=lambda w, role: {"level": "city", "url": "https://www.example.gov.cn/a/1.html"}
    ),
    ("GET", "/api/v1/submissions/{submission_id}/reposts", "the owner's"): Send(prepare=online_work),
    ("GET", "/api/v1/review/queue", ""): Send(query=whole_page, check=queue_in_scope),
    ("POST", "/api/v1/submissions/{submission_id}/review", ""): Send(
        prepare=a_pending_submission, body=lambda w, role: {"decision": "approve"}
    ),
    ("POST", "/api/v1/review/batch", ""): Send(
        prepare=a_pending_submission,
        body=lambda w, role: {"ids": [w.values["submission_id"]], "decision": "approve"},
        check=batch_in_scope,
    ),
    ("GET", "/api/v1/leaderboard", ""): Send(query=whole_page, check=owner_anonymised),
    ("GET", "/api/v1/reports/participation.xlsx", "org_id=east"): Send(query=east_org),
    ("POST", "/api/v1/hour-requests", ""): Send(
        prepare=a_task_to_make_up, body=lambda w, role: a_claim(w.values["task_id"])
    ),
    ("POST", "/api/v1/hour-requests", "others' photo"): Send(
        prepare=a_task_to_make_up,
        body=lambda w, role: a_claim(w.values["task_id"]) | {"media_ids": [w.values["spare_media_id"]]},
    ),
    ("GET", "/api/v1/hour-requests", ""): Send(
        prepare=the_owners_hour_request, query=whole_page, check=hour_requests_in_scope
    ),
    ("GET", "/api/v1/hour-requests/{hour_request_id}", "the owner's"): Send(prepare=the_owners_hour_request),
    ("POST", "/api/v1/hour-requests/{hour_request_id}/review", "the owner's"): Send(
        prepare=the_owners_hour_request, body=lambda w, role: {"decision": "approve"}
    ),
    ("POST", "/api/v1/messages", ""): Send(body=lambda w, role: MESSAGE),
    ("POST", "/api/v1/messages", "others' photo"): Send(body=others_photo_in_a_message),
    ("GET", "/api/v1/messages", ""): Send(query=whole_page, check=messages_in_scope),
    ("GET", "/api/v1/messages/{message_id}", "the owner's"): Send(check=message_as_seen),
    ("GET", "/api/v1/messages/{message_id}", "the volunteer's"): Send(
        params={"message_id": "volunteer_message_id"}, check=message_as_seen
    ),
    ("GET", "/api/v1/messages/{message_id}", "just written, the county's"): Send(
        prepare=a_fresh_message, check=message_as_seen
    ),
    ("GET", "/api/v1/public/messages", ""): Send(prepare=a_published_reply, check=public_and_anonymous),
    ("POST", "/api/v1/messages/{message_id}/accept", "just written, the county's"): Send(
        prepare=a_fresh_message, body=NO_NOTE
    ),
    ("POST", "/api/v1/messages/{message_id}/reject", "just written, the county's"): Send(
        prepare=a_fresh_message, body=lambda w, role: {"reason": "不属于本县管辖"}
    ),
    ("POST", "/api/v1/messages/{message_id}/assign", "held by the east"): Send(
        prepare=a_message_for_the_east,
        body=lambda w, role: {"org_id": str(w.tree.east_village.id), "kind": "jiaoban"},
    ),
    ("POST", "/api/v1/messages/{message_id}/return", "held by the east"): Send(
        prepare=a_message_for_the_east, body=lambda w, role: {"reason": "不归本镇管"}
    ),
    ("POST", "/api/v1/messages/{message_id}/extend", "held by the east"): Send(
        prepare=a_message_for_the_east, body=lambda w, role: {"days": 2, "reason": "需现场勘查"}
    ),
    ("POST", "/api/v1/messages/{message_id}/approve-extension", "asked by the east"): Send(
        prepare=an_extension_asked, body=NO_NOTE
    ),
    ("POST", "/api/v1/messages/{message_id}/draft-reply", "held by the east"): Send(
        prepare=a_message_for_the_east, body=lambda w, role: {"content": "已安排维修"}
    ),
    ("POST", "/api/v1/messages/{message_id}/approve-reply", "drafted by the east"): Send(
        prepare=a_drafted_reply, body=NO_NOTE
    ),
    ("POST", "/api/v1/messages/{message_id}/supervise", "held by the east"): Send(
        prepare=a_message_for_the_east, body=lambda w, role: {"note": "请加快办理"}
    ),
    ("POST", "/api/v1/messages/{message_id}/rate", "the volunteer's, replied"): Send(
        prepare=the_volunteers_replied, body=lambda w, role: {"rating": "satisfied"}
    ),
    ("POST", "/api/v1/notices", "to the east"): Send(body=lambda w, role: NOTICE | {"org_id": str(w.tree.east.id)}),
    ("GET", "/api/v1/notices", ""): Send(query=whole_page, check=notices_received),
    ("GET", "/api/v1/notices", "sent=1"): Send(query=lambda w: "sent=1&limit=100", check=notices_sent_in_scope),
    ("GET", "/api/v1/notices/{notice_id}", "to influencers only"): Send(params={"notice_id": "influencer_notice_id"}),
    ("POST", "/api/v1/notices/{notice_id}/read", "to influencers only"): Send(
        params={"notice_id": "influencer_notice_id"}
    ),
    ("GET", "/api/v1/calendar/{year}", ""): Send(url=lambda w, role: "/api/v1/calendar/2026"),
    ("PUT", "/api/v1/calendar/{year}", ""): Send(
        url=lambda w, role: "/api/v1/calendar/2026",
        body=lambda w, role: {"holidays": ["2026-10-01"], "workdays": ["2026-10-10"]},
        after=calendar_unchanged_but_by_the_admin,
    ),
    ("GET", "/api/v1/reports/participation.csv", "org_id=east"): Send(query=east_org),
    ("GET", "/api/v1/reports/messages.xlsx", "org_id=east"): Send(query=east_org),
    ("GET", "/api/v1/wechat/push", "unsigned"): Send(url=lambda w, role: f"{PUSH}?echostr=hello"),
    ("GET", "/api/v1/wechat/push", "signed"): Send(url=signed_url_check),
    ("POST", "/api/v1/wechat/push", "unsigned"): Send(body=lambda w, role: {"ToUserName": "gh", "Encrypt": "x"}),
    ("POST", "/api/v1/wechat/push", "forged signature"): Send(
        url=forged_push, body=lambda w, role: {"ToUserName": "gh", "Encrypt": "x"}
    ),
    ("POST", "/api/v1/wechat/push", "signed"): Send(url=signed_push, body=lambda w, role: _SIGNED_EVENTS[role]),
    ("GET", "/metrics", "forwarded, proxy not trusted"): Send(headers=lambda w: {"X-Forwarded-For": "203.0.113.9"}),
}


# -- the tests ----------------------------------------------------------------------


def label(key: tuple[str, str, str]) -> str:
    method, path, case = key
    return f"{method} {path}" + (f" [{case}]" if case else "")


def matches(expected: Outcome, reply: Reply) -> bool:
    if expected is OK:
        return 200 <= reply.status < 300 or reply.status in (400, 409)
    if isinstance(expected, tuple):
        return (reply.status, reply.error_code) == expected
    return reply.status == expected


def described(expected: Outcome) -> str:
    if expected is OK:
        return "allowed (2xx, or 400/409 about the body)"
    return " ".join(map(str, expected)) if isinstance(expected, tuple) else str(expected)


def answer(reply: Reply) -> str:
    if isinstance(reply.body, dict) and "error" in reply.body:
        return f"{reply.status} {reply.error_code} ({reply.body['error'].get('message')})"
    return f"{reply.status} {str(reply.body)[:100]}"


@pytest.mark.parametrize("key", list(TABLE), ids=[label(k) for k in TABLE])
async def test_route_as_every_role(world: World, key: tuple[str, str, str]) -> None:
    how = HOW.get(key, Send())
    w = dataclasses.replace(world, values=world.values | await how.prepare(world)) if how.prepare else world
    expected = dict(zip(ROLES, TABLE[key], strict=True))
    problems = []
    for role in CALL_ORDER:
        reply, token = await send(w, key, how, role)
        if not matches(expected[role], reply):
            problems.append(f"{role}: expected {described(expected[role])}, got {answer(reply)}")
        elif how.check is not None and 200 <= reply.status < 300:
            try:
                await _resolve(how.check(w, role, reply, token))
            except AssertionError as exc:
                problems.append(f"{role}: allowed as expected, but {exc}")
    if how.after is not None:
        try:
            await how.after(w)
        except AssertionError as exc:
            problems.append(f"afterwards: {exc}")
    if problems:
        pytest.fail(f"{label(key)}\n  " + "\n  ".join(problems), pytrace=False)


async def test_every_spec_route_has_a_row(world: World) -> None:
    """A route added later without a row in TABLE fails here (and so does a row for a route that is gone)."""
    # `world`, not `api`: the api fixture would empty the database under the module's world.
    spec = (await world.api.call("GET", "/docs/openapi.json")).body
    methods = {"get", "put", "post", "patch", "delete", "head", "options"}
    in_spec = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if not path.startswith("/docs")
        for method in operations
        if method in methods
    }
    in_table = {(method, path) for method, path, _ in TABLE}
    assert sorted(in_spec - in_table) == [], "routes in the spec without a row in TABLE"
    assert sorted(in_table - in_spec) == [], "rows in TABLE for routes the spec does not have"
    assert sorted(map(label, HOW.keys() - TABLE.keys())) == [], "HOW says how to call rows TABLE does not have"
    assert all(len(outcomes) == len(ROLES) for outcomes in TABLE.values())
