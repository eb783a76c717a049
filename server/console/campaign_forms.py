"""The campaign and task forms: what staff type, turned into the API's request models (same checks).

Field names are the form's; errors come back under those names (``location.lat`` → ``lat``) with
the Chinese labels the pages show.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.task_schemas import CampaignCreate, CampaignUpdate, OnlineSettings, TaskCreate, TaskUpdate
from models.campaigns import CAMPAIGN_KINDS, Campaign, Task
from models.online_links import PLATFORM_NAMES
from models.orgs import Org
from models.reach import REPOST_LEVELS, REPOST_NAMES
from server.console.forms import datetime_fields, validate
from server.console.render import local_time
from server.kernel.errors import InvalidRequest
from server.web.glossary import label

CAMPAIGN_LABELS = {
    "title": "活动名称",
    "kind": "类型",
    "org_id": "所属组织",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "description": "简介",
}
TASK_LABELS = {
    "title": "任务名称",
    "description": "任务说明",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "quota": "名额",
    "points": "积分",
    "service_hours": "服务时长",
    "location_name": "地点",
    "lat": "纬度",
    "lng": "经度",
    "radius_m": "签到范围",
    "checkin_required": "需要签到",
    "checkout_required": "需要签退",
    "min_photos": "最少照片数",
    "max_photos": "最多照片数",
    "quiz_on": "设置答题",
    "quiz_count": "答题题数",
    "quiz_tags": "标签",
    "quiz_types": "题型",
    "quiz_time_limit_s": "答题限时（秒）",
    "quiz_attempts_per_day": "每日可答次数",
    "quiz_pass_score": "及格分",
    "quiz_points": "答题积分",
    "online_on": "线上任务",
    "online_platforms": "平台",
    "online_require_link": "必须提交作品链接",
    "online_own_account": "须为本人已认证账号",
    "online_tiers": "传播档位",
    **{f"online_repost_{level}": f"转载奖励（{REPOST_NAMES[level]}）" for level in REPOST_LEVELS},
    "online_share_points": "分享打开积分",
    "online_share_daily_cap": "每日上限",
}
QUIZ_TYPE_NAMES = {"single": "单选题", "multi": "多选题", "judge": "判断题"}
# The quiz's numbers as the form names them; empty ones take the API's defaults (答题题数 is required).
_QUIZ_NUMBERS = ("count", "time_limit_s", "attempts_per_day", "pass_score", "points")
_TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")
NEW_QUIZ = {"quiz_time_limit_s": "600", "quiz_attempts_per_day": "1", "quiz_pass_score": "60", "quiz_points": "0"}
# A new online section as the API's defaults have it (links required, shares capped at 10 a day).
_ONLINE_DEFAULTS = OnlineSettings(platforms=["douyin"])
NEW_ONLINE = {
    "online_require_link": "true",
    **{f"online_repost_{level}": "0" for level in REPOST_LEVELS},
    "online_share_points": str(_ONLINE_DEFAULTS.share_points),
    "online_share_daily_cap": str(_ONLINE_DEFAULTS.share_daily_cap),
}
# One tier a line: views, then points ("10000=5", "1万=5", "10000：5", "10000 5").
_TIER_LINE = re.compile(r"(\d+(?:\.\d+)?)\s*(万)?\s*(?:[=＝:：,，]|\s)\s*(\d+)")
TIERS_HINT = "每行一档：浏览量=积分，如“10000=5”或“1万=5”"
CAMPAIGN_STATUS_NAMES = {"draft": "草稿", "published": "已发布", "closed": "已结束"}
KIND_OPTIONS = [(kind, label(kind)) for kind in CAMPAIGN_KINDS]
REQUIRED = "必填"
_TIMES = ("starts_at", "ends_at")
# The API nests the place; the form has one field per part.
_LOCATION_FIELDS = {
    "location.name": "location_name",
    "location.lat": "lat",
    "location.lng": "lng",
    "location.radius_m": "radius_m",
}
_LOCATION_PARTS = ("location_name", "lat", "lng", "radius_m")


def _required(values: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: REQUIRED for name in names if not values.get(name)}


def _times(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    data, errors = datetime_fields(values, _TIMES)
    return data, {**_required(values, _TIMES), **errors}


def campaign_body(values: dict[str, str], *, new: bool) -> CampaignCreate | CampaignUpdate:
    """The form as the API's CampaignCreate (new) or CampaignUpdate (edit: every field given)."""
    data, errors = _times(values)
    if values.get("kind") not in CAMPAIGN_KINDS:
        errors["kind"] = "请选择活动类型"
    names = ("title", "kind", "description", *_TIMES, *(("org_id",) if new else ()))
    body = {name: data.get(name, "") for name in names}
    if new and not values.get("org_id", "").isdigit():
        errors["org_id"] = "请选择所属组织"
    return validate(CampaignCreate if new else CampaignUpdate, body, errors)


