"""Shared helpers: an org tree, campaigns, tasks and submissions made through the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models.orgs import Org, create_org
from models.reach import Reach, add_snapshot
from models.submissions import get_submission
from models.users import User
from tests.images import encode, scene

CAMPAIGNS = "/api/v1/campaigns"
TASKS = "/api/v1/tasks"

# A real-looking spot (a county seat in Zhejiang) for location tests.
SPOT = {"name": "村文化礼堂", "lat": 30.0, "lng": 120.0, "radius_m": 100}


def iso(delta: timedelta = timedelta(0)) -> str:
    """Now plus ``delta`` as ISO 8601 with an offset."""
    return (datetime.now(UTC) + delta).isoformat()


@dataclass
class Tree:
    """County → two townships (east, west) → a village under each."""

    county: Org
    east: Org
    west: Org
    east_village: Org
    west_village: Org


async def org_tree() -> Tree:
    county = await create_org("县", "county", None)
    east = await create_org("东镇", "township", county.id)
    west = await create_org("西镇", "township", county.id)
    east_village = await create_org("东村", "village", east.id)
    west_village = await create_org("西村", "village", west.id)
    return Tree(county, east, west, east_village, west_village)


def campaign_body(org_id: int | str, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "网络大V进乡村",
        "kind": "village_visit",
        "description": "走进美丽乡村",
        "org_id": str(org_id),
        # Wide enough to hold the tasks tests date days in the past (ended, evidence windows).
        "starts_at": iso(-timedelta(days=10)),
        "ends_at": iso(timedelta(days=30)),
    }
    body.update(overrides)
    return body


def task_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "title": "拍摄村貌",
        "description": "拍三张照片",
        "starts_at": iso(-timedelta(hours=1)),
        "ends_at": iso(timedelta(days=7)),
        "quota": 10,
        "points": 5,
        "service_hours": "2",
        "min_photos": 1,
        "max_photos": 3,
    }
    body.update(overrides)
    return body


async def make_campaign(api: Any, token: str, org_id: int | str, *, publish: bool = True, **overrides: Any) -> dict:
    """A campaign (published unless told) created by ``token``'s staff user; returns its JSON."""
    reply = await api.call("POST", CAMPAIGNS, token=token, json=campaign_body(org_id, **overrides))
    assert reply.status == 201, reply.body
    if publish:
        reply = await api.call("POST", f"{CAMPAIGNS}/{reply.body['id']}/publish", token=token)
        assert reply.status == 200, reply.body
    return reply.body


async def make_task(api: Any, token: str, campaign_id: int | str, **overrides: Any) -> dict:
    """A task in the campaign; returns its JSON."""
    reply = await api.call("POST", f"{CAMPAIGNS}/{campaign_id}/tasks", token=token, json=task_body(**overrides))
    assert reply.status == 201, reply.body
    return reply.body


async def published_task(api: Any, staff_token: str, org_id: int | str, **overrides: Any) -> dict:
    """A task in a freshly published campaign of ``org_id``."""
    campaign = await make_campaign(api, staff_token, org_id)
    return await make_task(api, staff_token, campaign["id"], **overrides)


async def hand_in(api: Any, token: str, task: dict, seed: int = 0) -> str:
    """Enroll ``token``'s person, upload a photo and submit it; returns the submission id."""
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    upload = await api.upload(token, encode(scene((320, 240), seed=seed), "JPEG"))
    body = {"media_ids": [upload.body["id"]], "text": "活动照片"}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    return reply.body["id"]


def online_body(**settings: Any) -> dict[str, Any]:
    """A task's ``online`` settings: a douyin post, plus ``settings``."""
    return {"platforms": ["douyin"], **settings}


async def approved_online_work(api: Any, staff: str, task: dict, token: str, *, seed: int, **reach: int) -> str:
    """Online work of ``token``'s person: handed in with a douyin link, approved by ``staff``, then its
    ``reach`` (views, likes, comments, shares) recorded by its author. Returns the submission id."""
    assert (await api.call("POST", f"{TASKS}/{task['id']}/enroll", token=token)).status == 201
    upload = await api.upload(token, encode(scene((320, 240), seed=seed), "JPEG"))
    link = f"https://www.douyin.com/video/7300000000000{seed:06d}"
    body = {"media_ids": [upload.body["id"]], "text": "发布了家乡短视频", "links": [link]}
    reply = await api.call("POST", f"{TASKS}/{task['id']}/submissions", token=token, json=body)
    assert reply.status == 201, reply.body
    sid = reply.body["id"]
    review = await api.call("POST", f"/api/v1/submissions/{sid}/review", token=staff, json={"decision": "approve"})
    assert review.status == 200, review.body
    # Taken a day back, so a later snapshot of today is later in any storage: SQLite keeps these
    # moments as local-time text and compares them as text with the query's UTC text.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await record_reach(api, sid, captured_at=yesterday, **reach)
    return sid


async def record_reach(api: Any, submission_id: str, *, captured_at: datetime | None = None, **counts: int) -> None:
    """A reach snapshot (``views`` and maybe ``likes``, ``comments``, ``shares``) of the submission,
    taken now unless told, recorded by its author."""
    submission = await get_submission(int(submission_id))
    assert submission is not None
    author = await User.get(id=submission.user_id).select_related("org")
    given = {"likes": 0, "comments": 0, "shares": 0} | counts
    reach = Reach(**given, captured_at=captured_at or datetime.now(UTC))
    await add_snapshot(submission, author, reach, api.service.services.effects)


# The moves of netizen messages as the contract lists them, (status, action) → the status after,
# written out by hand rather than read from models.messages.MOVES.
CONTRACT_MOVES = {
    ("submitted", "accept"): "accepted",
    ("submitted", "reject"): "rejected",
    ("accepted", "reject"): "rejected",
    ("returned", "reject"): "rejected",
    ("accepted", "assign"): "assigned",
    ("assigned", "assign"): "assigned",
    ("returned", "assign"): "assigned",
    ("assigned", "return"): "returned",
    ("assigned", "extend"): "assigned",
    ("replying", "extend"): "replying",
    ("assigned", "approve-extension"): "assigned",
    ("replying", "approve-extension"): "replying",
    ("assigned", "draft-reply"): "replying",
    ("replying", "draft-reply"): "replying",
    ("replying", "approve-reply"): "replied",
    ("replied", "rate"): "closed",
    ("accepted", "supervise"): "accepted",
    ("assigned", "supervise"): "assigned",
    ("replying", "supervise"): "replying",
    ("returned", "supervise"): "returned",
}
