"""Request and response schemas shared by the people-and-orgs handlers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from media.storage import Storage, variant_keys
from models.ledger import LedgerEntry
from models.org_requests import OrgChangeRequest
from models.orgs import Org
from models.users import User
from server.kernel.clock import LOCAL_TZ
from server.kernel.ids import ID_PATTERN, is_id
from server.kernel.pagination import DEFAULT_LIMIT, MAX_LIMIT
from server.web.endpoint import FieldError


def _fits_int32(value: str) -> str:
    if not is_id(int(value)):
        raise ValueError("id 不存在")
    return value


# Times and days the service takes from clients: this century's. Far-off ones are typos, and
# they break things: before 1901 the service's zone (Asia/Shanghai) has a local mean time offset
# in seconds (+08:05:43) that the database stores but SQLite's reader cannot parse back, and at
# the ends of the calendar adding a day overflows.
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _moment(value: datetime) -> datetime:
    if value.tzinfo is None:
        # The contract: a time without an offset ("2026-12-10", "2026-12-10T09:00") is the county's.
        value = value.replace(tzinfo=LOCAL_TZ)
    if not EARLIEST <= value < LATEST:
        raise ValueError("时间须在 2000 年至 2099 年之间")
    return value


def _day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("日期须在 2000 年至 2099 年之间")
    return value


# Every time a request carries: naive ones (and bare dates) are read in Asia/Shanghai.
Moment = Annotated[
    datetime, AfterValidator(_moment), Field(description="ISO 8601；不带时区偏移时按北京时间；2000–2099 年")
]
Day = Annotated[date, AfterValidator(_day), Field(description="YYYY-MM-DD；2000–2099 年")]
Role = Literal["volunteer", "influencer", "staff", "admin"]

# Separators in names of several parts, as ID cards and rosters write them (艾力·买买提).
_NAME_SEPARATORS = frozenset("·•．. ")


def _real_name(value: str) -> str:
    if not all(ch.isalpha() or ch in _NAME_SEPARATORS for ch in value):
        raise ValueError("姓名只能包含文字和间隔号“·”")
    return value


RealName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=32), AfterValidator(_real_name)
]
OrgKind = Literal["county", "township", "village", "unit"]
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN), AfterValidator(_fits_int32)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _distinct_photos(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("照片不能重复")
    return value


# Photos handed in with something (evidence, a message, a make-up request): each once.
PhotoIds = Annotated[list[Id], AfterValidator(_distinct_photos)]


class Placed(Strict):
    """A body that may say where: ``lat`` and ``lng`` together, or neither."""

    model_config = ConfigDict(extra="forbid", strict=False)

    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.lat is None) != (self.lng is None):
            raise FieldError("lat 与 lng 须同时提供", "lng" if self.lng is None else "lat")
        return self


class CodeIn(Strict):
    code: Code


class OrgRead(BaseModel):
    id: str
    name: str
    kind: OrgKind
    parent_id: str | None

    @classmethod
    def of(cls, org: Org) -> OrgRead:
        return cls(id=str(org.id), name=org.name, kind=org.kind, parent_id=_sid(org.parent_id))


class OrgNode(OrgRead):
    children: list[OrgNode] = []


class OrgTree(BaseModel):
    items: list[OrgNode]
    next_cursor: str | None = Field(None, description="整棵树一次返回，总是 null")


class OrgCreate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    kind: OrgKind
    parent_id: Id | None = None

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        # Invisible characters (zero-width, direction marks) make look-alike duplicates of a name.
        if not value.isprintable():
            raise ValueError("名称含有不可见字符")
        return value


def avatar_url(user: User, storage: Storage) -> str | None:
    return storage.url(variant_keys(user.avatar_key)[2]) if user.avatar_key else None


class UserBrief(BaseModel):
    """Who did something, as shown beside their work."""

    id: str
    nickname: str
    avatar_url: str | None
    org: OrgRead | None

    @classmethod
    def of(cls, user: User, storage: Storage) -> UserBrief:
        return cls(
            id=str(user.id),
            nickname=user.nickname,
            avatar_url=avatar_url(user, storage),
            org=OrgRead.of(user.org) if user.org_id and user.org else None,
        )


class UserRead(BaseModel):
    """A person as they see themselves and as staff see them (others see ``UserBrief``)."""

    id: str
    role: Role
    nickname: str
    real_name: str | None
    avatar_url: str | None
    org: OrgRead | None
    phone: str | None = Field(description="脱敏手机号，如 138****0000")
    points: int
    service_hours: float = Field(description="累计志愿服务时长：信用时长与荣誉时长之和")
    credit_hours: float
    honour_hours: float
    star_level: int
    leaderboard_visible: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User, storage: Storage) -> UserRead:
        return cls(
            id=str(user.id),
            role=user.role,
            nickname=user.nickname,
            real_name=user.real_name,
            avatar_url=avatar_url(user, storage),
            org=OrgRead.of(user.org) if user.org_id and user.org else None,
            phone=user.phone_masked,
            points=user.points,
            service_hours=float(user.service_hours),
            credit_hours=float(user.credit_hours),
            honour_hours=float(user.honour_hours or 0),
            star_level=user.star_level,
            leaderboard_visible=user.leaderboard_visible,
            created_at=user.created_at,
        )


class PendingOrgRead(BaseModel):
    """An org change the person asked for, awaiting the decision of that org's staff."""

    id: str = Field(description="申请 id")
    org: OrgRead = Field(description="申请加入的组织")
    requested_at: datetime


