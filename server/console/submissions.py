"""A submission's online work: its links, its reach over time, staff corrections and official reposts.

Staff of the task's subtree (``server.web.permissions.reviewable``, as the review page) see the
snapshots in time order with a chart of views, correct the reach (``models.reach.add_snapshot`` with
the staff member as actor: a correction, audited) and record an official site's repost
(``models.reach.record_repost``: the level's bonus once). A refused step is said on the page, in
Chinese, beside its form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from media.storage import Storage
from models.console import ConsoleSession
from models.ledger import LedgerEntry
from models.online_links import PLATFORM_NAMES, LinkError, normalise, platform_of
from models.reach import (
    COUNT_NAMES,
    COUNTS,
    REPOST_LEVELS,
    REPOST_NAMES,
    Reach,
    ReachSnapshot,
    add_snapshot,
    record_repost,
    reposts_of,
    snapshots_of,
    tiers_reached,
)
from models.submissions import Submission
from models.users import User
from server.console.forms import form_values, parse_local_datetime
from server.console.guard import console_page
from server.console.render import local_time, page
from server.console.review import STATUS_NAMES
from server.kernel.errors import ApiError, InvalidRequest, NotFound
from server.web.permissions import reviewable
from server.web.services import services_of

bp = Blueprint("console_submissions", url_prefix="/console/submissions")

REACH_LABELS = {"captured_at": "截图时间", **{name: COUNT_NAMES[name] for name in COUNTS}}
REPOST_LABELS = {"level": "转载级别", "url": "转载链接"}
MAX_COUNT = 10**12  # more views than people on earth, many times over: a typing slip
DONE = {"reach": "已更正传播数据", "repost": "已记录官方转载"}


@dataclass(frozen=True)
class Shot:
    """One snapshot as its row shows it."""

    snapshot: ReachSnapshot
    thumb_url: str | None
    original_url: str | None
    recorder: str


async def _submission(user: User, submission_id: int) -> Submission:
    found = await reviewable(user, [submission_id])
    if submission_id not in found:
        raise NotFound("提交不存在或不在您的管辖范围内")
    return found[submission_id]


def _shots(snapshots: list[ReachSnapshot], storage: Storage) -> list[Shot]:
    shots = []
    for snap in snapshots:
        media = snap.media
        shown = media is not None and not media.erased
        recorder = snap.recorded_by
        name = (recorder.name_on_record or recorder.nickname) if recorder else "（已注销）"
        shots.append(
            Shot(
                snap,
                storage.url(media.thumb_key) if shown else None,
                storage.url(media.original_key) if shown else None,
                name or "（未填写）",
            )
        )
    return shots


def chart_data(snapshots: list[ReachSnapshot]) -> dict[str, Any]:
    """What static/reach.js draws: views (and likes) at each capture, as JSON in the page."""
    return {
        "labels": [local_time(s.captured_at, "%m-%d %H:%M") for s in snapshots],
        "views": [s.views for s in snapshots],
        "likes": [s.likes for s in snapshots],
    }


async def _page(request: Request, submission: Submission, status: int = 200, **extra: Any) -> HTTPResponse:
    storage = services_of(request).storage
    snapshots = await snapshots_of(submission.id)
    online = submission.task.online or {}
    bonuses = await LedgerEntry.filter(bonus_of=submission.id).order_by("id")
    context: dict[str, Any] = {
        "reach_values": {},
        "reach_errors": {},
        "reach_error": "",
        "repost_values": {},
        "repost_errors": {},
        "repost_error": "",
        **extra,
    }
    return await page(
        request,
        "submission.html",
        status=status,
        title=f"提交 #{submission.id} 传播数据",
        s=submission,
        online=online,
        links=[(url, PLATFORM_NAMES.get(platform_of(url) or "", "其他网站")) for url in submission.links or []],
        shots=_shots(snapshots, storage),
        chart=chart_data(snapshots),
        reached={t["views"] for t in tiers_reached(online, submission.views)},
        reposts=await reposts_of(submission.id),
        bonuses=bonuses,
        status_names=STATUS_NAMES,
        platform_names=PLATFORM_NAMES,
        repost_names=REPOST_NAMES,
        count_names=COUNT_NAMES,
        reach_labels=REACH_LABELS,
        repost_labels=REPOST_LABELS,
        done=DONE.get(request.args.get("done", ""), ""),
        **context,
    )


@bp.get("/<submission_id:int>")
@console_page
async def detail(request: Request, submission_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    return await _page(request, await _submission(user, submission_id))


def reach_of(values: dict[str, str]) -> Reach:
    """更正传播数据 as typed: a time as people type it and four counts (empty 点赞/评论/转发 = 0)."""
    errors: dict[str, str] = {}
    captured_at = None
    if not values.get("captured_at"):
        errors["captured_at"] = "必填"
    else:
        try:
            captured_at = parse_local_datetime(values["captured_at"])
        except ValueError as exc:
            errors["captured_at"] = str(exc)
    counts = {}
    for name in COUNTS:
        text = values.get(name, "").replace(",", "").replace("，", "")
        if not text and name != "views":
            text = "0"
        if not text:
            errors[name] = "必填"
        elif not text.isascii() or not text.isdigit():
            errors[name] = "请填写不小于 0 的整数"
        elif int(text) > MAX_COUNT:
            errors[name] = "数字过大，请核对"
        else:
            counts[name] = int(text)
    if errors or captured_at is None:
        raise InvalidRequest.fields(errors, "请修改标红的内容后再保存")
    return Reach(captured_at=captured_at, **counts)


@bp.post("/<submission_id:int>/reach")
@console_page
async def correct(request: Request, submission_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """更正传播数据: a staff correction, which may go below earlier counts."""
    submission = await _submission(user, submission_id)

    async def work(values: dict[str, str]) -> None:
        await add_snapshot(submission, user, reach_of(values), services_of(request).effects)

    return await _step(request, submission, "reach", work)


async def _step(
    request: Request, submission: Submission, form: str, work: Callable[[dict[str, str]], Awaitable[None]]
) -> HTTPResponse:
    """One form's step: done → back to the page saying so; refused → the page with the reason beside that form."""
    values = form_values(request)
    try:
        await work(values)
    except ApiError as exc:
        said = {f"{form}_values": values, f"{form}_errors": _fields(exc), f"{form}_error": exc.message}
        return await _page(request, submission, exc.status, **said)
    return redirect(f"/console/submissions/{submission.id}?done={form}", status=303)


