"""The API document's words: every field, enum value, parameter and operation, in Chinese, with examples.

Kept apart from the schema classes on purpose: the classes say what is valid, this says what it
means to the people building the mini-program and the staff console. Entries are keyed by the
class that declares a field (subclasses inherit them) and by the handler's module and function.
``tests/handlers/test_api_docs.py`` fails when a field, enum value, parameter or operation has no
entry here, and when an entry here matches nothing any more.
"""

from __future__ import annotations

from typing import Any

from models.enrollment import MAX_ACCURACY_ALLOWANCE_M
from models.messages import MAX_EXTENSION_DAYS, MAX_SUPERVISION
from models.messages import STATUS_NAMES as MESSAGE_STATUS_NAMES
from models.review import MAX_POINTS_FACTOR
from models.users import ROLES, STAR_HOURS

# -- enum values -----------------------------------------------------------------------------

_LABEL_GROUPS: dict[str, dict[Any, str]] = {
    "role": {
        "volunteer": "网络文化志愿者",
        "influencer": "网络大V/达人",
        "staff": "宣传/网信工作人员",
        "admin": "管理员",
    },
    "org kind": {"county": "县（区）", "township": "乡镇/街道", "village": "村/社区", "unit": "单位（学校、局办等）"},
    # The campaign kinds as the county names them (API.md).
    "campaign kind": {
        "village_visit": "网络大V进乡村",
        "hometown_showcase": "网络达人爱家乡·美丽家乡巡礼",
        "law_outreach": "网络普法",
        "positive_content": "正能量内容创作",
        "clue_report": "不良信息线索",
    },
    "campaign status": {"draft": "草稿（仅工作人员可见）", "published": "已发布", "closed": "已结束"},
    "task status": {"open": "进行中", "ended": "已结束", "cancelled": "已取消"},
    "enrollment status": {
        "enrolled": "已报名",
        "checked_in": "已签到",
        "submitted": "已提交材料",
        # By the person, or by erasing their account (models.privacy).
        "withdrawn": "已撤回",
    },
    "submission status": {
        "pending": "待审核",
        "flagged": "待审核（有风险提示）",
        "approved": "已通过",
        "rejected": "未通过",
        # Its author erased their account while it awaited review (models.privacy): never reviewed.
        "withdrawn": "已撤回",
    },
    # A member's change of org (models.org_requests), decided by staff of the requested org.
    "org request status": {
        "pending": "待审核",
        "approved": "已通过",
        "refused": "已拒绝",
        "cancelled": "已取消",
    },
    "decision": {"approve": "通过", "reject": "不通过", "verify": "通过"},
    # Platform accounts (models.accounts): one handle one person, verified once by staff.
    "platform": {
        "douyin": "抖音",
        "kuaishou": "快手",
        "weibo": "微博",
        "wechat_channels": "视频号",
        "wechat_mp": "微信公众号",
        "bilibili": "哔哩哔哩",
        "xiaohongshu": "小红书",
        "toutiao": "今日头条",
    },
    "account status": {"pending": "待审核", "verified": "已通过", "rejected": "未通过"},
    # Official reposts of online work (models.reach): the level of the site that reposted.
    "repost level": {"county": "县（区）", "city": "市级", "province": "省级", "national": "国家级"},
    # Netizen messages (models.messages): what the message is about, the writer's rating, how it is handed on.
    "message category": {
        "consult": "咨询",
        "suggest": "建议",
        "complain": "投诉",
        "help": "求助",
        "clue": "不良信息线索",
    },
    "message rating": {"satisfied": "满意", "basically": "基本满意", "unsatisfied": "不满意（首次不满意时重新办理）"},
    "assign kind": {
        "jiaoban": "交办（交给本组织的下级组织）",
        "zhuanban": "转办（转给本县的组织，或其他县（区）本级）",
    },
    "question type": {"single": "单选题", "multi": "多选题（全部选对才得分）", "judge": "判断题"},
    "question status": {"active": "在用", "retired": "已停用（曾被答题使用，不再抽取）"},
    "content check": {
        "pass": "内容安全检测通过",
        "review": "需人工复核",
        "risky": "检测为违规风险",
        "unchecked": "尚未检测完",
    },
    "ledger kind": {
        "award": "获得（审核通过、网络普法答题及格，或作品传播与官方转载奖励）",
        "reversal": "撤销（通过后又被驳回，或传播数据更正）",
    },
    "hours kind": {
        "credit": "信用时长（本人签到签退或补录审核通过所得，计积分）",
        "honour": "荣誉时长（管理员事后授予，不计积分）",
    },
    "flag": {"1": "是", "true": "是", "0": "否", "false": "否"},
    "health": {"ok": "正常", "off": "未配置"},
    "null": {None: "空（null，不适用或未设置）"},
}


def _merge(groups: dict[str, dict[Any, str]]) -> dict[Any, str]:
    merged: dict[Any, str] = {}
    for group, labels in groups.items():
        for value, text in labels.items():
            if merged.get(value, text) != text:
                raise ValueError(f"enum value {value!r} ({group}) has two labels")
            merged[value] = text
    return merged


LABELS = _merge(_LABEL_GROUPS)
ROLE_ORDER = list(ROLES)
# Enums whose values read differently from the same values elsewhere, keyed by the whole set of
# values: a message that is "submitted" waits to be accepted (待受理), not 已提交材料 as evidence does.
_OWN_LABELS: dict[frozenset[Any], dict[Any, str]] = {frozenset(MESSAGE_STATUS_NAMES): dict(MESSAGE_STATUS_NAMES)}


def label(value: Any) -> str:
    """The Chinese label of an enum value; the value itself when there is none (tests catch that)."""
    return LABELS.get(value, str(value))


def labels(values: list[Any]) -> list[str]:
    """The labels of one enum's values: the enum's own when it has them (null aside), else each value's."""
    own = _OWN_LABELS.get(frozenset(v for v in values if v is not None), {})
    return [own.get(value) or label(value) for value in values]


def _choices(group: str) -> str:
    return "、".join(f"{value}（{text}）" for value, text in _LABEL_GROUPS[group].items())


# -- shared words --------------------------------------------------------------------------

ID = "1024"
AT = "2026-05-01T09:00:00+08:00"
LATER = "2026-05-01T17:00:00+08:00"
MOMENT = "ISO 8601 时间，带时区偏移，如 2026-05-01T09:00:00+08:00；不带偏移时按北京时间理解"
URL = "https://wm.example.cn/media/files/3a/7f/3a7f0c9e2b4d4c1e8f6a5b4c3d2e1f00-display.jpg?e=1767225600&s=Yc2f"
STAR_RULE = (
    "星级（0–5），按累计志愿服务时长（service_hours）评定："
    + "、".join(f"≥{hours} 小时 {stars} 星" for stars, hours in enumerate(STAR_HOURS, start=1))
    + f"；不足 {STAR_HOURS[0]} 小时为 0 星。时长随审核通过增加，被撤销时减少，星级随之变化"
)
CREDIT_HOURS = "信用时长（小时）：本人签到签退或补录审核通过所得，计积分"
HONOUR_HOURS = "荣誉时长（小时）：管理员事后授予，不计积分"
ORG = {"id": "3", "name": "洪桥街道", "kind": "township", "parent_id": "1"}
VILLAGE = {"id": "5", "name": "石亭子村", "kind": "village", "parent_id": "3"}
# What a status means where its label alone says too little.
ENROLLMENT_WITHDRAWN = "withdrawn 为已取消报名（本人取消，或注销账号时让出名额）"
SUBMISSION_WITHDRAWN = "withdrawn 为提交人在审核前注销了账号，提交已撤回、不再审核"
REQUEST_CANCELLED = "cancelled 为申请人改选其他组织、改回原组织或注销账号而撤回"
REQUEST_REASON = "审核意见；拒绝时必填，说明原因"

PAGING = (
    "**分页**：`limit`（1–100，默认 20）与 `cursor`；返回的 `next_cursor` 原样带回即取下一页，为 null 表示没有更多。"
)
IDEMPOTENT = (
    "**可安全重试**：带上客户端生成的 `Idempotency-Key`（如 UUID）；网络不稳重发同一个键时，服务返回第一次的结果，"
    "不会重复执行。"
)

API_DESCRIPTION = f"""网络文明志愿服务小程序后端接口（v1）。

- **登录**：小程序 `wx.login` 取得 code，调用 `POST /api/v1/auth/wechat-login` 换取 token；
  之后每个请求带 `Authorization: Bearer <token>`。
- **错误**：所有错误（状态码 ≥ 400）都是 `{{"error": {{"code", "message", "details"?}}}}`；
  `code` 稳定，可据此判断；`message` 是给用户看的中文；
  参数错误为 400 `invalid_request`，`details.fields` 按字段给出原因。
- **时间**：ISO 8601，带时区偏移；服务所在时区为北京时间（Asia/Shanghai），每周从周一 00:00 算起。
- **id**：JSON 中一律是字符串，不要当作数字运算。
- **列表**：`limit` 与 `cursor` 分页，返回 `{{"items": [...], "next_cursor": "..." | null}}`。
- **角色**：{_choices("role")}。
- **星级**：{STAR_RULE}。
"""

TAGS = {
    "auth": "登录与手机号绑定",
    "me": "我的资料、积分明细、志愿服务证明、个人信息导出与注销",
    "orgs": "组织（县、乡镇/街道、村/社区、单位）",
    "users": "人员管理（工作人员）",
    "campaigns": "活动：网络大V进乡村、爱家乡巡礼、网络普法等",
    "tasks": "任务：报名、签到、报名名单",
    "quiz": "网络普法答题：开始答题、作答、交卷、成绩与统计",
    "media": "图片上传与访问",
    "submissions": "任务材料提交",
    "review": "审核（工作人员）",
    "leaderboard": "排行榜",
    "reports": "报表（工作人员）",
    "audit": "操作审计（管理员）",
    "certificates": "志愿服务证明验证",
    "wechat": "微信消息推送（由微信服务器调用）",
    "console": "管理后台扫码登录（由小程序调用）",
    "questions": "题库：网络普法答题的单选、多选与判断题（工作人员）",
    "accounts": "网络传播：平台账号绑定与审核",
    "sharing": "网络传播：分享任务卡片与打开统计",
    "reach": "网络传播：作品传播数据与官方转载奖励",
    "calendar": "工作日历：节假日与调休上班日（网民留言办理期限按工作日计算）",
    "messages": "网民留言办理：留言、受理、交办转办、督办、答复与评价",
    "notices": "通知：工作人员发给本组织及下级组织或某活动参与者的通知，已读与未读",
    "hour_requests": "补录服务时长：没有签到签退记录时申请补录，由任务所属组织的工作人员审核",
    "ops": "运维：存活、就绪、运行指标",
}

# -- path parameters and headers -------------------------------------------------------------

PARAMETERS: dict[str, tuple[str, Any]] = {
    "campaign_id": ("活动 id", ID),
    "task_id": ("任务 id", ID),
    "attempt_id": ("答题记录 id（开始答题时返回）", "4096"),
    "submission_id": ("提交 id", ID),
    "ticket": ("管理后台登录小程序码 scene 中 `login:` 之后的部分", "Qm3xYp8kT2vLw9aZ4bN6cD1e"),
    "user_id": ("用户 id", ID),
    "org_id": ("组织 id", "1"),
    "request_id": ("组织变更申请 id", ID),
    "account_id": ("平台账号 id", ID),
    "message_id": ("留言 id", ID),
    "notice_id": ("通知 id", ID),
    "hour_request_id": ("补录申请 id", ID),
    "year": ("年份，2000–2099", 2026),
    "question_id": ("题目 id（作答时为开始答题返回的 questions[].id）", ID),
    "serial": ("证明编号，印在志愿服务证明上", "WM-20260501-7KQ2M9XA"),
    "key": (
        "图片文件的存储键（来自签名地址，连同 e、s 查询参数一起使用）",
        "3a/7f/3a7f0c9e2b4d4c1e8f6a5b4c3d2e1f00-display.jpg",
    ),
    "Idempotency-Key": (
        "客户端生成的唯一键（如 UUID）；同一操作重试时原样带上",
        "3f1c2a8e-6b4d-4e5f-9a7b-1c2d3e4f5a6b",
    ),
}

# -- fields used alike everywhere --------------------------------------------------------------

SHARED: dict[str, tuple[Any, ...]] = {
    "next_cursor": ("下一页的游标，原样作为 cursor 传回；为 null 表示没有更多", "WzEwMjRd"),
    "limit": ("每页条数，1–100，默认 20", 20),
    "cursor": ("上一页返回的 next_cursor；不传则从第一页开始", "WzEwMjRd"),
}

# -- schemas: their own description, then each field's (description, example) --------------------
# A field without an example here (a nested object or list of them) gets one built from its parts.