def campaign_values(campaign: Campaign) -> dict[str, str]:
    """A stored campaign as its edit form shows it."""
    return {
        "title": campaign.title,
        "kind": campaign.kind,
        "org_id": str(campaign.org_id),
        "starts_at": local_time(campaign.starts_at),
        "ends_at": local_time(campaign.ends_at),
        "description": campaign.description,
    }


def task_body(values: dict[str, str], *, new: bool) -> TaskCreate | TaskUpdate:
    """The form as the API's TaskCreate (new) or TaskUpdate (edit: every field of the form given).

    Empty 名额 is unlimited, empty 积分 and 服务时长 are 0; the place is given when any part of it is."""
    data, errors = _times(values)
    body: dict[str, Any] = {name: data.get(name, "") for name in ("title", "description", *_TIMES)}
    body["quota"] = values.get("quota") or None
    body["points"] = values.get("points") or "0"
    body["service_hours"] = values.get("service_hours") or "0"
    body["checkin_required"] = values.get("checkin_required") == "true"
    body["checkout_required"] = values.get("checkout_required") == "true"
    body["location"] = None
    if any(values.get(name) for name in _LOCATION_PARTS):
        place = {"name": values.get("location_name", ""), "lat": values.get("lat"), "lng": values.get("lng")}
        place["radius_m"] = values.get("radius_m")
        body["location"] = {key: value for key, value in place.items() if value is not None and value != ""}
        if "name" not in body["location"]:
            body["location"]["name"] = ""
    body["quiz"] = _quiz(values, errors)
    body["online"] = _online(values, errors)
    try:
        return validate(TaskCreate if new else TaskUpdate, body, errors)
    except InvalidRequest as exc:
        raise form_fields(exc) from None


def _quiz(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any] | None:
    """The quiz fields as the API's ``quiz`` object; None when 设置答题 is not ticked (no quiz)."""
    if values.get("quiz_on") != "true":
        return None
    quiz: dict[str, Any] = {}
    for name in _QUIZ_NUMBERS:
        if values.get(f"quiz_{name}"):
            quiz[name] = values[f"quiz_{name}"]
    if "count" not in quiz:
        errors["quiz_count"] = REQUIRED
        quiz["count"] = 1  # reported above; keeps the rest of the check going
    tags = [t for t in _TAG_SEPARATORS.split(values.get("quiz_tags", "")) if t]
    quiz["tags"] = tags or None
    types = [t for t in QUIZ_TYPE_NAMES if values.get(f"quiz_type_{t}") == "true"]
    quiz["types"] = types or None
    return quiz


def _online(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any] | None:
    """The online fields as the API's ``online`` object; None when 线上任务 is not ticked."""
    if values.get("online_on") != "true":
        return None
    online: dict[str, Any] = {
        "platforms": [p for p in PLATFORM_NAMES if values.get(f"online_platform_{p}") == "true"],
        "require_link": values.get("online_require_link") == "true",
        "own_account": values.get("online_own_account") == "true",
        "reach_tiers": _tiers(values.get("online_tiers", ""), errors),
        "repost_bonus": {level: values.get(f"online_repost_{level}") or "0" for level in REPOST_LEVELS},
    }
    if not online["platforms"]:
        errors["online_platforms"] = "请至少选择一个平台"
        online["platforms"] = ["douyin"]  # reported above; keeps the rest of the check going
    for name in ("share_points", "share_daily_cap"):
        if values.get(f"online_{name}"):
            online[name] = values[f"online_{name}"]
    return online


def _tiers(text: str, errors: dict[str, str]) -> list[dict[str, int]]:
    """传播档位 as typed, one ``views=points`` a line, in rising order of views (the API wants them so)."""
    tiers = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        found = _TIER_LINE.fullmatch(line)
        if found is None:
            errors["online_tiers"] = f"第 {number} 行“{line[:20]}”看不懂。{TIERS_HINT}"
            return []
        views = float(found.group(1)) * (10_000 if found.group(2) else 1)
        if views != int(views):
            errors["online_tiers"] = f"第 {number} 行：浏览量须为整数"
            return []
        tiers.append({"views": int(views), "points": int(found.group(3))})
    return sorted(tiers, key=lambda tier: tier["views"])