def _repost_url(values: dict[str, str]) -> tuple[str, str]:
    """(level, the link normalised) as typed; a bad level or link is a field error."""
    errors: dict[str, str] = {}
    level = values.get("level", "")
    if level not in REPOST_LEVELS:
        errors["level"] = "请选择转载级别"
    url = ""
    try:
        url = normalise(values.get("url", "")).url
    except LinkError as exc:
        errors["url"] = str(exc)
    if errors:
        raise InvalidRequest.fields(errors, "请修改标红的内容后再保存")
    return level, url


@bp.post("/<submission_id:int>/repost")
@console_page
async def repost(request: Request, submission_id: int, user: User, session: ConsoleSession) -> HTTPResponse:
    """转载奖励: an official site reposted the work; that level's bonus once."""
    submission = await _submission(user, submission_id)

    async def work(values: dict[str, str]) -> None:
        level, url = _repost_url(values)
        await record_repost(submission, user, level, url, services_of(request).effects)

    return await _step(request, submission, "repost", work)


def _fields(exc: ApiError) -> dict[str, str]:
    fields = dict((exc.details or {}).get("fields", {})) if exc.details else {}
    field = (exc.details or {}).get("field") if exc.details else None
    if isinstance(field, str):  # reach_decreasing names the count that went down
        fields.setdefault(field, exc.message)
    return fields