MODELS: dict[str, str] = {
    "AccountCreate": "绑定平台账号",
    "AccountUpdate": "更新平台账号的粉丝数",
    "AccountRead": "平台账号",
    "MyAccountList": "我的平台账号",
    "AccountOwner": "平台账号的主人",
    "StaffAccountRead": "平台账号（工作人员视图，含主人与审核时间）",
    "AccountList": "平台账号列表（一页）",
    "AccountQuery": "平台账号列表筛选",
    "AccountDecisionIn": "审核平台账号",
    "ExportedAccount": "导出的平台账号",
    "ShareLinkIn": "分享任务",
    "ShareLinkRead": "分享标识",
    "ShareOpenIn": "打开分享卡片",
    "ShareStatsRead": "任务分享统计",
    "ReachIn": "记录一次作品传播数据（截图时的浏览、点赞、评论、转发数）",
    "ReachSnapshotRead": "一次传播数据记录",
    "ReachList": "提交的传播数据记录，按截图时间先后",
    "RepostIn": "记录官方平台转载",
    "RepostRead": "一次官方平台转载记录",
    "RepostList": "提交的官方转载记录",
    "CalendarIn": "一年的节假日与调休上班日（整年替换）",
    "CalendarRead": "一年的节假日与调休上班日",
    "MessageIn": "写一条留言",
    "NoteIn": "办理留言：可附说明",
    "ReasonIn": "办理留言：须说明原因",
    "AssignIn": "交办或转办留言",
    "ExtendIn": "申请延期",
    "DraftIn": "拟写答复",
    "RateIn": "评价答复",
    "ReplyRead": "已发布的答复",
    "MessageEventRead": "留言办理过程中的一步",
    "MessageRead": "一条留言及其办理情况（办理的工作人员另见留言人、草拟的答复与全部办理过程）",
    "MessageList": "留言列表（一页）",
    "MessageQuery": "留言列表筛选",
    "HourRequestIn": "申请补录服务时长",
    "HourReviewIn": "审核一条补录申请",
    "HourRequestRead": "一条补录申请及其审核结果（工作人员另见申请人与照片的拍摄时间、地点）",
    "HourRequestList": "补录申请列表（一页）",
    "HourRequestQuery": "补录申请列表筛选",
    "ExportedHourRequest": "导出的补录申请",
    "PublicMessageRead": "公开的留言与答复（留言人只显示为“网友”）",
    "PublicMessageList": "公开的留言答复（一页）",
    "ExportedMessage": "导出的留言（含公开的办理过程）",
    "NoticeIn": "发一条通知",
    "NoticeRead": "一条通知（接收人另见是否已读，工作人员另见已读人数）",
    "NoticeList": "通知列表（一页）",
    "NoticeQuery": "通知列表参数",
    "NoticeStats": "通知的阅读情况",
    "ExportedNotice": "导出的通知（含阅读时间）",
    "ExportedMessageEvent": "导出的留言办理过程中的一步",
    "ErrorResponse": "错误响应：所有状态码 ≥ 400 的回答都是这个形状",
    "ErrorBody": "错误内容",
    "CodeIn": "微信临时登录凭证或手机号凭证",
    "OrgRead": "组织",
    "OrgNode": "组织树中的一个节点，含下级组织",
    "OrgTree": "整棵组织树",
    "OrgCreate": "新建组织",
    "UserBrief": "他人看到的用户简况",
    "UserRead": "用户资料",
    "PendingOrgRead": "待审核的组织变更申请",
    "MeRead": "我的资料，含待审核的组织变更与未读通知数",
    "OrgRequestRead": "组织变更申请：志愿者或达人申请转入另一组织，由该组织的工作人员审核",
    "OrgRequestList": "组织变更申请列表（一页）",
    "OrgDecisionIn": "审核组织变更申请",
    "OrgRequestQuery": "组织变更申请筛选",
    "UserList": "人员列表（一页）",
    "LoginOut": "登录结果",
    "MeUpdate": "修改我的资料：只传要改的字段",
    "UserUpdate": "调整人员角色或组织：只传要改的字段",
    "HonourHoursIn": "授予荣誉时长：管理员事后授予，计入志愿服务时长与星级，不计积分",
    "PageQuery": "分页参数",
    "UserQuery": "人员列表筛选",
    "ExportedProfile": "导出的账号资料",
    "ExportedSession": "导出的登录会话",
    "ExportedEnrollment": "导出的报名记录",
    "ExportedPhoto": "导出的照片信息",
    "ExportedSubmission": "导出的提交记录",
    "ExportedReview": "导出的审核结果",
    "ExportedCertificate": "导出的志愿服务证明",
    "ExportedOrgRequest": "导出的组织变更申请",
    "PersonalData": "我的个人信息导出：服务保存的关于本人的全部数据",
    "Health": "健康检查结果",
    "CampaignCreate": "新建活动",
    "CampaignUpdate": "修改活动：只传要改的字段",
    "CampaignRead": "活动",
    "CampaignList": "活动列表（一页）",
    "CampaignSummary": "活动参与统计（所有任务合计）",
    "CampaignQuery": "活动列表筛选",
    "Location": "任务地点与签到范围",
    "Audience": "任务面向的人群；不设则所有志愿者与达人都可报名",
    "TaskCreate": "新建任务",
    "TaskUpdate": "修改任务：只传要改的字段",
    "EnrollmentRead": "报名记录",
    "LocationRead": "任务地点与签到范围",
    "AudienceRead": "任务面向的人群",
    "TaskRead": "任务",
    "TaskList": "任务列表（一页）",
    "TaskQuery": "任务列表筛选",
    "CheckinIn": "现场签到：GPS 位置，或扫码得到的 scene，二选一",
    "CheckoutIn": "现场签退：与签到相同，GPS 位置或扫码得到的 scene，二选一",
    "EnrollmentRow": "报名名单中的一行",
    "EnrollmentList": "任务报名名单（一页）",
    "ReviewIn": "审核一条提交",
    "BatchIn": "批量审核",
    "BatchOut": "批量审核结果",
    "QueueQuery": "审核队列筛选",
    "LedgerRead": "积分明细中的一条",
    "LedgerPage": "积分明细（一页）",
    "BoardQuery": "排行榜参数",
    "RankedUser": "排行榜上的人",
    "BoardItem": "排行榜中的一名",
    "MyRank": "我的名次",
    "BoardOut": "个人排行榜",
    "OrgBoardQuery": "组织排行榜参数",
    "OrgBoardItem": "组织排行榜中的一名",
    "OrgBoardOut": "组织排行榜",
    "MediaRead": "图片",
    "EvidenceMedia": "图片（工作人员看到的，含拍摄位置与内容检测结果）",
    "SubmissionIn": "提交任务材料",
    "ReviewRead": "审核结果",
    "RiskRead": "风险提示（仅工作人员可见）",
    "SubmissionRead": "任务材料提交",
    "SubmissionList": "提交列表（一页）",
    "SubmissionQuery": "提交列表筛选",
    "AuditQuery": "审计日志筛选",
    "AuditRead": "一条操作审计记录",
    "AuditList": "操作审计日志（一页）",
    "CertificateCheck": "志愿服务证明验证结果",
    "OrgCertificateIn": "设置本组织出具的志愿服务证明上的负责人、经办人与联系电话",
    "OrgCertificateRead": "本组织出具的志愿服务证明上的负责人、经办人与联系电话；未设置为空字符串",
    "ReportQuery": "报表参数",
    "MessageReportQuery": "留言办理报表参数",
    "RosterRowError": "名单中出错的一行",
    "RosterResult": "名单导入结果",
    "PushQuery": "微信推送的签名参数",
    "QuestionCreate": "新建题目",
    "QuestionUpdate": "修改题目（只传要改的字段）",
    "QuestionRead": "题库中的一道题（含答案，仅工作人员可见）",
    "QuestionList": "题目列表（一页）",
    "QuestionQuery": "题目列表筛选",
    "ImportQuery": "题库导入参数",
    "QuestionRowError": "题库文件中出错的一行",
    "QuestionImportResult": "题库导入结果",
    "QuizSettings": "任务的答题设置（网络普法）：题数、抽题范围、限时、每日次数、及格分与积分",
    "QuizRead": "任务的答题设置（不含任何题目）",
    "OnlineSettings": "线上传播任务的设置：作品须发在哪些平台、是否须附链接与本人账号、传播与转载奖励、分享打开积分",
    "OnlineRead": "线上传播任务的设置",
    "ReachTier": "传播档位：浏览量达到 views 时一次性奖励 points 积分",
    "RepostBonus": "被官方媒体转载的奖励积分，按转载级别各计一次",
    "QuestionShown": "本次答题的一道题：只有题干与按本次顺序排列的选项",
    "QuizAttemptStarted": "开始答题的结果：抽到的题目与截止时间",
    "AnswerIn": "作答一题",
    "QuestionResult": "交卷后一道题的结果",
    "QuizResult": "交卷结果",
    "ChoiceRead": "已作答的一题",
    "QuizAttemptRead": "答题记录：交卷后才含各题结果",
    "QuestionStatRead": "一道题的答题情况",
    "OrgStatRead": "一个组织的参与情况",
    "QuizStatsRead": "任务的答题统计",
    "ExportedQuizAttempt": "导出的答题记录",
    "ExportedReach": "导出的一次作品传播数据记录",
    "ExportedShare": "导出的一次任务分享",
    "ExportedShareOpen": "导出的一次打开他人分享",
}


QUESTION_STEM = (
    "题干，1–500 字；同一组织题库中题干相同（忽略空格、标点与全角半角差别）的题目只能有一道",
    "《中华人民共和国网络安全法》自哪一年起施行？",
)
QUESTION_OPTIONS = (
    "选项，单选与多选题 2–6 个，每个最多 200 字；判断题不传或传空列表",
    ["2016 年", "2017 年", "2018 年", "2019 年"],
)
QUESTION_ANSWER = (
    "答案：单选题为只含一个选项下标（从 0 起）的列表，多选题为一个或多个下标，判断题为 true（对）或 false（错）",
    [1],
)
QUESTION_EXPLANATION = (
    "解析，最多 1000 字，答题结束后才给答题人看",
    "《网络安全法》于 2016 年 11 月 7 日通过，自 2017 年 6 月 1 日起施行。",
)
QUESTION_TAGS = ("法律或主题标签，最多 10 个，每个最多 20 字", ["网络安全法"])
QUESTION_DIFFICULTY = ("难度：1 易、2 中、3 难", 1)

PLATFORM_TEXT = "平台：" + _choices("platform")
# What every view of a message says alike: the writer's, the handlers', the public list's, the export's.
MESSAGE_WORDS: dict[str, tuple[Any, ...]] = {
    "number": ("留言编号：QD + 北京时间日期 + 当天序号，唯一且按先后递增", "QD20260501-0012"),
    "category": ("留言类别：" + _choices("message category"), "consult"),
    "title": ("标题", "洪桥街道路灯不亮"),
    "content": ("留言内容", "洪桥街道建设路口的路灯已经坏了一周，晚上出行不便，请尽快维修。"),
    "created_at": ("留言时间", AT),
}

FIELDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "ShareLinkIn": {"task_id": ("要分享的任务 id（须是我能看到的任务）", ID)},
    "ShareLinkRead": {
        "ref": ("分享标识：放进分享卡片的路径参数；同一人分享同一任务得到同一个", "1024.Yc2fQ8kT2vLw9aZ4bN6cD1"),
    },
    "ShareOpenIn": {
        "ref": ("打开的分享卡片路径中的分享标识，原样带回；无效或伪造时 400 bad_ref", "1024.Yc2fQ8kT2vLw9aZ4bN6cD1"),
    },
    "ShareStatsRead": {
        "links": ("分享过该任务的人数", 12),
        "opens": ("分享卡片被他人打开的次数（每人每个分享只计一次，分享人自己打开不计）", 86),
    },
    "AccountCreate": {
        "platform": (
            PLATFORM_TEXT,
            "douyin",
        ),
        "handle": (
            "平台上的账号（抖音号、微博昵称、公众号名称等），最多 64 字；同一平台同一账号只能由一人绑定",
            "qingxi_county",
        ),
        "profile_url": (
            "账号主页链接，http:// 或 https:// 开头，最多 300 字；可不填",
            "https://www.douyin.com/user/MS4wLjABAAAA",
        ),
        "followers": ("粉丝数（≥ 0）；可不填", 12800),
    },
    "AccountUpdate": {"followers": ("粉丝数（≥ 0）；null 为清空", 13500)},
    "AccountRead": {
        "id": ("平台账号 id", ID),
        "platform": (
            PLATFORM_TEXT,
            "douyin",
        ),
        "handle": (
            "平台上的账号（抖音号、微博昵称、公众号名称等），原样保存；同一平台同一账号只能由一人绑定",
            "qingxi_county",
        ),
        "profile_url": ("账号主页链接（http/https）；没有时为 null", "https://www.douyin.com/user/MS4wLjABAAAA"),
        "followers": ("粉丝数；没有填写时为 null", 12800),
        "status": ("审核状态：pending 待审核、verified 已通过、rejected 未通过", "verified"),
        "reason": ("未通过的原因；只在 rejected 时出现", "主页与本人不符"),
    },
    "MyAccountList": {"items": ("我的平台账号，先绑定的在前",)},
    "AccountOwner": {
        "id": ("用户 id", ID),
        "name_on_record": ("登记姓名（没有时为昵称）", "张晓明"),
        "org": ("所属组织；没有时为 null",),
    },
    "StaffAccountRead": {
        "id": ("平台账号 id", ID),
        "platform": (
            PLATFORM_TEXT,
            "douyin",
        ),
        "handle": (
            "平台上的账号（抖音号、微博昵称、公众号名称等），原样保存；同一平台同一账号只能由一人绑定",
            "qingxi_county",
        ),
        "profile_url": ("账号主页链接（http/https）；没有时为 null", "https://www.douyin.com/user/MS4wLjABAAAA"),
        "followers": ("粉丝数；没有填写时为 null", 12800),
        "status": ("审核状态：pending 待审核、verified 已通过、rejected 未通过", "verified"),
        "reason": ("未通过的原因；只在 rejected 时出现", "主页与本人不符"),
        "user": ("账号的主人",),
        "created_at": ("绑定时间", AT),
        "decided_at": ("审核时间；待审核为 null", LATER),
    },
    "AccountList": {"items": ("本页平台账号，新的在前",)},
    "AccountQuery": {
        "status": ("按审核状态筛选；pending 为待审核", "pending"),
        "platform": ("按平台筛选", "douyin"),
    },
    "AccountDecisionIn": {
        "decision": ("verify 通过、reject 拒绝；已审核的账号不能再改（409 account_decided）", "verify"),
        "reason": ("审核意见；拒绝时必填，最多 200 字", "主页与本人不符"),
    },
    "ExportedAccount": {
        "id": ("平台账号 id", ID),
        "platform": (
            PLATFORM_TEXT,
            "douyin",
        ),
        "handle": (
            "平台上的账号（抖音号、微博昵称、公众号名称等），原样保存；同一平台同一账号只能由一人绑定",
            "qingxi_county",
        ),
        "profile_url": ("账号主页链接（http/https）；没有时为 null", "https://www.douyin.com/user/MS4wLjABAAAA"),
        "followers": ("粉丝数；没有填写时为 null", 12800),
        "status": ("审核状态：pending 待审核、verified 已通过、rejected 未通过", "verified"),
        "reason": ("未通过的原因；没有时为 null", "主页与本人不符"),
        "created_at": ("绑定时间", AT),
        "decided_at": ("审核时间；待审核为 null", LATER),
    },
    "ReachIn": {
        "views": ("浏览量（≥ 0）；本人记录时不能少于之前截图时间的记录", 12800),
        "likes": ("点赞数（≥ 0）", 356),
        "comments": ("评论数（≥ 0）", 42),
        "shares": ("转发数（≥ 0）", 88),
        "captured_at": ("截图（统计）时间；" + MOMENT + "；不能晚于现在", AT),
        "media_id": ("数据截图的图片 id（先用 POST /media 上传，须为本人上传）；可不填", ID),
    },
    "ReachSnapshotRead": {
        "id": ("传播数据记录 id", ID),
        "submission_id": ("提交 id", ID),
        "views": ("浏览量", 12800),
        "likes": ("点赞数", 356),
        "comments": ("评论数", 42),
        "shares": ("转发数", 88),
        "captured_at": ("截图（统计）时间", AT),
        "media": ("数据截图；没有时为 null",),
        "correction": ("是否为工作人员的更正（更正可以少于之前的记录，记入操作审计）", False),
        "recorded_by": ("记录人；账号注销后为 null",),
        "created_at": ("记录时间", LATER),
        "duplicate_of": (
            "截图与其他人的提交（照片或传播截图）相同或近似时，这些提交的 id；仅工作人员可见，提交人看到 null",
            ["1019"],
        ),
    },
    "ReachList": {"items": ("传播数据记录，按截图时间先后",)},
    "RepostIn": {
        "level": ("转载的官方平台级别：" + _choices("repost level"), "city"),
        "url": (
            "转载页面的链接，http:// 或 https:// 开头，最多 2048 字",
            "https://www.example.gov.cn/art/2026/5/2/art_1.html",
        ),
    },
    "RepostRead": {
        "id": ("转载记录 id", ID),
        "submission_id": ("提交 id", ID),
        "level": ("转载的官方平台级别：" + _choices("repost level"), "city"),
        "url": ("转载页面的链接", "https://www.example.gov.cn/art/2026/5/2/art_1.html"),
        "points": ("按任务设置获得的转载奖励积分（0 为该级别没有奖励）", 20),
        "created_at": ("记录时间", LATER),
    },
    "RepostList": {"items": ("官方转载记录，先记录的在前",)},
    "CalendarIn": {
        "holidays": (
            "放假的日期（YYYY-MM-DD，须在该年内，不能重复），含落在周末的放假日；最多 366 个",
            ["2026-02-15", "2026-02-16", "2026-02-17"],
        ),
        "workdays": (
            "调休上班的日期（YYYY-MM-DD，须为该年的周六或周日，不能与放假日重复）；最多 366 个",
            ["2026-02-14", "2026-02-28"],
        ),
    },
    "CalendarRead": {
        "year": ("年份", 2026),
        "holidays": ("放假的日期，从早到晚；该年未设置时为空数组", ["2026-02-15", "2026-02-16", "2026-02-17"]),
        "workdays": ("调休上班的日期（周末上班），从早到晚", ["2026-02-14", "2026-02-28"]),
    },
    "MessageIn": {
        "category": ("留言类别：" + _choices("message category"), "consult"),
        "title": ("标题，1–100 字", "洪桥街道路灯不亮"),
        "content": ("留言内容，1–5000 字", "洪桥街道建设路口的路灯已经坏了一周，晚上出行不便，请尽快维修。"),
        "media_ids": ("照片 id（先用 POST /media 上传，须为本人上传），最多 9 张，不能重复；可不填", [ID]),
        "lat": ("所在位置的纬度（-90–90）；须与 lng 同时提供，可都不填", 27.6041),
        "lng": ("所在位置的经度（-180–180）；须与 lat 同时提供，可都不填", 111.4372),
        "public_ok": ("是否同意答复后公开（公开时留言人只显示为“网友”）", True),
    },
    "NoteIn": {"note": ("说明，最多 500 字；可不填", "请尽快办理")},
    "ReasonIn": {"reason": ("原因，1–500 字，留言人可以看到", "不属于本县管辖范围，请向市级部门反映")},
    "AssignIn": {
        "org_id": ("承办组织 id：交办须为本组织的下级组织，转办为本县的组织或其他县（区）本级", "3"),
        "kind": ("办理方式：" + _choices("assign kind"), "jiaoban"),
        "co_org_ids": ("协办组织 id，最多 10 个；可不填", ["5"]),
        "note": ("交办说明，最多 500 字；不填时记为“交办至某组织”", "请 5 个工作日内答复"),
    },
    "ExtendIn": {
        "days": (f"延期的工作日数，累计最多 {MAX_EXTENSION_DAYS} 个工作日；由交办的组织批准", 3),
        "reason": ("延期原因，1–500 字", "需协调供电部门现场勘查"),
    },
    "DraftIn": {
        "content": ("答复内容，1–5000 字；交办的组织审核通过后发布给留言人", "路灯已于 5 月 3 日修复，感谢您的反映。")
    },
    "RateIn": {
        "rating": ("评价：" + _choices("message rating"), "satisfied"),
        "comment": ("评价说明，最多 500 字；可不填", "处理及时"),
    },
    "ReplyRead": {
        "content": ("答复内容", "路灯已于 5 月 3 日修复，感谢您的反映。"),
        "published_at": ("答复发布（审核通过）的时间", LATER),
    },
    "MessageEventRead": {
        "at": ("时间", AT),
        "action": (
            "办理步骤：submit 留言、accept 受理、reject 不予受理、assign 交办或转办、return 退回、"
            "extend 申请延期、approve-extension 批准延期、draft-reply 拟写答复、approve-reply 答复发布、"
            "supervise 督办、rate 评价、reopen 不满意重新办理；留言人只看到公开的步骤",
            "assign",
        ),
        "org": ("该步骤所在（或交给）的组织；没有时为 null",),
        "note": ("说明：原因、交办说明、答复内容等；没有时为空字符串", "交办至洪桥街道"),
    },
    "MessageRead": {
        "id": ("留言 id", ID),
        **MESSAGE_WORDS,
        "media": ("留言附的照片",),
        "status": ("办理状态", "assigned"),
        "org": ("承办组织；交办前为 null",),
        "due_at": ("办理期限：最后一个工作日北京时间 23:59:59；交办前为 null", "2026-05-08T23:59:59+08:00"),
        "overdue": ("是否已超过办理期限仍未答复", False),
        "supervision": (f"督办级别，0–{MAX_SUPERVISION}", 0),
        "reply": ("已发布的答复；没有时为 null",),
        "rating": ("留言人的评价；未评价为 null", "satisfied"),
        "events": ("办理过程，先发生的在前；留言人只看到公开的步骤",),
        "public_ok": ("留言人是否同意答复后公开", True),
        "writer": ("留言人（仅办理的工作人员可见，其他人为 null）",),
        "home_org": ("收到留言的县（区）（仅办理的工作人员可见）",),
        "assigner_org": ("交办（转办）的组织（仅办理的工作人员可见；未交办为 null）",),
        "draft": ("草拟待审核的答复（仅办理的工作人员可见）", "路灯已于 5 月 3 日修复，感谢您的反映。"),
        "extension_asked": ("申请中、待批准的延期工作日数（仅办理的工作人员可见）", 3),
        "extension_days": (f"已批准的延期工作日数合计，最多 {MAX_EXTENSION_DAYS}（仅办理的工作人员可见）", 0),
    },
    "MessageList": {"items": ("本页留言，新的在前",)},
    "MessageQuery": {
        "mine": ("为 1 时只看我写的留言（志愿者与达人总是只看自己的）", "1"),
        "status": ("按办理状态筛选", "assigned"),
        "overdue": ("为 1 时只看超过办理期限的", "1"),
    },
    "PublicMessageRead": {
        **MESSAGE_WORDS,
        "writer": ("留言人，一律显示为“网友”", "网友"),
        "media": ("留言附的照片",),
        "org": ("承办组织；没有时为 null",),
        "reply": ("答复",),
    },
    "PublicMessageList": {"items": ("本页公开的留言答复，新的在前",)},
    "ExportedMessage": {
        "id": ("留言 id", ID),
        **MESSAGE_WORDS,
        "media_ids": ("留言附的照片 id", [ID]),
        "lat": ("位置纬度；没有时为 null", 27.6041),
        "lng": ("位置经度；没有时为 null", 111.4372),
        "public_ok": ("是否同意答复后公开", True),
        "status": ("办理状态", "closed"),
        "reply": ("答复内容；没有时为 null", "路灯已于 5 月 3 日修复，感谢您的反映。"),
        "replied_at": ("答复时间；没有时为 null", LATER),
        "rating": ("我的评价；没有时为 null", "satisfied"),
        "rating_comment": ("评价说明；没有时为 null", "处理及时"),
        "events": ("公开的办理过程，先发生的在前",),
    },
    "ExportedMessageEvent": {
        "at": ("时间", AT),
        "action": ("办理步骤", "accept"),
        "note": ("说明；没有时为空字符串", ""),
    },
    "MeRead": {"unread_notices": ("未读的通知数（小程序可显示为角标）", 3)},
    "NoticeIn": {
        "title": ("标题，1–64 字", "关于开展“清朗”网络文明志愿服务的通知"),
        "content": ("正文，1–2000 字", "请各位志愿者于本周六上午九点到县文化广场集合，参加网络文明宣传活动。"),
        "org_id": (
            "接收组织 id，须在调用者的管辖范围内；不指定活动时发给该组织及下级组织的全部志愿者与达人"
            "（不含工作人员与已注销的账号）",
            "3",
        ),
        "campaign_id": (
            "活动 id（可不填）：指定时只发给该活动各任务已报名且未取消的人（不论其所属组织），"
            "须为调用者管理的、属于接收组织的活动",
            ID,
        ),
        "roles": ("只发给这些身份（volunteer 志愿者、influencer 达人）；不填则两者都发", ["volunteer"]),
    },
    "NoticeRead": {
        "id": ("通知 id", ID),
        "title": ("标题", "关于开展“清朗”网络文明志愿服务的通知"),
        "content": ("正文", "请各位志愿者于本周六上午九点到县文化广场集合，参加网络文明宣传活动。"),
        "org": ("接收组织（通知发往该组织及下级组织，或该组织的活动）",),
        "campaign_id": ("活动 id；发给组织时为 null", ID),
        "roles": ("只发给的身份；发给全部志愿者与达人时为 null", ["volunteer"]),
        "recipients": ("发出时的接收人数（之后加入或注销的人不改变它）", 1280),
        "created_at": ("发出时间", AT),
        "read": ("我是否已读（接收人本人可见；工作人员查看时为 null）", False),
        "read_at": ("我读的时间；未读或工作人员查看时为 null", LATER),
        "read_count": ("已读人数（工作人员查看时可见；接收人查看时为 null）", 860),
    },
    "NoticeList": {"items": ("本页通知，新的在前",)},
    "NoticeQuery": {"sent": ("为 1 时查看发往本组织及下级组织的通知（工作人员），附已读人数；不传时看我收到的", "1")},
    "NoticeStats": {
        "recipients": ("接收人数（发出时）", 1280),
        "read": ("已读人数", 860),
    },
    "ExportedNotice": {
        "id": ("通知 id", ID),
        "title": ("标题", "关于开展“清朗”网络文明志愿服务的通知"),
        "content": ("正文", "请各位志愿者于本周六上午九点到县文化广场集合，参加网络文明宣传活动。"),
        "org": ("接收组织的名称", "洪桥街道"),
        "sent_at": ("发出时间", AT),
        "read_at": ("我读的时间；未读为 null", LATER),
    },
    "ErrorResponse": {"error": ("错误内容",)},
    "ErrorBody": {
        "code": ("稳定的错误代码（snake_case），客户端据此判断", "invalid_request"),
        "message": ("给用户看的中文说明", "请求参数有误"),
        "details": ("补充信息，如 fields（字段 → 原因）、distance_m；没有时不出现", {"fields": {"title": "必填"}}),
    },
    "CodeIn": {"code": ("小程序 wx.login 或 getPhoneNumber 返回的 code，一次有效", "0a3Xb1Ga1cKz0J0bHYHa1Cyb0L4Xb1Gq")},
    "OrgRead": {
        "id": ("组织 id", "3"),
        "name": ("组织名称", "洪桥街道"),
        "kind": ("组织类型", "township"),
        "parent_id": ("上级组织 id；县为 null", "1"),
    },
    "OrgNode": {"children": ("下级组织，结构相同", [])},
    "OrgTree": {"items": ("顶层组织（通常是县），下级嵌套在 children 中",)},
    "OrgCreate": {
        "name": ("组织名称，1–100 字", "石亭子村"),
        "kind": ("组织类型", "village"),
        "parent_id": ("上级组织 id；工作人员只能建在本组织之下，只有管理员可不传（建顶层）", "3"),
    },
    "UserBrief": {
        "id": ("用户 id", "2048"),
        "nickname": ("昵称", "志愿者小李"),
        "avatar_url": ("头像缩略图的签名地址；未设置为 null", URL),
        "org": ("所属组织；未设置为 null", ORG),
    },
    "UserRead": {
        "id": ("用户 id", "2048"),
        "role": ("角色", "volunteer"),
        "nickname": ("昵称", "志愿者小李"),
        "real_name": ("实名（本人与工作人员可见，用于报表和志愿服务证明）；未填写为 null", "李明"),
        "avatar_url": ("头像缩略图的签名地址；未设置为 null", URL),
        "org": ("所属组织；未设置为 null", ORG),
        "phone": (None, "138****0000"),
        "points": ("累计积分", 120),
        "service_hours": ("累计志愿服务时长（小时）：信用时长与荣誉时长之和", 36.5),
        "credit_hours": (CREDIT_HOURS, 30.5),
        "honour_hours": (HONOUR_HOURS, 6),
        "star_level": (STAR_RULE, 0),
        "leaderboard_visible": ("是否在排行榜上公开显示；为 false 时仍计入排名，但显示为匿名", True),
        "created_at": ("注册时间", AT),
    },
    "PendingOrgRead": {
        "id": ("申请 id", ID),
        "org": ("申请加入的组织", VILLAGE),
        "requested_at": ("提交申请的时间", AT),
    },
    "OrgRequestRead": {
        "id": ("申请 id", ID),
        "user": ("申请人",),
        "from_org": ("申请时所在的组织；没有时为 null", ORG),
        "to_org": ("申请加入的组织", VILLAGE),
        "status": ("申请状态；" + REQUEST_CANCELLED, "approved"),
        "reason": (REQUEST_REASON + "；批准时可不填", "已核实为本村常住居民"),
        "created_at": ("提交申请的时间", AT),
        "decided_at": ("审核时间；未审核或已撤回为 null", LATER),
        "decided_by": (
            "审核人；未审核或已撤回为 null",
            {"id": "7", "nickname": "工作人员小王", "avatar_url": None, "org": VILLAGE},
        ),
    },
    "OrgRequestList": {"items": ("本页申请，新的在前",)},
    "OrgDecisionIn": {
        "reason": (REQUEST_REASON + "；最多 200 字", "已核实为本村常住居民"),
    },
    "OrgRequestQuery": {
        "status": ("按申请状态筛选；pending 为待审核的申请；" + REQUEST_CANCELLED, "pending"),
    },
    "UserList": {"items": ("本页人员",)},
    "LoginOut": {
        "token": (
            "访问令牌：之后的请求带 Authorization: Bearer <token>",
            "q3L0c2VjcmV0LXRva2VuLWV4YW1wbGUtMTIzNDU2Nzg",
        ),
        "expires_in": ("令牌有效期（秒）", 2592000),
        "user": ("当前用户资料；首次登录时新建",),
    },
    "MeUpdate": {
        "nickname": ("昵称，1–32 个可见字符", "志愿者小李"),
        "avatar_media_id": ("头像：先用 POST /media 上传，再传回它的 id", ID),
        "org_id": ("所属组织 id（志愿者与达人可自行选择；工作人员的组织由管理员调整）", "3"),
        "leaderboard_visible": ("是否在排行榜上公开显示", True),
        "real_name": ("实名，2–32 个字，只含文字和间隔号“·”；用于报表和志愿服务证明，null 清除", "李明"),
    },
    "UserUpdate": {
        "role": ("新角色；工作人员只能在志愿者与达人之间调整", "influencer"),
        "org_id": ("新的所属组织 id，须在调用者的管辖范围内", "3"),
    },
    "HonourHoursIn": {
        "hours": ("授予的时长（小时）：大于 0、不超过 100，按半小时计（0.5 的倍数）", 2.5),
        "reason": ("授予理由，1–195 个字符；记入积分明细，显示为“荣誉时长：理由”", "参加防汛抢险志愿服务"),
    },
    "UserQuery": {
        "org_id": ("只看该组织及其下级的人员", "3"),
        "role": ("只看该角色", "volunteer"),
        "q": ("按昵称模糊查找，或输入完整手机号精确查找", "小李"),
    },
    "ExportedProfile": {
        "id": ("用户 id", "2048"),
        "openid": ("微信 openid；注销后为 null", "oXyZ-1a2b3c4d5e6f7g8h9i0jklmno"),
        "unionid": ("微信 unionid；没有时为 null", None),
        "role": ("角色", "volunteer"),
        "nickname": ("昵称", "志愿者小李"),
        "real_name": ("实名；未填写为 null", "李明"),
        "org_id": ("所属组织 id；未设置为 null", "3"),
        "phone": (None, "13800000000"),
        "points": ("累计积分", 120),
        "service_hours": ("累计志愿服务时长（小时）", 36.5),
        "credit_hours": (CREDIT_HOURS, 30.5),
        "honour_hours": (HONOUR_HOURS, 6),
        "leaderboard_visible": ("是否在排行榜上公开显示", True),
        "created_at": ("注册时间", AT),
        "last_login_at": ("最近一次登录时间", LATER),
    },
    "ExportedSession": {
        "created_at": ("登录时间", AT),
        "expires_at": ("该登录的过期时间", "2026-05-31T09:00:00+08:00"),
    },
    "ExportedEnrollment": {
        "task_id": ("任务 id", ID),
        "task_title": ("任务名称", "走进石亭子村：拍摄村容村貌"),
        "status": ("报名状态：" + _choices("enrollment status") + "；" + ENROLLMENT_WITHDRAWN, "checked_in"),
        "enrolled_at": ("报名时间", AT),
        "checked_in_at": ("签到时间；未签到为 null", LATER),
        "checkin_lat": ("签到时的纬度；扫码签到或未签到为 null", 26.7912),
        "checkin_lng": ("签到时的经度", 112.1105),
        "checked_out_at": ("签退时间；未签退为 null", None),
    },
    "ExportedPhoto": {
        "id": ("图片 id", ID),
        "uploaded_at": ("上传时间", AT),
        "taken_at": ("拍摄时间（取自照片 EXIF）；没有时为 null", AT),
        "lat": ("拍摄地纬度（取自照片 EXIF）；没有时为 null", 26.7912),
        "lng": ("拍摄地经度", 112.1105),
        "width": ("宽（像素）", 4032),
        "height": ("高（像素）", 3024),
    },
    "ExportedSubmission": {
        "id": ("提交 id", ID),
        "task_id": ("任务 id", ID),
        "status": ("审核状态：" + _choices("submission status") + "；" + SUBMISSION_WITHDRAWN, "approved"),
        "text": ("提交的文字说明", "今天和村民一起拍摄了新修的文化广场。"),
        "links": ("附带的链接", ["https://mp.weixin.qq.com/s/AbCdEf123"]),
        "lat": ("提交时的纬度；没有时为 null", 26.7912),
        "lng": ("提交时的经度", 112.1105),
        "created_at": ("提交时间", LATER),
    },
    "ExportedReview": {
        "decision": ("审核结论", "approve"),
        "reason": ("审核理由；没有时为 null", "照片清晰，内容符合要求"),
        "points": ("通过时给的积分；不通过为 null", 10),
        "reviewed_at": ("审核时间", LATER),
    },
    "ExportedCertificate": {
        "serial": ("证明编号", "WM-20260501-7KQ2M9XA"),
        "name": ("证明上的姓名（开具时的昵称）", "志愿者小李"),
        "org": ("证明上的所属组织（从县到本级的名称连写）；没有组织时为空字符串", "祁东县洪桥街道"),
        "service_hours": ("证明上的志愿服务时长（小时）", 36.5),
        "credit_hours": ("证明上的信用时长（小时）", 30.5),
        "honour_hours": ("证明上的荣誉时长（小时）", 6),
        "approved_tasks": ("证明上审核通过的任务数", 12),
        "issued_on": ("开具日期", "2026-05-01"),
    },
    "ExportedOrgRequest": {
        "id": ("申请 id", ID),
        "from_org_id": ("申请时所在的组织 id；没有时为 null", "3"),
        "to_org_id": ("申请加入的组织 id", "5"),
        "status": ("申请状态；" + REQUEST_CANCELLED, "approved"),
        "reason": ("审核意见；没有时为 null", "已核实为本村常住居民"),
        "created_at": ("提交申请的时间", AT),
        "decided_at": ("审核时间；未审核或已撤回为 null", LATER),
    },
    "PersonalData": {
        "exported_at": ("导出时间", LATER),
        "user": ("账号资料（手机号为完整号码）",),
        "sessions": ("有效的登录会话",),
        "enrollments": ("报名记录",),
        "photos": ("上传过的照片",),
        "submissions": ("提交过的任务材料",),
    },
    "Health": {
        "status": ("进程状态", "ok"),
        "checks": (None, {"database": "ok", "redis": "ok"}),
    },
    "CampaignCreate": {
        "title": ("活动名称，1–100 字", "网络大V进乡村·走进石亭子村"),
        "kind": ("活动类型", "village_visit"),
        "description": ("活动介绍，最多 5000 字", "邀请本地网络达人走进乡村，记录乡村振兴新面貌。"),
        "org_id": ("主办组织 id，须在调用者的管辖范围内", "3"),
        "starts_at": ("开始时间", AT),
        "ends_at": ("结束时间，须晚于开始时间", "2026-05-31T18:00:00+08:00"),
        "cover_media_id": ("封面图：先用 POST /media 上传，再传回它的 id", ID),
    },
    "CampaignUpdate": {
        "title": ("活动名称，1–100 字", "网络大V进乡村·走进石亭子村"),
        "kind": ("活动类型", "village_visit"),
        "description": ("活动介绍，最多 5000 字", "邀请本地网络达人走进乡村，记录乡村振兴新面貌。"),
        "starts_at": ("开始时间", AT),
        "ends_at": ("结束时间，须晚于开始时间", "2026-05-31T18:00:00+08:00"),
        "cover_media_id": ("封面图：先用 POST /media 上传，再传回它的 id", ID),
    },
    "CampaignRead": {
        "id": ("活动 id", ID),
        "title": ("活动名称", "网络大V进乡村·走进石亭子村"),
        "kind": ("活动类型", "village_visit"),
        "description": ("活动介绍", "邀请本地网络达人走进乡村，记录乡村振兴新面貌。"),
        "org": ("主办组织",),
        "starts_at": ("开始时间", AT),
        "ends_at": ("结束时间", "2026-05-31T18:00:00+08:00"),
        "cover_url": ("封面图的签名地址；没有封面为 null", URL),
        "status": ("活动状态", "published"),
        "created_at": ("创建时间", AT),
    },
    "CampaignList": {"items": ("本页活动，新的在前",)},
    "CampaignSummary": {
        "tasks": ("任务数", 4),
        "enrolled": ("报名人次（含已签到、已提交）", 86),
        "checked_in": ("签到人次", 70),
        "submitted": ("提交材料人次", 64),
        "withdrawn": ("取消报名人次", 5),
        "approved": ("审核通过的提交数（按提交计，不是人数：被驳回后重新提交并通过的，通过与未通过各计一次）", 58),
        "rejected": ("未通过的提交数（按提交计）", 6),
    },
    "CampaignQuery": {
        "status": ("按活动状态筛选", "published"),
        "kind": ("按活动类型筛选", "village_visit"),
        "org_id": ("只看该组织及其下级主办的活动", "3"),
    },
    "Location": {
        "name": ("地点名称，最多 100 字", "石亭子村文化广场"),
        "lat": ("纬度（GCJ-02，与小程序 wx.getLocation 一致），-90 到 90", 26.7912),
        "lng": ("经度，-180 到 180", 112.1105),
        "radius_m": ("签到半径（米），1–50000", 500),
    },
    "Audience": {
        "roles": ("可报名的角色；空表示不限", ["volunteer", "influencer"]),
        "org_ids": ("可报名的组织（含其下级）id，最多 50 个；空表示不限", ["3"]),
    },
    "TaskFields": {
        "title": ("任务名称，1–100 字", "拍摄村容村貌并发布短视频"),
        "description": ("任务要求，最多 5000 字", "到文化广场拍摄 3 张以上照片，配一段 50 字以上的文字。"),
        "starts_at": ("开始时间", AT),
        "ends_at": ("结束时间，须晚于开始时间", LATER),
        "quota": ("名额；null 表示不限", 30),
        "points": ("审核通过可得积分", 10),
        "service_hours": ("审核通过可计的志愿服务时长（小时），最多两位小数", 2.5),
        "min_photos": ("至少上传的照片数，0–9", 1),
        "max_photos": ("最多上传的照片数，1–9，不小于 min_photos", 9),
        "location": ("任务地点与签到范围；null 表示不限地点",),
        "checkin_required": ("提交材料前是否须现场签到", False),
        "checkout_required": (
            "是否须现场签退：是则服务时长按签到至签退的时间计（按半小时向下取整，不超过 service_hours）。"
            "须设置地点或要求签到；线上任务不能要求签退",
            False,
        ),
        "audience": ("面向的人群；null 表示所有志愿者与达人",),
        "quiz": ("答题设置（网络普法）；null 表示不设答题",),
        "online": ("线上传播任务的设置；null 表示不是线上任务。线上任务无需地点与签到（不能同时要求签到）",),
    },
    "TaskUpdate": {
        "title": ("任务名称，1–100 字", "拍摄村容村貌并发布短视频"),
        "description": ("任务要求，最多 5000 字", "到文化广场拍摄 3 张以上照片，配一段 50 字以上的文字。"),
        "starts_at": ("开始时间", AT),
        "ends_at": ("结束时间，须晚于开始时间", LATER),
        "quota": ("名额；不能少于已报名人数", 30),
        "points": ("审核通过可得积分", 10),
        "service_hours": ("审核通过可计的志愿服务时长（小时）", 2.5),
        "min_photos": ("至少上传的照片数", 1),
        "max_photos": ("最多上传的照片数", 9),
        "location": ("任务地点与签到范围",),
        "checkin_required": ("提交材料前是否须现场签到", False),
        "checkout_required": ("是否须现场签退（服务时长按签到至签退的时间计）", True),
        "audience": ("面向的人群",),
        "quiz": ("答题设置，整体替换；null 取消答题",),
        "online": ("线上传播任务的设置，整体替换；null 改为非线上任务",),
    },
    "EnrollmentRead": {
        "id": ("报名 id", ID),
        "task_id": ("任务 id", ID),
        "user_id": ("报名人 id", "2048"),
        "status": ("报名状态；" + ENROLLMENT_WITHDRAWN, "enrolled"),
        "enrolled_at": ("报名时间", AT),
        "checked_in_at": ("签到时间；未签到为 null", None),
        "checked_out_at": ("签退时间；未签退为 null", None),
    },
    "LocationRead": {
        "name": ("地点名称", "石亭子村文化广场"),
        "lat": ("纬度（GCJ-02）", 26.7912),
        "lng": ("经度（GCJ-02）", 112.1105),
        "radius_m": ("签到半径（米）", 500),
    },
    "AudienceRead": {
        "roles": ("可报名的角色：" + _choices("role") + "；空表示不限", ["volunteer", "influencer"]),
        "org_ids": ("可报名的组织（含其下级）id；空表示不限", ["3"]),
    },
    "TaskRead": {
        "id": ("任务 id", ID),
        "campaign_id": ("所属活动 id", "12"),
        "title": ("任务名称", "拍摄村容村貌并发布短视频"),
        "description": ("任务要求", "到文化广场拍摄 3 张以上照片，配一段 50 字以上的文字。"),
        "starts_at": ("开始时间", AT),
        "ends_at": ("结束时间", LATER),
        "quota": ("名额；null 表示不限", 30),
        "points": ("审核通过可得积分", 10),
        "service_hours": ("审核通过可计的志愿服务时长（小时）", 2.5),
        "min_photos": ("至少上传的照片数", 1),
        "max_photos": ("最多上传的照片数", 9),
        "location": ("任务地点与签到范围；null 表示不限地点",),
        "checkin_required": ("提交材料前是否须现场签到", True),
        "checkout_required": ("是否须现场签退；是则服务时长按签到至签退的时间计，不超过 service_hours", True),
        "audience": ("面向的人群；null 表示所有志愿者与达人",),
        "status": ("任务状态（按当前时间计算）", "open"),
        "enrolled_count": ("已报名人数", 12),
        "my_enrollment": ("我的报名；未报名为 null",),
        "quiz": ("答题设置（不含题目）；没有答题为 null",),
        "online": ("线上传播任务的设置；不是线上任务为 null",),
        "distance_m": ("与 near 参数所给位置的距离（米）；未传 near 或任务无地点时为 null", 850),
    },
    "TaskList": {"items": ("本页任务；传 near 时按距离由近到远",)},
    "TaskQuery": {
        "campaign_id": ("只看该活动的任务", "12"),
        "status": ("按任务状态筛选", "open"),
        "mine": ("为 1 时只看我报名的任务", "1"),
        "near": ("我的位置“纬度,经度”，传了则按距离排序并返回 distance_m", "26.7912,112.1105"),
    },
    "CheckinIn": {
        "lat": ("当前纬度（wx.getLocation，GCJ-02）；与 lng 一起传", 26.7912),
        "lng": ("当前经度；与 lat 一起传", 112.1105),
        "accuracy": (f"定位精度（米），可放宽签到距离，最多 {MAX_ACCURACY_ALLOWANCE_M} 米", 30.0),
        "scene": ("扫描任务签到小程序码得到的 scene；用它签到时不需要 lat、lng", "t1024.Xk3p9Q"),
    },
    "CheckoutIn": {
        "accuracy_m": (
            f"定位精度（米，与 accuracy 相同，任传其一），可放宽签退距离，最多 {MAX_ACCURACY_ALLOWANCE_M} 米",
            30.0,
        ),
    },
    "EnrollmentRow": {
        "enrollment": ("报名记录",),
        "user": ("报名人",),
        "checkin_method": ("签到方式：gps（定位签到）、scene（扫码签到）；未签到为 null", "gps"),
        "checkin_distance_m": ("定位签到时与任务地点的距离（米）；其余为 null", 120),
    },
    "EnrollmentList": {"items": ("本页报名，按报名先后",)},
    "ReviewIn": {
        "decision": ("审核结论", "approve"),
        "reason": ("理由，最多 200 字；不通过时建议填写，会展示给提交人", "照片清晰，内容符合要求"),
        "points": (f"默认任务积分，可调整为 0 到 {MAX_POINTS_FACTOR} 倍", 10),
        "service_hours": (
            "通过时计的服务时长（小时），0 到任务的 service_hours；不传时：需签退的任务按签到至签退的时间"
            "（半小时向下取整，未签退为 0），其余任务为任务的 service_hours",
            2.5,
        ),
    },
    "BatchIn": {
        "decision": ("审核结论，对所有提交相同", "approve"),
        "ids": ("提交 id，1–100 个，重复的只算一次", ["1024", "1025"]),
        "reason": ("理由，最多 200 字", "材料齐全"),
    },
    "BatchOut": {
        "done": ("审核成功的提交 id", ["1024"]),
        "failed": (None, {"1025": "not_found"}),
    },
    "QueueQuery": {
        "campaign_id": ("只看该活动的提交", "12"),
        "status": ("按审核状态筛选；" + SUBMISSION_WITHDRAWN, "pending"),
    },
    "LedgerRead": {
        "id": ("明细 id", ID),
        "kind": ("类型", "award"),
        "points": ("积分变化；撤销为负数", 10),
        "service_hours": ("志愿服务时长变化（小时）；撤销为负数", 2.5),
        "hours_kind": (
            "时长类别：credit（信用时长，本人签到签退或补录所得）、honour（荣誉时长，管理员授予，不计积分）",
            "credit",
        ),
        "reason": ("说明", "任务“拍摄村容村貌并发布短视频”审核通过"),
        "submission_id": ("相关提交 id（审核通过，或该提交的传播与转载奖励）；没有时为 null", ID),
        "created_at": ("记账时间", LATER),
    },
    "LedgerPage": {"items": ("本页明细，新的在前",)},
    "BoardQuery": {
        "scope": (None, "week"),
        "limit": ("显示前多少名，1–100，默认 20", 20),
    },
    "RankedUser": {
        "id": (None, "2048"),
        "nickname": ("昵称；不公开的显示为“匿名用户”", "志愿者小李"),
        "avatar_url": ("头像缩略图的签名地址；匿名或未设置为 null", URL),
        "org": ("所属组织；匿名或未设置为 null", ORG),
    },
    "BoardItem": {
        "rank": ("名次；积分相同名次相同（1、2、2、4）", 1),
        "user": ("上榜的人",),
        "points": ("该范围内的积分；reach 范围为浏览量合计", 120),
        "views": ("reach 范围才有：已通过的作品最新浏览量合计（与 points 相同）", 52000),
        "is_me": ("是否是我", False),
    },
    "MyRank": {
        "rank": ("我的名次", 15),
        "points": ("我在该范围内的积分；reach 范围为浏览量合计", 40),
        "views": ("reach 范围才有：我已通过的作品最新浏览量合计", 8600),
    },
    "BoardOut": {
        "scope": ("实际使用的范围：all、week、month、campaign:<id>、org:<id>、reach、reach:week、reach:month", "week"),
        "items": ("榜单，名次从高到低",),
        "me": ("我的名次；我在该范围内没有积分时为 null",),
    },
    "OrgBoardQuery": {
        "scope": ("范围：all（默认）、week、month、campaign:<id>", "month"),
        "per_capita": ("为 1 时按人均积分排名", "1"),
        "parent_id": (None, "1"),
    },
    "OrgBoardItem": {
        "rank": ("名次；积分相同名次相同", 1),
        "org": ("组织",),
        "points": ("该组织及其下级成员在该范围内的积分合计", 860),
        "members": (None, 42),
        "per_capita": ("人均积分（积分 ÷ 人数）", 20.48),
    },
    "OrgBoardOut": {
        "scope": ("实际使用的范围", "month"),
        "parent": ("排名的是这个组织的下级",),
        "per_capita": ("是否按人均积分排名", False),
        "items": ("榜单，名次从高到低",),
    },
    "MediaRead": {
        "id": ("图片 id；提交材料、设头像、设封面时传它", ID),
        "width": ("宽（像素，已按拍摄方向摆正）", 1280),
        "height": ("高（像素）", 960),
        "content_type": ("文件类型", "image/jpeg"),
        "url": (None, URL),
        "thumb_url": (None, URL.replace("-display", "-thumb")),
        "original_url": (None, URL.replace("-display", "")),
        "sha256": (
            "原图内容的 SHA-256（十六进制）",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ),
        "taken_at": ("拍摄时间（取自 EXIF，仅作证据，文件本身已去除 EXIF）；没有时为 null", AT),
        "has_location": ("原图是否带 GPS 位置（位置只保存在服务端）", True),
    },
    "EvidenceMedia": {
        "lat": ("拍摄地纬度（取自原图 EXIF）；没有时为 null", 26.7912),
        "lng": ("拍摄地经度；没有时为 null", 112.1105),
        "check": ("微信内容安全检测结果", "pass"),
    },
    "SubmissionIn": {
        "media_ids": (
            "照片 id（先用 POST /media 逐张上传），不可重复，张数须在任务的 min_photos 与 max_photos 之间",
            ["1024"],
        ),
        "text": ("文字说明，最多 2000 字", "今天和村民一起拍摄了新修的文化广场。"),
        "lat": ("提交时的纬度；与 lng 同时传或都不传", 26.7912),
        "lng": ("提交时的经度", 112.1105),
        "links": (
            "相关链接（如发布的文章、视频），http:// 或 https:// 开头，每个最多 2048 字符，最多 10 个；"
            "线上传播任务须是任务要求平台上的作品链接",
            ["https://mp.weixin.qq.com/s/AbCdEf123"],
        ),
    },
    "ReviewRead": {
        "decision": ("审核结论", "approve"),
        "reason": ("审核理由；没有时为 null", "照片清晰，内容符合要求"),
        "points": ("通过时给的积分；不通过为 null", 10),
        "reviewed_at": ("审核时间", LATER),
    },
    "RiskRead": {
        "duplicate_of": (None, ["1019"]),
        "outside_area": (None, False),
        "outside_window": (None, False),
        "content": ("内容安全检测的综合结果", "pass"),
        "link_used": (None, ["1017"]),
        "account_unverified": (None, ["weibo"]),
    },
    "SubmissionRead": {
        "id": ("提交 id", ID),
        "task_id": ("任务 id", ID),
        "task_title": ("任务名称", "拍摄村容村貌并发布短视频"),
        "user": ("提交人",),
        "status": ("审核状态；" + SUBMISSION_WITHDRAWN, "pending"),
        "text": ("文字说明", "今天和村民一起拍摄了新修的文化广场。"),
        "media": ("照片；工作人员看到的还含拍摄位置与检测结果",),
        "links": ("相关链接", ["https://mp.weixin.qq.com/s/AbCdEf123"]),
        "lat": ("提交时的纬度；没有时为 null", 26.7912),
        "lng": ("提交时的经度；没有时为 null", 112.1105),
        "created_at": ("提交时间", LATER),
        "review": ("审核结果；未审核为 null",),
        "risk": (None,),
    },
    "SubmissionList": {"items": ("本页提交",)},
    "SubmissionQuery": {
        "mine": ("为 1 时只看我自己的（志愿者总是只看自己的）", "1"),
        "task_id": ("只看该任务的提交", ID),
        "status": ("按审核状态筛选；" + SUBMISSION_WITHDRAWN, "pending"),
    },
    "AuditQuery": {
        "actor": (None, "7"),
        "from_": ("开始日期（含），北京时间", "2026-05-01"),
        "to": ("结束日期，北京时间", "2026-05-31"),
    },
    "AuditRead": {
        "id": ("记录 id", ID),
        "actor": ("操作人；已注销为 null",),
        "action": (
            "操作：publish（发布活动）、close（结束活动）、cancel（取消任务）、review（审核）、"
            "role_change（调整角色或组织）、export（导出报表）、roster_import（导入名单）、org_rename（组织改名）、"
            "org_change_request（志愿者或达人申请变更组织）、org_change_cancel（撤回组织变更申请）、"
            "org_change_approve（批准组织变更）、org_change_refuse（拒绝组织变更）、"
            "question_create（新建题目）、question_update（修改题目）、question_retire（停用或删除题目）、"
            "question_import（导入题库）、honour_hours（授予荣誉时长）、org_certificate（设置证明签发信息）",
            "publish",
        ),
        "target": ("操作对象，如 campaign:12、task:1024、submission:1024、user:2048", "campaign:12"),
        "details": ("操作详情，随操作而不同", {"title": "网络大V进乡村·走进石亭子村"}),
        "created_at": ("操作时间", AT),
    },
    "AuditList": {"items": ("本页记录，新的在前",)},
    "CertificateCheck": {
        "serial": ("证明编号", "WM-20260501-7KQ2M9XA"),
        "name": ("证明上的姓名", "志愿者小李"),
        "service_hours": ("证明上的志愿服务时长（小时）", 36.5),
        "credit_hours": ("证明上的信用时长（小时）", 30.5),
        "honour_hours": ("证明上的荣誉时长（小时）", 6),
        "issued_on": ("开具日期", "2026-05-01"),
        "issuer": ("开具单位：持证人所属组织树的最上级组织（如县）；没有组织时为平台名称", "祁东县"),
        "valid": ("是否仍然有效：时长被撤销或账号注销后失效", True),
    },
    "OrgCertificateIn": {
        "leader": ("负责人姓名，1–32 个字符", "王建国"),
        "handler": ("经办人姓名，1–32 个字符", "李红"),
        "contact": ("联系电话：数字、+、-、括号、空格或“转”，5–32 个字符", "0734-6123456"),
    },
    "OrgCertificateRead": {
        "org_id": ("组织 id", "1"),
        "leader": ("负责人", "王建国"),
        "handler": ("经办人", "李红"),
        "contact": ("联系电话", "0734-6123456"),
    },
    "ReportQuery": {
        "from_": ("开始日期（含），北京时间", "2026-05-01"),
        "to": ("结束日期，北京时间", "2026-05-31"),
        "org_id": ("只统计该组织及其下级，默认调用者的组织", "3"),
        "campaign_id": ("只统计该活动", "12"),
    },
    "HourRequestIn": {
        "task_id": ("补录哪个任务的服务时长；须在该任务的参与范围内，无需报名", ID),
        "started_at": ("实际开始服务的时间，须在任务时间前后 2 小时内", "2026-05-01T09:00:00+08:00"),
        "ended_at": ("实际结束服务的时间：晚于开始时间、不晚于现在，须在任务时间前后 2 小时内", LATER),
        "note": ("情况说明，最多 200 字，如为何没有签到签退", "手机没电，未能签到，现场有村委会工作人员可证明"),
        "media_ids": ("证明照片 id（本人上传，最多 3 张，不重复）", ["2048"]),
    },
    "HourReviewIn": {
        "decision": ("审核结论", "approve"),
        "reason": ("审核意见，最多 200 字；驳回时必填，会展示给申请人", "时间与现场记录一致"),
    },
    "HourRequestRead": {
        "id": ("补录申请 id", ID),
        "task_id": ("任务 id", ID),
        "task_title": ("任务名称", "石亭子村网络普法宣传"),
        "status": ("审核状态", "pending"),
        "started_at": ("申请的开始时间", AT),
        "ended_at": ("申请的结束时间", LATER),
        "hours": ("申请时间折合的服务时长（小时）：按半小时向下取整，不超过任务的服务时长", 3.5),
        "note": ("情况说明", "手机没电，未能签到"),
        "photos": ("证明照片（签名地址，会过期）",),
        "reason": ("审核意见；未审核为 null", "时间与现场记录一致"),
        "awarded_hours": (
            "通过时计入的信用时长（小时）：不超过任务服务时长减去该任务已计的时长；未通过为 0",
            3.5,
        ),
        "awarded_points": ("通过时计入的积分：该任务此前没有通过的提交或补录时为任务积分，否则为 0", 10),
        "award_note": ("通过时计入少于申请或未计积分的原因；其余为 null", None),
        "created_at": ("申请时间", LATER),
        "reviewed_at": ("审核时间；未审核为 null", LATER),
        "user": ("申请人（仅工作人员可见）",),
    },
    "HourRequestList": {"items": ("本页补录申请，新的在前",)},
    "HourRequestQuery": {
        "mine": ("为 1 时只看我自己的（志愿者总是只看自己的）", "1"),
        "status": ("按审核状态筛选", "pending"),
        "task_id": ("只看该任务的补录申请", ID),
    },
    "ExportedHourRequest": {
        "id": ("补录申请 id", ID),
        "task_id": ("任务 id", ID),
        "task_title": ("任务名称", "石亭子村网络普法宣传"),
        "started_at": ("申请的开始时间", AT),
        "ended_at": ("申请的结束时间", LATER),
        "hours": ("申请的服务时长（小时）", 3.5),
        "note": ("情况说明", "手机没电，未能签到"),
        "media_ids": ("证明照片 id", ["2048"]),
        "status": ("审核状态", "approved"),
        "reason": ("审核意见", "时间与现场记录一致"),
        "awarded_hours": ("计入的信用时长（小时）", 3.5),
        "awarded_points": ("计入的积分", 10),
        "created_at": ("申请时间", LATER),
        "reviewed_at": ("审核时间", LATER),
    },
    "MessageReportQuery": {
        "from_": ("开始日期（含），北京时间：统计这段时间内提交的留言", "2026-05-01"),
        "to": ("结束日期（含），北京时间", "2026-05-31"),
        "org_id": ("按该组织的各下级组织分行统计，默认调用者的组织", "1"),
    },
    "RosterRowError": {
        "row": ("Excel 中的行号（表头为第 1 行）", 5),
        "message": ("出错原因", "手机号格式不正确"),
    },
    "RosterResult": {
        "created": ("新建的人数", 20),
        "updated": ("更新的人数", 3),
        "unchanged": ("无变化的人数", 10),
        "errors": ("出错的行；有错的行不导入，其余照常导入",),
    },
    "QuestionCreate": {
        "type": ("题型", "single"),
        "stem": QUESTION_STEM,
        "options": QUESTION_OPTIONS,
        "answer": QUESTION_ANSWER,
        "explanation": QUESTION_EXPLANATION,
        "tags": QUESTION_TAGS,
        "difficulty": QUESTION_DIFFICULTY,
        "org_id": ("题目所属组织 id，须在调用者的管辖范围内；不传为调用者所在组织", "3"),
    },
    "QuestionUpdate": {
        "type": ("题型；改为判断题时选项随之清空", "single"),
        "stem": QUESTION_STEM,
        "options": QUESTION_OPTIONS,
        "answer": QUESTION_ANSWER,
        "explanation": QUESTION_EXPLANATION,
        "tags": QUESTION_TAGS,
        "difficulty": QUESTION_DIFFICULTY,
    },
    "QuestionRead": {
        "id": ("题目 id", ID),
        "type": ("题型", "single"),
        "stem": ("题干", QUESTION_STEM[1]),
        "options": ("选项，按保存的顺序；判断题为空列表", QUESTION_OPTIONS[1]),
        "answer": QUESTION_ANSWER,
        "explanation": ("解析", QUESTION_EXPLANATION[1]),
        "tags": ("标签", QUESTION_TAGS[1]),
        "difficulty": QUESTION_DIFFICULTY,
        "status": ("状态：停用的题目不再被抽取，但曾经的答题记录照常可查", "active"),
        "org_id": ("题目所属组织 id", "3"),
        "created_at": ("创建时间", AT),
    },
    "QuestionList": {"items": ("本页题目，新的在前",)},
    "QuestionQuery": {
        "tag": ("只看带该标签的题目", "宪法"),
        "type": ("按题型筛选", "multi"),
        "q": ("按题干中的文字查找", "个人信息"),
        "retired": ("为 1 时也列出已停用的题目；默认只列在用的", "1"),
    },
    "ImportQuery": {"org_id": ("导入到该组织的题库，须在调用者的管辖范围内；不传为调用者所在组织", "3")},
    "QuestionRowError": {
        "row": ("表格中的行号（表头为第 1 行）", 5),
        "reason": ("出错原因", "答案中的 E 超出了已填写的选项（共 4 个）"),
    },
    "QuestionImportResult": {
        "created": ("新建的题目数", 30),
        "errors": ("出错的行；有错的行不导入（题干重复的也不合并），其余照常导入",),
    },
    "QuizSettings": {
        "count": ("每次答题抽取的题数，1–100；题库中符合条件的有效题目须不少于此数", 10),
        "tags": ("只抽带有其中任一标签的题；null 或空表示不限", ["宪法", "网络安全法"]),
        "types": ("只抽这些题型：" + _choices("question type") + "；null 表示不限", ["single", "multi", "judge"]),
        "time_limit_s": ("答题限时（秒），30–7200，从开始答题时计算", 600),
        "attempts_per_day": ("每人每天（北京时间）可答次数，1–20", 3),
        "pass_score": ("及格分（百分制），0–100", 60),
        "points": ("及格可得积分，0–1000；每人每个任务每天最多得一次", 5),
    },
    "OnlineSettings": {
        "platforms": ("作品须发布在这些平台之一：" + _choices("platform"), ["douyin", "weibo"]),
        "require_link": ("提交时是否必须填写作品链接", True),
        "own_account": ("链接能看出发布账号时，是否须为提交人已认证的该平台账号", True),
        "reach_tiers": ("传播档位，按浏览量从低到高；审核通过后，最新传播数据每达到一档得该档积分一次",),
        "repost_bonus": ("作品被各级官方平台转载的奖励积分（工作人员登记，每级一次）",),
        "share_points": ("每有一人经分享卡片打开任务，分享人可得的积分，0 表示不奖励", 1),
        "share_daily_cap": ("每人每天因分享被打开最多得积分的次数", 10),
    },
    "OnlineRead": {
        "platforms": ("作品须发布在这些平台之一：" + _choices("platform"), ["douyin", "weibo"]),
        "require_link": ("提交时是否必须填写作品链接", True),
        "own_account": ("链接能看出发布账号时，是否须为提交人已认证的该平台账号", True),
        "reach_tiers": ("传播档位，按浏览量从低到高", [{"views": 10000, "points": 5}, {"views": 100000, "points": 20}]),
        "repost_bonus": ("作品被各级官方平台转载的奖励积分", {"county": 1, "city": 2, "province": 3, "national": 5}),
        "share_points": ("每有一人经分享卡片打开任务，分享人可得的积分，0 表示不奖励", 1),
        "share_daily_cap": ("每人每天因分享被打开最多得积分的次数", 10),
    },
    "ReachTier": {
        "views": ("浏览量达到此数", 10000),
        "points": ("可得积分", 5),
    },
    "RepostBonus": {
        "county": ("县级官方平台转载的积分", 1),
        "city": ("市级官方平台转载的积分", 2),
        "province": ("省级官方平台转载的积分", 3),
        "national": ("国家级官方平台转载的积分", 5),
    },
    "QuizRead": {
        "count": ("每次答题的题数", 10),
        "time_limit_s": ("答题限时（秒）", 600),
        "attempts_per_day": ("每人每天可答次数", 3),
        "pass_score": ("及格分（百分制）", 60),
        "points": ("及格可得积分（每人每个任务每天最多一次）", 5),
    },
    "QuestionShown": {
        "id": ("题目 id，作答时放在路径中", "512"),
        "type": ("题型", "single"),
        "stem": ("题干", "《中华人民共和国网络安全法》自哪一年起施行？"),
        "options": ("选项，按本次答题的顺序排列（每次答题顺序不同）；判断题为空数组", ["2016年", "2017年", "2018年"]),
    },
    "QuizAttemptStarted": {
        "id": ("答题记录 id", "4096"),
        "task_id": ("任务 id", ID),
        "questions": ("本次抽到的题目，按顺序",),
        "started_at": ("开始时间（服务器时间）", AT),
        "deadline": ("截止时间：开始时间加答题限时；之后不能再作答", "2026-05-01T09:10:00+08:00"),
    },
    "AnswerIn": {
        "choice": (
            "所选选项的序号（从 0 起，按本次显示的顺序）：单选一个、多选至少一个；判断题为 true（对）或 false（错）",
            [1],
        ),
    },
    "QuestionResult": {
        "question_id": ("题目 id", "512"),
        "correct": ("是否答对；多选题须恰好选中全部正确选项", True),
        "choice": ("我的作答（按本次显示的顺序）；未作答或超时作答为 null", [1]),
        "answer": ("正确答案（按本次显示的顺序）；判断题为 true 或 false", [1]),
        "explanation": ("解析", "网络安全法于2016年11月7日通过，2017年6月1日起施行。"),
    },
    "QuizResult": {
        "score": ("得分（百分制，保留一位小数）", 80.0),
        "passed": ("是否及格", True),
        "points_awarded": ("本次获得的积分；当天已因及格得过积分的为 0", 5),
        "results": ("各题结果，按答题顺序",),
    },
    "ChoiceRead": {
        "question_id": ("题目 id", "512"),
        "choice": ("我的作答（按本次显示的顺序）", [1]),
    },
    "QuizAttemptRead": {
        "id": ("答题记录 id", "4096"),
        "task_id": ("任务 id", ID),
        "user_id": ("答题人 id", "2048"),
        "questions": ("本次抽到的题目，按顺序",),
        "choices": ("已作答的题",),
        "started_at": ("开始时间", AT),
        "deadline": ("截止时间", "2026-05-01T09:10:00+08:00"),
        "finished_at": ("交卷时间；超时未交卷的由服务器在截止时交卷；未交卷为 null", "2026-05-01T09:08:00+08:00"),
        "score": ("得分（百分制，一位小数）；未交卷为 null", 80.0),
        "passed": ("是否及格；未交卷为 null", True),
        "points_awarded": ("本次获得的积分", 5),
        "results": ("各题结果；交卷后才有，之前为 null",),
    },
    "QuestionStatRead": {
        "question_id": ("题目 id", "512"),
        "stem": ("题干", "《中华人民共和国网络安全法》自哪一年起施行？"),
        "answered": ("已交卷的答题中作答此题的次数", 40),
        "correct_rate": ("答对率（%，一位小数）", 37.5),
    },
    "OrgStatRead": {
        "org_id": ("答题人现在所属的组织 id；未设置组织为 null", "3"),
        "org_name": ("组织名称", "洪桥街道"),
        "people": ("交过卷的人数", 25),
        "passed": ("及格过的人数", 20),
    },
    "QuizStatsRead": {
        "attempts": ("已交卷的答题次数", 60),
        "people": ("交过卷的人数", 42),
        "pass_rate": ("及格率（%，一位小数，按已交卷的次数）；还没有人交卷为 null", 75.0),
        "questions": ("各题答题情况，答对率最低的在前",),
        "orgs": ("按组织的参与情况，人数多的在前",),
    },
    "ExportedReach": {
        "submission_id": ("作品所属的提交 id", ID),
        "views": ("浏览量", 12800),
        "likes": ("点赞数", 640),
        "comments": ("评论数", 80),
        "shares": ("转发数", 53),
        "captured_at": ("截图时间", AT),
        "correction": ("是否为工作人员的更正", False),
        "created_at": ("记录时间", LATER),
    },
    "ExportedShare": {
        "task_id": ("分享的任务 id", ID),
        "shared_at": ("第一次分享的时间", AT),
        "opens": ("被他人打开的人次", 3),
    },
    "ExportedShareOpen": {
        "task_id": ("任务 id", ID),
        "opened_at": ("打开时间", AT),
    },
    "ExportedQuizAttempt": {
        "id": ("答题记录 id", "4096"),
        "task_id": ("任务 id", ID),
        "task_title": ("任务名称", "网络普法知识答题"),
        "started_at": ("开始时间", AT),
        "deadline": ("截止时间", "2026-05-01T09:10:00+08:00"),
        "finished_at": ("交卷时间；未交卷为 null", "2026-05-01T09:08:00+08:00"),
        "score": ("得分（百分制）；未交卷为 null", 80.0),
        "passed": ("是否及格；未交卷为 null", True),
        "points_awarded": ("获得的积分", 5),
    },
    "PushQuery": {
        "signature": ("微信的签名（由微信服务器生成）", "c61b3fa5d2c7e8a4b1f0e9d8c7b6a5f4e3d2c1b0"),
        "timestamp": ("时间戳（秒），与服务器时间相差超过 5 分钟即拒绝", "1767225600"),
        "nonce": ("随机数，同一个只接受一次", "1514711492"),
        "echostr": ("地址校验时微信给的随机串，原样返回", "7208397366484410561"),
        "encrypt_type": ("安全模式时为 aes", "aes"),
        "msg_signature": ("安全模式下消息体的签名", "2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f"),
        "openid": ("相关用户的 openid（微信附带）", "oXyZ-1a2b3c4d5e6f7g8h9i0jklmno"),
    },
}

