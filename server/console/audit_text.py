"""The audit log as staff read it: Chinese names of actions, targets and details (not raw JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.audit import AuditEntry
from models.orgs import org_names
from models.reach import REPOST_NAMES
from models.users import names_on_record
from server.console.render import local_time

ACTION_NAMES = {
    "publish": "发布活动",
    "close": "结束活动",
    "cancel": "取消任务",
    "review": "审核提交",
    "role_change": "变更角色或组织",
    "honour_hours": "授予荣誉时长",
    "org_certificate": "设置证明签发信息",
    "export": "导出报表",
    "roster_import": "导入名册",
    "org_import": "导入组织",
    "org_change_request": "申请变更组织",
    "org_change_cancel": "撤回组织变更申请",
    "org_change_approve": "同意组织变更",
    "org_change_refuse": "拒绝组织变更",
    "org_rename": "重命名组织",
    "question_create": "新建题目",
    "question_update": "修改题目",
    "question_retire": "停用或删除题目",
    "question_import": "导入题库",
    "account_verify": "通过平台账号",
    "account_reject": "拒绝平台账号",
    "reach_correct": "更正传播数据",
    "repost": "记录官方转载",
    "calendar_update": "修改工作日历",
    "notice": "发布通知",
    "hour_request_review": "审核补录申请",
}
TARGET_KINDS = {
    "campaign": "活动",
    "task": "任务",
    "submission": "提交",
    "user": "用户",
    "org": "组织",
    "question": "题目",
    "calendar": "工作日历（年）",
    "notice": "通知",
    "hour_request": "补录申请",
}
TARGET_FILES = {"participation.xlsx": "参与情况报表（Excel）", "participation.csv": "参与情况报表（CSV）"}
DECISIONS = {"approve": "通过", "reject": "驳回"}
OUTCOMES = {"retired": "已停用（曾被答题使用）", "deleted": "已删除"}
ROLE_NAMES = {"volunteer": "志愿者", "influencer": "网络达人", "staff": "工作人员", "admin": "管理员"}
# Plain details: key → label, in the order shown.
LABELS = {
    "title": "名称",
    "recipients": "接收人数",
    "campaign_id": "活动 id",
    "roles": "身份",
    "decision": "结论",
    "points": "积分",
    "hours": "服务时长（小时）",
    "service_hours": "服务时长（小时）",
    "reason": "理由",
    "period": "统计周期",
    "created": "新建",
    "updated": "更新",
    "unchanged": "未变",
    "errors": "出错行数",
    "request_id": "申请编号",
    "replaces": "取代的申请",
    "stem": "题干",
    "fields": "修改的字段",
    "outcome": "结果",
    "source": "文件",
    "views": "浏览量",
    "likes": "点赞数",
    "comments": "评论数",
    "shares": "转发数",
    "captured_at": "截图时间",
    "level": "转载级别",
    "url": "转载链接",
    # A calendar year's changed days (models.calendar), by what they became.
    "holiday": "改为放假",
    "workday": "改为调休上班",
    "none": "恢复按星期",
    # A task's enrollment list downloaded (server.web.rosters).
    "file": "导出文件",
    "rows": "行数",
    "full_phones": "含完整手机号",
}
EXPORT_FILES = {"enrollments.xlsx": "报名名单（Excel）"}
CALENDAR_KEYS = ("holiday", "workday", "none")
ORG_KEYS = ("org_id", "from_org_id", "to_org_id")


@dataclass(frozen=True)
class Line:
    """One row of the log as shown."""

    entry: AuditEntry
    action: str
    target: str
    details: list[tuple[str, str]]


async def lines(entries: list[AuditEntry]) -> list[Line]:
    """The entries described, with the names of the orgs and people they mention (two queries at most)."""
    orgs = await org_names({_int(v) for e in entries for v in _org_ids(e.details) if _int(v)})
    people = await names_on_record({_int(e.target.split(":", 1)[1]) for e in entries if e.target.startswith("user:")})
    return [
        Line(e, ACTION_NAMES.get(e.action, e.action), _target(e.target, people), _details(e.details, orgs))
        for e in entries
    ]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _org_ids(details: dict[str, Any]) -> list[Any]:
    found = [details.get(key) for key in ORG_KEYS]
    for side in ("from", "to"):
        if isinstance(details.get(side), dict):
            found.append(details[side].get("org_id"))
    return [v for v in found if v is not None]


def _target(target: str, people: dict[int, str]) -> str:
    if target in TARGET_FILES:
        return TARGET_FILES[target]
    kind, _, ident = target.partition(":")
    if kind in TARGET_KINDS and ident:
        name = people.get(_int(ident)) if kind == "user" else None
        return f"{TARGET_KINDS[kind]} #{ident}" + (f"（{name}）" if name else "")
    return target


def _org(value: Any, orgs: dict[int, str]) -> str:
    if value in (None, ""):
        return "无"
    return orgs.get(_int(value), f"#{value}")


def _details(details: dict[str, Any], orgs: dict[int, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    rest = dict(details)
    before, after = rest.pop("from", None), rest.pop("to", None)
    if isinstance(before, dict) and isinstance(after, dict):
        if before.get("role") != after.get("role"):
            out.append(("角色", f"{_role(before.get('role'))} → {_role(after.get('role'))}"))
        if before.get("org_id") != after.get("org_id"):
            out.append(("组织", f"{_org(before.get('org_id'), orgs)} → {_org(after.get('org_id'), orgs)}"))
    elif isinstance(before, str) and isinstance(after, str):
        out.append(("名称", f"{before} → {after}"))  # a renamed org
    elif before is not None or after is not None:
        rest.update({"from": before, "to": after})
    if "from_org_id" in rest or "to_org_id" in rest:
        out.append(("组织", f"{_org(rest.pop('from_org_id', None), orgs)} → {_org(rest.pop('to_org_id', None), orgs)}"))
    if "org_id" in rest:
        value = rest.pop("org_id")
        out.append(("组织", _org(value, orgs) if value is not None else "全部"))
    for key, label in LABELS.items():
        if key in rest:
            value = rest.pop(key)
            if value not in (None, ""):
                out.append((label, _value(key, value)))
    out.extend((key, _value(key, value)) for key, value in rest.items())
    return out


def _local(text: str) -> str:
    """An ISO time of the details as staff read times (Asia/Shanghai); kept as written when it is not one."""
    try:
        return local_time(datetime.fromisoformat(text))
    except ValueError:
        return text


def _role(role: Any) -> str:
    return ROLE_NAMES.get(str(role), str(role))


def _value(key: str, value: Any) -> str:
    if key == "decision":
        return DECISIONS.get(str(value), str(value))
    if key == "level":
        return REPOST_NAMES.get(str(value), str(value))
    if key == "captured_at" and isinstance(value, str):
        return _local(value)
    if key in CALENDAR_KEYS and isinstance(value, list):
        return "、".join(map(str, value))
    if key == "roles" and isinstance(value, list):
        return "、".join(ROLE_NAMES.get(str(r), str(r)) for r in value)
    if key == "file":
        return EXPORT_FILES.get(str(value), str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "outcome":
        return OUTCOMES.get(str(value), str(value))
    if key == "period" and isinstance(value, str):
        return value.replace("_", " 至 ")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