class MeRead(UserRead):
    """`GET /me`, `PATCH /me`: the User, and the org change awaiting approval (until then `org` counts)."""

    pending_org: PendingOrgRead | None = Field(description="待审核的组织变更；审核通过前仍以 org 为准")
    unread_notices: int = 0

    @classmethod
    def of_me(cls, user: User, storage: Storage, pending: OrgChangeRequest | None, unread_notices: int = 0) -> MeRead:
        waiting = None
        if pending is not None:
            waiting = PendingOrgRead(
                id=str(pending.id), org=OrgRead.of(pending.to_org), requested_at=pending.created_at
            )
        return cls(**UserRead.of(user, storage).model_dump(), pending_org=waiting, unread_notices=unread_notices)


class OrgRequestRead(BaseModel):
    id: str
    user: UserBrief
    from_org: OrgRead | None
    to_org: OrgRead
    status: Literal["pending", "approved", "refused", "cancelled"]
    reason: str | None = Field(description="审核意见；拒绝时必填")
    created_at: datetime
    decided_at: datetime | None
    decided_by: UserBrief | None

    @classmethod
    def of(cls, r: OrgChangeRequest, storage: Storage) -> OrgRequestRead:
        return cls(
            id=str(r.id),
            user=UserBrief.of(r.user, storage),
            from_org=OrgRead.of(r.from_org) if r.from_org_id and r.from_org else None,
            to_org=OrgRead.of(r.to_org),
            status=r.status,
            reason=r.reason,
            created_at=r.created_at,
            decided_at=r.decided_at,
            decided_by=UserBrief.of(r.decided_by, storage) if r.decided_by_id and r.decided_by else None,
        )


class OrgRequestList(BaseModel):
    items: list[OrgRequestRead]
    next_cursor: str | None


class OrgDecisionIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        None, description="审核意见；拒绝时必填"
    )


class UserList(BaseModel):
    items: list[UserRead]
    next_cursor: str | None


class LoginOut(BaseModel):
    token: str
    expires_in: int
    user: UserRead


class MeUpdate(Strict):
    nickname: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None = None
    avatar_media_id: Id | None = None
    org_id: Id | None = Field(
        None, description="首次选择直接生效；之后的变更成为申请，经新组织的工作人员批准后生效（见 pending_org）"
    )
    leaderboard_visible: bool | None = None
    real_name: RealName | None = None

    @field_validator("nickname")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and not value.isprintable():
            raise ValueError("昵称含有不可见字符")
        return value