# -- operations, by handler module and function -------------------------------------------------

OPERATIONS: dict[str, str] = {
    "auth.wechat_login": "用小程序 `wx.login` 得到的 code 换取访问令牌；首次登录自动注册为志愿者。code 只能用一次。",
    "auth.phone": "用 `getPhoneNumber` 得到的 code 绑定微信验证过的手机号；返回资料中手机号脱敏显示。",
    "auth.logout": "退出登录：本次请求所用的令牌立即失效。",
    "me.get_me": f"我的资料，含积分、志愿服务时长与星级，以及待审核的组织变更（`pending_org`）"
    f"与未读通知数（`unread_notices`）。{STAR_RULE}。",
    "me.patch_me": (
        "修改昵称、头像、所属组织（志愿者与达人）或是否在排行榜公开。只传要改的字段。"
        "首次选择组织立即生效；之后再改成为组织变更申请，经新组织的工作人员批准后生效（见 `pending_org`），"
        "改回原组织即撤回申请。"
    ),
    "me.my_points": "我的积分明细，新的在前：每一次获得与每一次撤销。",
    "me.export_me": (
        "导出服务保存的关于我的全部个人信息（手机号为完整号码）：资料、登录会话、报名、照片、提交与审核结果、"
        "积分明细、志愿服务证明、组织变更申请、平台账号与答题记录（不含题目答案）。"
    ),
    "me.delete_me": (
        "注销账号：删除个人信息与照片，所有登录失效；待审核的提交与组织变更申请撤回，"
        "未获审核通过的报名让出名额；已获得的积分保留但匿名。"
    ),
    "certificates.my_certificate": "我的志愿服务证明（PNG 图片，可打印），含审核通过的服务时长与可验证的证明编号。",
    "certificates.check": (
        "凭证明编号验证一份志愿服务证明：只返回姓名、时长（含信用时长与荣誉时长）、开具日期与是否有效。"
        "证明上的二维码打开的是网页 /verify/{serial}（姓名部分隐去）。"
    ),
    "orgs.list_orgs": "整棵组织树，顶层在前，下级嵌套。",
    "orgs.post_org": "新建组织：管理员可建在任何位置；工作人员只能建在本组织之下。",
    "orgs.get_certificate_signer": (
        "本组织出具的志愿服务证明上写的负责人、经办人与联系电话；管理员可查看任何组织，工作人员只能查看本组织。"
        "证明由持证人所属组织树的最上级组织（县）出具。"
    ),
    "orgs.put_certificate_signer": (
        "设置本组织出具的志愿服务证明上的负责人、经办人与联系电话；管理员可设置任何组织，工作人员只能设置本组织；"
        "记入操作审计。之后开具的证明随之更新。"
    ),
    "org_requests.list_requests": (
        "申请转入调用者管辖范围内组织的组织变更申请，新的在前（管理员看到全部）；`status=pending` 只看待审核的。"
    ),
    "org_requests.approve": "批准一条待审核的组织变更申请：申请人立即转入所申请的组织；记入操作审计。",
    "org_requests.refuse": "拒绝一条待审核的组织变更申请：申请人留在原组织；须在 `reason` 中说明原因；记入操作审计。",
    "users.get_users": "调用者管辖范围内的人员；`q` 按昵称查找，或按完整手机号精确查找。",
    "users.patch_user": "管理员可设置任何角色与组织；工作人员只能在志愿者与达人之间调整，并在管辖范围内调整组织。",
    "users.post_honour_hours": (
        "管理员为一名人员授予荣誉时长：计入累计志愿服务时长与星级，不计积分；积分明细中记为“荣誉时长：理由”；"
        "记入操作审计。"
    ),
    "users.import_users": (
        "上传 .xlsx 人员名单（列：姓名、手机号、组织、身份），按手机号新建或更新人员；出错的行按行号列出。"
    ),
    "campaigns.post_campaign": "新建活动（草稿），主办组织须在调用者的管辖范围内。",
    "campaigns.patch_campaign": "修改调用者管辖的活动的名称、类型、介绍或时间。只传要改的字段。",
    "campaigns.publish": "发布草稿活动，志愿者与达人即可看到。",
    "campaigns.close": "结束活动：其下任务不再接受新的报名。",
    "campaigns.list_campaigns": "活动列表，新的在前；志愿者与达人看到已发布与已结束的，工作人员看到管辖范围内的全部。",
    "campaigns.get_campaign_detail": "调用者可见的一个活动。",
    "campaigns.summary": "活动所有任务的报名、签到、提交与取消报名人次，以及审核通过与未通过的提交数。",
    "campaigns.post_task": "为活动添加任务：时间、名额、积分、时长、照片要求、地点与面向人群。",
    "tasks.list_tasks": (
        "任务列表：可按活动、状态筛选，`mine=1` 只看我报名的，`near=纬度,经度` 按距离排序；每个任务附我的报名。"
    ),
    "tasks.get_one": "调用者可见的一个任务，附我的报名。",
    "tasks.patch_task": "修改调用者管辖的活动中的任务；名额不能少于已报名人数。只传要改的字段。",
    "tasks.cancel": "取消任务：不再接受报名与提交，已有记录保留。",
    "tasks.post_enroll": "报名任务，占用一个名额；并发报名也不会超出名额。",
    "tasks.delete_enroll": "取消报名并让出名额（已提交材料后不能取消）。",
    "tasks.post_checkin": (
        "现场签到：用定位（`lat`、`lng`，可附 `accuracy` 米）须在任务签到半径内；"
        "或扫描任务签到小程序码，传回其中的 `scene`。任务开始前 30 分钟起可签到。"
    ),
    "console.confirm": (
        "工作人员或管理员在小程序中扫描管理后台登录页的小程序码（scene 为 `login:<ticket>`）后调用，"
        "确认由本人登录显示该码的浏览器。码 5 分钟内有效、只能确认一次；志愿者与达人调用得到 403。"
    ),
    "tasks.post_checkout": (
        "现场签退（任务须要求签退）：规则与签到相同，定位（`lat`、`lng`，可附 `accuracy_m` 米）须在签到半径内，"
        "或传回签到码的 `scene`。签到后至任务结束后 2 小时内可签退；未签到为 409 `not_checked_in`。"
        "重复签退返回第一次的签退记录。"
    ),
    "tasks.enrollments_xlsx": (
        "任务报名名单（Excel），供保险与考勤存档：姓名、组织、手机号（管理员可见完整号码，工作人员为脱敏号码）、"
        "报名、签到、签退时间与该任务计入的服务时长。每次导出都记入操作日志。"
    ),
    "tasks.qrcode": "任务的签到小程序码（图片，可打印张贴），扫码即打开该任务的签到页。",
    "tasks.enrollments": "任务的报名名单，按报名先后，含签到情况。",
    "quiz.start": (
        "开始一次答题：已报名的人，或不限名额且无需签到的任务所面向的人可答。按任务的设置从题库抽题，"
        "每次的选项顺序不同；返回中没有答案与解析。超过每日次数（北京时间）为 409 `quiz_attempts_exhausted`。"
    ),
    "quiz.put_answer": (
        "作答一题（交卷前可修改）：`choice` 为按本次显示顺序的选项序号，判断题为 true 或 false。"
        "截止时间之后为 409 `quiz_time_up`，并按截止前的作答自动交卷。"
    ),
    "quiz.post_finish": (
        "交卷并评分（百分制，一位小数；多选题全对才得分）。及格的积分每人每个任务每天只计一次；"
        "重复交卷返回同样的结果。截止之后交卷只计截止前的作答。"
    ),
    "quiz.get_one": (
        "一次答题记录（本人，或任务所属组织范围内的工作人员）；交卷后才含各题结果。超时未交卷的此时自动交卷。"
    ),
    "quiz.stats": "任务的答题统计：交卷次数、人数、及格率、各题答对率（最低的在前）与按组织的参与情况。",
    "media.upload": (
        "上传一张图片（multipart 字段 `file`，与 `wx.uploadFile` 一致）：JPEG、PNG、WebP 或 HEIC。"
        "文件类型按内容判断；服务会摆正方向、去除 EXIF/GPS 等元数据后保存。"
    ),
    "media.serve_file": (
        "按签名地址取图片文件，无需 Authorization（供小程序 `<image>` 与微信内容检测使用）；地址会过期。"
    ),
    "submissions.post_submission": (
        "提交任务材料：照片（先用 POST /media 上传）、文字、可选的位置与链接。"
        "线上传播任务的链接会规范化（去掉分享与跟踪参数，统一为平台的标准地址）后保存，须属于任务要求的平台"
        "（否则 400 link_platform_mismatch）；任务要求本人账号且链接显示发布账号时，须是本人已认证的账号"
        "（否则 400 link_account_mismatch）；同一作品只能被提交一次，无论谁提交，已被提交时 409 link_claimed"
        "（是本人提交的则 details.submission_id 给出那条提交）。被驳回或已撤回的提交不再占用其链接。"
    ),
    "submissions.list_submissions": (
        "提交列表，新的在前：`mine=1` 只看自己的（志愿者总是如此）；工作人员看管辖范围内任务的提交。"
    ),
    "submissions.get_one": "一条提交：提交人本人，或任务所属组织范围内的工作人员（后者还能看到风险提示）可见。",
    "review.queue": "审核队列，先提交的在前，附风险提示；默认是管辖范围内全部待审核的提交。",
    "review.review_one": (
        f"审核一条提交：通过时计任务积分（可调整为 0 到 {MAX_POINTS_FACTOR} 倍）与服务时长，只计一次；"
        "通过后再驳回会撤销已计的积分与时长。"
    ),
    "review.review_batch": "对多条提交做同一审核结论；每条各自成功或失败（`failed`：提交 id → 错误代码）。",
    "leaderboard.people": (
        "按积分排名的个人榜（积分相同名次相同：1、2、2、4），附我的名次；不公开的人匿名显示。"
        "`reach`（全部）、`reach:week`、`reach:month`（按审核通过时间，本周、本月）按已通过作品的最新浏览量合计排名。"
    ),
    "leaderboard.orgs": "某组织（默认本县）的下级组织按积分排名，`per_capita=1` 时按人均积分。",
    "reports.participation_xlsx_report": (
        "参与情况报表（Excel）：按人、按组织统计报名、签到、提交、通过、积分与服务时长。"
    ),
    "reports.messages_xlsx_report": (
        "留言办理报表（Excel）：期间内提交的留言，按该组织的每个下级组织一行，表头为 组织、受理、办结、"
        "按期办结率、满意率、超期、督办；两个比率为百分数（保留一位小数，无可计算的留空）。"
    ),
    "reports.participation_csv_report": "参与情况报表中按人的部分（CSV，UTF-8 带 BOM，可直接用 Excel 打开）。",
    "audit.audit_log": (
        "操作记录，新的在前：工作人员的发布、结束、取消、审核、调整角色、导出、导入名单、审核组织变更，"
        "以及志愿者与达人的组织变更申请与撤回。"
    ),
    "questions.post_question": (
        "在调用者所在组织（或 `org_id` 指定的管辖范围内组织）的题库中新建一道题；"
        "题干与已有题目相同时 409 `duplicate_question`，并给出已有题目的编号。"
    ),
    "questions.list_questions": "管辖范围内的题目，新的在前；可按标签、题型与题干文字筛选，默认不含已停用的。",
    "questions.get_question_detail": "管辖范围内的一道题，含答案与解析。",
    "questions.patch_question": (
        "修改题目，只传要改的字段，改后整道题重新校验；"
        "已被答题使用的题目只能改解析、标签与难度（否则 409 `question_in_use`）。"
    ),
    "questions.delete_question": (
        "删除题目；已被答题抽到或作答过的题目改为停用（保留记录，不再抽取）。"
        "响应头 `X-Question-Outcome` 为 retired（已停用）或 deleted（已删除）。"
    ),
    "questions.import_bank": (
        "上传 .xlsx 或 .csv 题库（表头：题型、题干、选项A…选项F、答案、解析、标签、难度），逐行新建题目；"
        "出错的行（答案字母无效、缺少选项、题干重复等）按行号列出，不合并、不影响其他行。"
        "表头不符或不是表格时 400，一道也不导入。"
    ),
    "wechat.url_check": "微信服务器校验消息推送地址：签名正确时原样返回 `echostr`。",
    "wechat.receive": (
        "接收微信服务器推送的事件（明文或安全模式，XML 或 JSON），应用图片内容检测结果；处理后返回 `success`。"
    ),
    "sharing.create_link": (
        "取得我分享某任务用的分享标识（ref），放进小程序分享卡片的路径；同一人同一任务每次得到同一个。分享本身不得积分。"
    ),
    "sharing.record": (
        "打开分享卡片的人带回卡片中的 ref：每人每个分享只计一次，分享人自己打开不计；都返回 204。"
        "任务设置了 share_points 时，分享人每被计一次打开得相应积分，"
        "每人每任务每天最多 share_daily_cap 次（北京时间），"
        "超出的照样计数但不得分。ref 无效或伪造时 400 bad_ref。"
    ),
    "sharing.stats": "本组织及下级组织任务的分享人数与打开次数（工作人员）。",
    "accounts.claim": (
        "绑定一个平台账号（抖音、快手、微博、视频号、公众号、B站、小红书、今日头条），待所属组织的工作人员审核。"
        "同一平台的同一账号（不分大小写）只能由一人绑定：已被任何人绑定时 409 account_claimed。"
    ),
    "accounts.mine": "我绑定的平台账号及审核状态，先绑定的在前。",
    "accounts.update": "更新自己账号的粉丝数；不影响审核状态。",
    "accounts.remove": "解绑自己的平台账号（已通过的也可以）；解绑后该账号可被重新绑定并重新审核。",
    "accounts.staff_list": "本组织及下级组织人员的平台账号（管理员：全部），新的在前；可按审核状态与平台筛选。",
    "accounts.verify": (
        "审核本组织及下级组织人员的平台账号：verify 通过，reject 拒绝（须说明原因）。"
        "审核结果为最终结果：已审核的账号 409 account_decided（被拒绝的人可解绑后重新绑定）。记入操作审计。"
    ),
    "reach.post_reach": (
        "记录作品的传播数据（浏览、点赞、评论、转发数与截图时间，可附数据截图）：提交人本人记录，"
        "各项数字不能少于更早的记录、不能多于更晚的记录（400 reach_decreasing，details.field 为该项）；"
        "任务所属组织范围内的工作人员可以更正（可以少于之前，记入操作审计）。"
        "不是线上传播任务 409 not_online；提交已被驳回或撤回 409 submission_closed。"
        "提交通过审核后，最新记录达到的每个传播档位各奖励一次积分；更正后不再达到的档位撤销。"
    ),
    "reach.list_reach": "提交的传播数据记录，按截图时间先后（提交人本人，或任务所属组织范围内的工作人员）。",
    "reach.post_repost": (
        "任务所属组织范围内的工作人员记录作品被官方平台转载（县、市、省、国家级）：按任务设置奖励该级别的积分，"
        "每个级别只记一次（再次记录 409 repost_recorded）；提交通过审核后才能记录（409 not_approved）。"
        "提交被驳回时奖励一并撤销。记入操作审计。"
    ),
    "reach.list_reposts": "提交的官方转载记录，先记录的在前（提交人本人，或任务所属组织范围内的工作人员）。",
    "calendar.get_calendar": (
        "一年的节假日与调休上班日（登录即可查看）。工作日为周一至周五，放假日除外，调休上班日（周六、周日）计入；"
        "网民留言的办理期限从交办次日起按工作日计算。未设置的年份返回空数组，只按星期计算。"
    ),
    "calendar.put_calendar": (
        "管理员整年替换节假日与调休上班日，返回保存后的该年日历，记入操作审计。"
        "日期不在该年、重复、同一天既放假又上班、调休上班日不是周六或周日时 400，details.fields 指明是哪一项"
        "（如 workdays.1）；两人同时首次设置同一年时 409 calendar_busy。"
    ),
    "messages.post_message": (
        "给县里留言（咨询、建议、投诉、求助、不良信息线索），可附照片（先用 POST /media 上传，须为本人上传，"
        "否则 403 media_not_yours）与位置；返回带编号（如 QD20260501-0012，唯一且按先后递增）的留言，待受理。"
        "留言人的身份只给办理的工作人员看；public_ok 为 true 时，答复后留言与答复公开，留言人显示为“网友”。"
    ),
    "messages.list_messages": (
        "留言列表，新的在前：`mine=1` 只看我写的（志愿者与达人总是如此）；"
        "工作人员看本组织及下级组织收到、承办或交办的留言。"
        "可按状态筛选，`overdue=1` 只看超期的。"
    ),
    "messages.get_one": (
        "一条留言：留言人本人（只见公开的办理步骤，不含草拟的答复），或承办组织及其上级、交办组织的工作人员"
        "（另见留言人、草拟的答复与全部办理过程）；其他人 404。"
    ),
    "messages.public_messages": "已答复且留言人同意公开的留言与答复，新的在前；留言人只显示为“网友”。",
    "messages.accept": (
        "受理待受理的留言（收到留言的县（区）或承办组织及其上级的工作人员）。状态不允许时 409 bad_transition。"
    ),
    "messages.reject": "不予受理（待受理、已受理或已退回的留言），须说明原因，留言人可以看到；办理就此结束。",
    "messages.assign": (
        "交办（jiaoban，交给本组织的下级组织）或转办（zhuanban，转给本县的组织，或其他县（区）本级）："
        "办理期限从次日起按工作日计算（咨询、建议 5 个，投诉、求助、线索 7 个）；承办组织的工作人员收到通知。"
        "承办组织再交给下级时期限不变。"
    ),
    "messages.send_back": "承办组织把留言退回交办的组织（须说明原因），由其重新交办。",
    "messages.extend": f"承办组织申请延期（累计最多 {MAX_EXTENSION_DAYS} 个工作日，须说明原因），由交办的组织批准。",
    "messages.approve_extension": "交办的组织（或管理员）批准延期申请：办理期限按工作日顺延。",
    "messages.draft_reply": "承办组织拟写（或修改）答复，待交办的组织审核；留言人此时看不到。",
    "messages.approve_reply": "交办的组织（或管理员）审核通过答复：答复发布，留言人收到订阅消息通知。",
    "messages.supervise": f"督办办理中的留言：督办级别加一（最多 {MAX_SUPERVISION} 级），承办组织的工作人员收到通知。",
    "messages.rate": (
        "留言人在答复后 15 天内评价：满意或基本满意即办结；第一次不满意时重新交给承办组织办理（新的期限），"
        "再次不满意即办结。只有留言人可以评价（否则 403）。"
    ),
    "notices.post_notice": (
        "工作人员发通知：发给接收组织及下级组织的全部志愿者与达人，或（指定 campaign_id 时）该活动已报名未取消的人，"
        "可只发给某些身份。接收人在发出时确定；没有符合条件的接收人时 400（details.fields 指明 org_id 或 "
        "campaign_id）。接收组织不在管辖范围内 403。记入操作审计；每人每小时最多发 10 条（WENMING_LIMIT_NOTICE），"
        "超出 429 rate_limited。订阅了通知消息的接收人收到订阅消息。"
    ),
    "notices.list_notices": (
        "我收到的通知，新的在前，附是否已读；工作人员 `sent=1` 时为发往本组织及下级组织的通知，附已读人数"
        "（非工作人员 403）。"
    ),
    "notices.get_one": (
        "一条通知：接收人本人（附是否已读），或管辖范围包含其接收组织的工作人员（附已读人数）；其他人 404。"
    ),
    "notices.read": "标记我收到的通知为已读，重复调用无妨（只记第一次的时间）；不是接收人 404。",
    "notices.stats": "通知的接收人数与已读人数（管辖范围包含其接收组织的工作人员；其他工作人员 404）。",
    "hour_requests.post_hour_request": (
        "没有签到签退记录时申请补录某任务的服务时长：填写实际的开始、结束时间（任务时间前后 2 小时内，不晚于现在）、"
        "情况说明与最多 3 张本人上传的证明照片。无需报名，但须在任务的参与范围内（否则 403）。"
        "同一任务同时只能有一条待审核的申请（409 hour_request_open）。不足半小时 400（指明 ended_at）。"
    ),
    "hour_requests.list_hour_requests": (
        "补录申请，新的在前：`mine=1` 只看自己的（志愿者总是如此）；工作人员看管辖范围内任务的申请，"
        "可按状态与任务筛选。"
    ),
    "hour_requests.get_one": "一条补录申请：申请人本人，或任务所属组织范围内的工作人员（另见申请人）可见；其他人 404。",
    "hour_requests.review_one": (
        "任务所属组织范围内的工作人员审核补录申请：通过时计入信用时长（与该任务已计的时长合计不超过任务的服务时长，"
        "经积分明细只计一次），该任务此前没有通过的提交或补录时另计任务积分；驳回须说明原因（400 指明 reason）。"
        "已审核过的 409 already_reviewed。申请人收到订阅消息通知。"
    ),
    "health.healthz": "进程存活：进程在运行且能响应。",
    "health.readyz": "依赖就绪：数据库（以及配置了的 Redis）在 2 秒内响应。",
    "metrics.metrics": (
        "按路由模板与微信接口统计的计数与耗时（Prometheus 文本格式）；仅 WENMING_METRICS_ALLOW 中的地址可访问。"
    ),
}
