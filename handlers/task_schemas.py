"""Request and response schemas for campaigns, tasks and enrollments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from handlers.account_schemas import Platform
from handlers.schemas import Id, Moment, OrgRead, PageQuery, Role, Strict, UserRead
from media.storage import Storage, variant_keys
from models.campaigns import Campaign, Enrollment, Task
from models.media import picture_columns
from models.tasks import audience_fields
from models.users import User
from server.kernel.errors import InvalidRequest
from server.web.endpoint import FieldError

CampaignKind = Literal["village_visit", "hometown_showcase", "law_outreach", "positive_content", "clue_report"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(max_length=5000)]


class CampaignCreate(Strict):
    title: Title
    kind: CampaignKind
    description: Text = ""
    org_id: Id
    starts_at: Moment
    ends_at: Moment
    cover_media_id: Id | None = None

    model_config = ConfigDict(extra="forbid", strict=False)


class CampaignUpdate(Strict):
    title: Title | None = None
    kind: CampaignKind | None = None
    description: Text | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    cover_media_id: Id | None = None

    model_config = ConfigDict(extra="forbid", strict=False)


class CampaignRead(BaseModel):
    id: str
    title: str
    kind: CampaignKind
    description: str
    org: OrgRead
    starts_at: datetime
    ends_at: datetime
    cover_url: str | None
    status: Literal["draft", "published", "closed"]
    created_at: datetime

    @classmethod
    def of(cls, c: Campaign, storage: Storage) -> CampaignRead:
        return cls(
            id=str(c.id),
            title=c.title,
            kind=c.kind,
            description=c.description,
            org=OrgRead.of(c.org),
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            cover_url=storage.url(variant_keys(c.cover_key)[1]) if c.cover_key else None,
            status=c.status,
            created_at=c.created_at,
        )


class CampaignList(BaseModel):
    items: list[CampaignRead]
    next_cursor: str | None


class CampaignSummary(BaseModel):
    tasks: int
    enrolled: int
    checked_in: int
    submitted: int
    withdrawn: int
    approved: int  # submissions approved (evidence, not people: see models.participation.campaign_summary)
    rejected: int


class CampaignQuery(PageQuery):
    status: Literal["draft", "published", "closed"] | None = None
    kind: CampaignKind | None = None
    org_id: Id | None = None


class Location(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    radius_m: int = Field(gt=0, le=50_000)

    model_config = ConfigDict(extra="forbid", strict=False)


class Audience(Strict):
    roles: list[Role] = Field(default_factory=list)
    org_ids: list[Id] = Field(default_factory=list, max_length=50)


QuestionType = Literal["single", "multi", "judge"]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class QuizSettings(Strict):
    """A task's quiz (网络普法答题); the bank must hold ``count`` matching questions (models.quiz_pool)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    count: int = Field(ge=1, le=100)
    tags: list[Tag] | None = Field(None, max_length=20)
    types: list[QuestionType] | None = Field(None, max_length=3)
    time_limit_s: int = Field(600, ge=30, le=7200)
    attempts_per_day: int = Field(1, ge=1, le=20)
    pass_score: int = Field(60, ge=0, le=100)
    points: int = Field(0, ge=0, le=1000)


class QuizRead(BaseModel):
    """What anyone who sees the task learns of its quiz: never its questions."""

    count: int
    time_limit_s: int
    attempts_per_day: int
    pass_score: int
    points: int

    @classmethod
    def of(cls, quiz: dict | None) -> QuizRead | None:
        if not quiz:
            return None
        return cls(**{name: quiz[name] for name in cls.model_fields})