class UserUpdate(Strict):
    role: Role | None = None
    org_id: Id | None = None


SignerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
# A landline with its area code (0734-6123456), a mobile number, an extension (转 801).
CONTACT_PATTERN = r"^[0-9+\-() 转]{5,32}$"


class OrgCertificateIn(Strict):
    leader: SignerName
    handler: SignerName
    contact: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]

    @field_validator("leader", "handler")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("含有不可见字符")
        return value

    @field_validator("contact")
    @classmethod
    def _phone(cls, value: str) -> str:
        if not re.fullmatch(CONTACT_PATTERN, value):
            raise ValueError("须为电话号码，如 0734-6123456 或 13800000000")
        return value


class OrgCertificateRead(BaseModel):
    """Who the org's certificates name besides the org; empty strings until set."""

    org_id: str
    leader: str
    handler: str
    contact: str

    @classmethod
    def of(cls, org: Org) -> OrgCertificateRead:
        return cls(org_id=str(org.id), leader=org.cert_leader, handler=org.cert_handler, contact=org.cert_contact)


# One grant is at most this many hours, in half hours, as service hours are counted.
HONOUR_MAX_HOURS = 100
# The ledger keeps "荣誉时长：" + the reason in 200 characters: the reason fits whole.
HONOUR_REASON_MAX = 195


class HonourHoursIn(Strict):
    # Lax for this field only: a JSON number (2 or 2.5) becomes a Decimal, as a task's service_hours does.
    hours: Decimal = Field(gt=0, le=HONOUR_MAX_HOURS, multiple_of=Decimal("0.5"), decimal_places=2, strict=False)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=HONOUR_REASON_MAX)]

    @field_validator("hours", mode="before")
    @classmethod
    def _a_number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("须为数字，如 2 或 2.5")
        return value


class PageQuery(BaseModel):
    """`?limit=` (1–100, default 20) and `?cursor=` of every list."""

    model_config = ConfigDict(extra="ignore")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class OrgRequestQuery(PageQuery):
    status: Literal["pending", "approved", "refused", "cancelled"] | None = Field(None, description="默认：全部")


class UserQuery(PageQuery):
    org_id: Id | None = None
    role: Role | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None


class ExportedProfile(BaseModel):
    id: str
    openid: str | None
    unionid: str | None
    role: Role
    nickname: str
    real_name: str | None
    org_id: str | None
    phone: str | None = Field(description="完整手机号（导出给本人）")
    points: int
    service_hours: float
    credit_hours: float
    honour_hours: float
    leaderboard_visible: bool
    created_at: datetime
    last_login_at: datetime | None


class ExportedSession(BaseModel):
    created_at: datetime
    expires_at: datetime


class ExportedEnrollment(BaseModel):
    task_id: str
    task_title: str
    status: str
    enrolled_at: datetime
    checked_in_at: datetime | None
    checkin_lat: float | None
    checkin_lng: float | None
    checked_out_at: datetime | None


class ExportedPhoto(BaseModel):
    id: str
    uploaded_at: datetime
    taken_at: datetime | None
    lat: float | None
    lng: float | None
    width: int
    height: int


class ExportedReview(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str | None
    points: int | None
    reviewed_at: datetime


class ExportedSubmission(BaseModel):
    id: str
    task_id: str
    status: str
    text: str
    links: list[str]
    lat: float | None
    lng: float | None
    created_at: datetime
    review: ExportedReview | None = Field(description="审核结果与理由；未审核为 null")


class LedgerRead(BaseModel):
    id: str
    kind: Literal["award", "reversal"]
    points: int
    service_hours: float
    hours_kind: Literal["credit", "honour"]
    reason: str
    submission_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, e: LedgerEntry) -> LedgerRead:
        return cls(
            id=str(e.id),
            kind=e.kind,
            points=e.points,
            service_hours=float(e.service_hours),
            hours_kind=e.hours_kind,
            reason=e.reason,
            # A bonus (reach tier, repost) belongs to its submission as much as the approval does.
            submission_id=_sid(e.submission_id or e.bonus_of),
            created_at=e.created_at,
        )