def tiers_text(tiers: list[dict[str, int]]) -> str:
    """Stored tiers as the form shows them (``10000=5`` a line)."""
    return "\n".join(f"{tier['views']}={tier['points']}" for tier in tiers)


def form_fields(exc: InvalidRequest) -> InvalidRequest:
    """The API's nested names as the form's fields (of a validation or of the operation itself);
    a missing part of the place said plainly."""
    fields = {}
    for name, reason in (exc.details or {}).get("fields", {}).items():
        name = _LOCATION_FIELDS.get(name, "lat" if name == "location" else name)
        if name == "quiz" or name.startswith("quiz."):
            # quiz.count → quiz_count; quiz.tags.0 → quiz_tags; the quiz as a whole → 答题题数
            parts = name.split(".")
            name = f"quiz_{parts[1]}" if len(parts) > 1 else "quiz_count"
        elif name == "online" or name.startswith("online."):
            name = _online_field(name.split("."))
        if name in _LOCATION_PARTS and reason == REQUIRED:
            reason = "设置签到地点时，纬度、经度和签到范围都要填写"
        fields[name] = reason
    return InvalidRequest.fields(fields, exc.message)


def _online_field(parts: list[str]) -> str:
    """online.reach_tiers.0.views → online_tiers; online.repost_bonus.city → online_repost_city."""
    if len(parts) < 2 or parts[1] == "platforms":
        return "online_platforms"
    if parts[1] == "reach_tiers":
        return "online_tiers"
    if parts[1] == "repost_bonus":
        return f"online_repost_{parts[2]}" if len(parts) > 2 else "online_repost_county"
    return f"online_{parts[1]}"


def task_values(task: Task) -> dict[str, str]:
    """A stored task as its edit form shows it."""
    return {
        "title": task.title,
        "description": task.description,
        "starts_at": local_time(task.starts_at),
        "ends_at": local_time(task.ends_at),
        "quota": "" if task.quota is None else str(task.quota),
        "points": str(task.points),
        "service_hours": f"{float(task.service_hours):g}",
        "location_name": task.location_name or "",
        "lat": "" if task.lat is None else str(task.lat),
        "lng": "" if task.lng is None else str(task.lng),
        "radius_m": "" if task.radius_m is None else str(task.radius_m),
        "checkin_required": "true" if task.checkin_required else "",
        "checkout_required": "true" if task.checkout_required else "",
        **quiz_values(task.quiz),
        **online_values(task.online),
    }


def quiz_values(quiz: dict[str, Any] | None) -> dict[str, str]:
    """A stored quiz as the task form shows it (the defaults of a new one when there is none)."""
    if not quiz:
        return dict(NEW_QUIZ)
    values = {f"quiz_{name}": str(quiz[name]) for name in _QUIZ_NUMBERS}
    values["quiz_on"] = "true"
    values["quiz_tags"] = "、".join(quiz.get("tags") or [])
    values.update({f"quiz_type_{t}": "true" for t in quiz.get("types") or []})
    return values


def online_values(online: dict[str, Any] | None) -> dict[str, str]:
    """A stored online setting as the task form shows it (a new one's defaults when there is none)."""
    if not online:
        return dict(NEW_ONLINE)
    settings = OnlineSettings(**online)
    values = {f"online_platform_{p}": "true" for p in settings.platforms}
    values.update(
        online_on="true",
        online_require_link="true" if settings.require_link else "",
        online_own_account="true" if settings.own_account else "",
        online_tiers=tiers_text([tier.model_dump() for tier in settings.reach_tiers]),
        online_share_points=str(settings.share_points),
        online_share_daily_cap=str(settings.share_daily_cap),
    )
    bonus = settings.repost_bonus.model_dump()
    values.update({f"online_repost_{level}": str(bonus[level]) for level in REPOST_LEVELS})
    return values


def org_options(orgs: list[Org]) -> list[tuple[str, str]]:
    """Orgs for a select, indented under their parents (``orgs`` ordered by path, the top first)."""
    if not orgs:
        return []
    top = orgs[0].path.count("/")
    return [(str(o.id), "　" * (o.path.count("/") - top) + o.name) for o in orgs]