class ReachTier(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    views: int = Field(ge=1, le=10_000_000_000)
    points: int = Field(ge=0, le=100_000)


class RepostBonus(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    county: int = Field(0, ge=0, le=100_000)
    city: int = Field(0, ge=0, le=100_000)
    province: int = Field(0, ge=0, le=100_000)
    national: int = Field(0, ge=0, le=100_000)


class OnlineSettings(Strict):
    """Online work (网络传播): where the post must be, what reach earns (models.reach)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    platforms: list[Platform] = Field(min_length=1, max_length=8)
    require_link: bool = True
    own_account: bool = False
    reach_tiers: list[ReachTier] = Field(default_factory=list, max_length=10)
    repost_bonus: RepostBonus = Field(default_factory=RepostBonus)
    share_points: int = Field(0, ge=0, le=1000)
    share_daily_cap: int = Field(10, ge=0, le=1000)

    @field_validator("platforms")
    @classmethod
    def _distinct_platforms(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("平台不能重复")
        return value

    @field_validator("reach_tiers")
    @classmethod
    def _rising(cls, value: list[ReachTier]) -> list[ReachTier]:
        views = [t.views for t in value]
        if views != sorted(set(views)):
            raise ValueError("传播档位须按浏览量从低到高排列且不重复")
        return value


class OnlineRead(BaseModel):
    platforms: list[str]
    require_link: bool
    own_account: bool
    reach_tiers: list[dict[str, int]]
    repost_bonus: dict[str, int]
    share_points: int
    share_daily_cap: int

    @classmethod
    def of(cls, online: dict | None) -> OnlineRead | None:
        if not online:
            return None
        return cls(**OnlineSettings(**online).model_dump())


class TaskFields(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    title: Title
    description: Text = ""
    starts_at: Moment
    ends_at: Moment
    quota: int | None = Field(None, ge=1, le=1_000_000)
    points: int = Field(0, ge=0, le=100_000)
    service_hours: Decimal = Field(Decimal("0"), ge=0, le=1000, decimal_places=2)
    min_photos: int = Field(1, ge=0, le=9)
    max_photos: int = Field(9, ge=1, le=9)
    location: Location | None = None
    checkin_required: bool = False
    checkout_required: bool = False
    audience: Audience | None = None
    quiz: QuizSettings | None = None
    online: OnlineSettings | None = None
    # min_photos ≤ max_photos is checked by the model operations, which also
    # see the stored values a PATCH leaves unchanged and can name the field.


class TaskCreate(TaskFields):
    pass


class TaskUpdate(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    title: Title | None = None
    description: Text | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    quota: int | None = Field(None, ge=1, le=1_000_000)
    points: int | None = Field(None, ge=0, le=100_000)
    service_hours: Decimal | None = Field(None, ge=0, le=1000, decimal_places=2)
    min_photos: int | None = Field(None, ge=0, le=9)
    max_photos: int | None = Field(None, ge=1, le=9)
    location: Location | None = None
    checkin_required: bool | None = None
    checkout_required: bool | None = None
    audience: Audience | None = None
    quiz: QuizSettings | None = None
    online: OnlineSettings | None = None


class EnrollmentRead(BaseModel):
    id: str
    task_id: str
    user_id: str
    status: Literal["enrolled", "checked_in", "submitted", "withdrawn"]
    enrolled_at: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None

    @classmethod
    def of(cls, e: Enrollment) -> EnrollmentRead:
        return cls(
            id=str(e.id),
            task_id=str(e.task_id),
            user_id=str(e.user_id),
            status=e.status,
            enrolled_at=e.enrolled_at,
            checked_in_at=e.checked_in_at,
            checked_out_at=e.checked_out_at,
        )


class LocationRead(BaseModel):
    name: str
    lat: float
    lng: float
    radius_m: int


class AudienceRead(BaseModel):
    roles: list[str]
    org_ids: list[str]


class TaskRead(BaseModel):
    id: str
    campaign_id: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    quota: int | None
    points: int
    service_hours: float
    min_photos: int
    max_photos: int
    location: LocationRead | None
    checkin_required: bool
    checkout_required: bool
    audience: AudienceRead | None
    quiz: QuizRead | None
    online: OnlineRead | None = None
    status: Literal["open", "ended", "cancelled"]
    enrolled_count: int
    my_enrollment: EnrollmentRead | None
    distance_m: int | None = None

    @classmethod
    def of(cls, t: Task, now: datetime, mine: Enrollment | None = None, distance: float | None = None) -> TaskRead:
        location = None
        if t.lat is not None and t.lng is not None:
            location = LocationRead(name=t.location_name or "", lat=t.lat, lng=t.lng, radius_m=t.radius_m or 0)
        audience = None
        if t.audience_roles or t.audience_org_ids:
            audience = AudienceRead(
                roles=[r for r in (t.audience_roles or "").split(",") if r],
                org_ids=[i for i in (t.audience_org_ids or "").split(",") if i],
            )
        return cls(
            id=str(t.id),
            campaign_id=str(t.campaign_id),
            title=t.title,
            description=t.description,
            starts_at=t.starts_at,
            ends_at=t.ends_at,
            quota=t.quota,
            points=t.points,
            service_hours=float(t.service_hours),
            min_photos=t.min_photos,
            max_photos=t.max_photos,
            location=location,
            checkin_required=t.checkin_required,
            checkout_required=t.checkout_required,
            audience=audience,
            quiz=QuizRead.of(t.quiz),
            online=OnlineRead.of(t.online),
            status=t.status_at(now),
            enrolled_count=t.enrolled_count,
            my_enrollment=EnrollmentRead.of(mine) if mine else None,
            distance_m=round(distance) if distance is not None else None,
        )


class TaskList(BaseModel):
    items: list[TaskRead]
    next_cursor: str | None


class TaskQuery(PageQuery):
    campaign_id: Id | None = None
    status: Literal["open", "ended", "cancelled"] | None = None
    mine: Literal["1", "0", "true", "false"] | None = None
    near: Annotated[str, StringConstraints(pattern=r"^-?\d{1,2}(\.\d+)?,-?\d{1,3}(\.\d+)?$")] | None = None


class CheckinIn(Strict):
    model_config = ConfigDict(extra="forbid", strict=False)

    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    accuracy: float | None = Field(None, ge=0, le=100_000)
    scene: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> CheckinIn:
        if self.scene is None and (self.lat is None or self.lng is None):
            missing = [name for name in ("lat", "lng") if getattr(self, name) is None]
            raise FieldError("需要 lat 与 lng（定位签到），或 scene（扫码签到）", *missing)
        return self


class CheckoutIn(CheckinIn):
    """What check-in takes: a GPS point (``accuracy`` or ``accuracy_m`` in metres) or the code's scene."""

    accuracy_m: float | None = Field(None, ge=0, le=100_000)

    @model_validator(mode="after")
    def _one_way(self) -> CheckoutIn:
        if self.scene is None and (self.lat is None or self.lng is None):
            missing = [name for name in ("lat", "lng") if getattr(self, name) is None]
            raise FieldError("需要 lat 与 lng（定位签退），或 scene（扫码签退）", *missing)
        return self

    @property
    def accuracy_metres(self) -> float | None:
        return self.accuracy_m if self.accuracy_m is not None else self.accuracy


class EnrollmentRow(BaseModel):
    enrollment: EnrollmentRead
    user: UserRead
    checkin_method: str | None
    checkin_distance_m: int | None


class EnrollmentList(BaseModel):
    items: list[EnrollmentRow]
    next_cursor: str | None


def task_columns(fields: dict) -> dict:
    """Flatten the API's nested task fields into columns (location → lat/lng/radius)."""
    data = {k: v for k, v in fields.items() if k not in ("location", "audience")}
    if "location" in fields:
        loc = fields["location"]
        data.update(
            location_name=loc["name"] if loc else None,
            lat=loc["lat"] if loc else None,
            lng=loc["lng"] if loc else None,
            radius_m=loc["radius_m"] if loc else None,
        )
    return data


async def campaign_columns(body: CampaignCreate, creator: User) -> dict:
    """A new campaign's columns (its org aside: the caller checks the org's scope)."""
    data = body.model_dump(exclude={"org_id", "cover_media_id"})
    data.update(await picture_columns(creator, body.cover_media_id, "cover"))
    return data


async def campaign_changes(body: CampaignUpdate, editor: User) -> dict:
    """The columns an edit sets: only the fields given; none of them may be null but the cover."""
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name not in ("cover_media_id",):
            raise InvalidRequest.fields({name: "不能为 null"})
    if "cover_media_id" in changes:
        changes.update(await picture_columns(editor, changes["cover_media_id"], "cover"))
    return changes


async def new_task_columns(body: TaskCreate) -> dict:
    """A new task's columns: location flattened, audience stored as searchable strings."""
    data = task_columns(body.model_dump())
    data.update(await audience_fields(body.audience.model_dump() if body.audience else None))
    return data


async def task_changes(body: TaskUpdate) -> dict:
    """The columns an edit sets: only the fields given; null clears quota, location, audience, quiz and online only."""
    given = body.model_dump(exclude_unset=True)
    if body.location is not None:  # replaced whole: its defaults (an empty name) count too
        given["location"] = body.location.model_dump()
    if body.quiz is not None:  # replaced whole, defaults included
        given["quiz"] = body.quiz.model_dump()
    if body.online is not None:
        given["online"] = body.online.model_dump()
    for name in given.keys() - {"quota", "location", "audience", "quiz", "online"}:
        if given[name] is None:
            raise InvalidRequest.fields({name: "不能为 null"})
    changes = task_columns(given)
    if "audience" in given:
        changes.update(await audience_fields(given["audience"]))
    return changes