class ExportedCertificate(BaseModel):
    serial: str
    name: str
    org: str
    service_hours: float
    credit_hours: float
    honour_hours: float
    approved_tasks: int
    issued_on: date


class ExportedOrgRequest(BaseModel):
    id: str
    from_org_id: str | None
    to_org_id: str
    status: Literal["pending", "approved", "refused", "cancelled"]
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


class ExportedQuizAttempt(BaseModel):
    id: str
    task_id: str
    task_title: str
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None
    score: float | None
    passed: bool | None
    points_awarded: int


class ExportedAccount(BaseModel):
    id: str
    platform: str
    handle: str
    profile_url: str | None
    followers: int | None
    status: Literal["pending", "verified", "rejected"]
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


class ExportedReach(BaseModel):
    submission_id: str
    views: int
    likes: int
    comments: int
    shares: int
    captured_at: datetime
    correction: bool
    created_at: datetime


class ExportedShare(BaseModel):
    task_id: str
    shared_at: datetime
    opens: int


class ExportedShareOpen(BaseModel):
    task_id: str
    opened_at: datetime


class ExportedMessageEvent(BaseModel):
    at: datetime
    action: str
    note: str


class ExportedMessage(BaseModel):
    id: str
    number: str
    category: str
    title: str
    content: str
    media_ids: list[str]
    lat: float | None
    lng: float | None
    public_ok: bool
    status: str
    reply: str | None
    replied_at: datetime | None
    rating: str | None
    rating_comment: str | None
    created_at: datetime
    events: list[ExportedMessageEvent]


class ExportedNotice(BaseModel):
    id: str
    title: str
    content: str
    org: str
    sent_at: datetime
    read_at: datetime | None


class ExportedHourRequest(BaseModel):
    id: str
    task_id: str
    task_title: str
    started_at: datetime
    ended_at: datetime
    hours: float
    note: str
    media_ids: list[str]
    status: str
    reason: str | None
    awarded_hours: float
    awarded_points: int
    created_at: datetime
    reviewed_at: datetime | None


class PersonalData(BaseModel):
    """`GET /me/export`: every personal field the service holds, and what the person took part in."""

    exported_at: datetime
    user: ExportedProfile
    sessions: list[ExportedSession]
    enrollments: list[ExportedEnrollment]
    photos: list[ExportedPhoto]
    submissions: list[ExportedSubmission]
    ledger: list[LedgerRead] = Field(description="积分明细：每一笔获得与撤销")
    certificates: list[ExportedCertificate] = Field(description="开具过的志愿服务证明")
    org_requests: list[ExportedOrgRequest] = Field(description="组织变更申请及审核结果")
    accounts: list[ExportedAccount] = Field(description="绑定的平台账号及审核结果")
    quiz_attempts: list[ExportedQuizAttempt] = Field(description="答题记录：时间、得分与是否及格（不含题目与答案）")
    reach: list[ExportedReach] = Field(description="本人作品的传播数据记录（含工作人员的更正）")
    shares: list[ExportedShare] = Field(description="分享过的任务及被打开的人次")
    share_opens: list[ExportedShareOpen] = Field(description="打开过的他人分享")
    messages: list[ExportedMessage] = Field(description="我写的留言及其公开的办理过程")
    notices: list[ExportedNotice] = Field(description="收到的通知及阅读时间")
    hour_requests: list[ExportedHourRequest] = Field(description="我的补录服务时长申请及审核结果")


class Health(BaseModel):
    status: Literal["ok"]
    checks: dict[str, Literal["ok", "off"]] | None = Field(None, description="/readyz：各依赖的状态")


def _sid(value: int | None) -> str | None:
    return None if value is None else str(value)
