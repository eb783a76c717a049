"""Every scope rule: who may see and who may manage which org's campaigns, tasks, people and evidence.

Staff act inside their org's subtree (orgs form a tree with materialised paths);
admins act everywhere. Something the caller may not see answers 404, so ids leak
nothing; something they may see but not change answers 403.
"""

from __future__ import annotations

from models.campaigns import Campaign, Task, get_campaign
from models.hour_requests import HourRequest
from models.makeup import get_hour_request
from models.orgs import Org, find_org, org_path
from models.question_bank import get_question
from models.quiz import Question, QuizAttempt
from models.quiz_attempts import get_attempt
from models.roster import RowRule
from models.submissions import Submission, get_submission, with_relations
from models.tasks import get_task
from models.users import User
from server.kernel.errors import Forbidden, InvalidRequest, NotFound

# What staff (not admins) may grant: 网络大V/达人 status, and take it back.
STAFF_GRANTABLE = frozenset({"volunteer", "influencer"})


def staff_scope(user: User) -> Org | None:
    """The org subtree a staff user acts in; None means everywhere (admin)."""
    if user.role == "admin":
        return None
    if user.role != "staff" or user.org is None:
        # Staff without an org can see nothing until an admin places them.
        raise Forbidden("您的账号尚未分配组织，请联系管理员")
    return user.org


def in_scope(scope: Org | None, org: Org | None) -> bool:
    """True when ``org`` lies inside ``scope`` (None scope = admin = everything)."""
    return path_in_scope(scope, org.path if org is not None else None)


def path_in_scope(scope: Org | None, path: str | None) -> bool:
    """``in_scope`` for an org known by its materialised path (None: no such org)."""
    return scope is None or (path is not None and path.startswith(scope.path))


def may_view(user: User, org: Org, status: str) -> bool:
    """Published and closed campaigns (and their tasks) are public to signed-in people;
    drafts only to staff whose subtree owns them."""
    if status != "draft":
        return True
    if not user.is_staff or (user.role == "staff" and user.org is None):
        return False  # 404, as for anyone else: a staff member without an org learns nothing of drafts
    return in_scope(staff_scope(user), org)


# -- campaigns and tasks ---------------------------------------------------------------


async def visible_campaign(campaign_id: int, user: User) -> Campaign:
    """The campaign if the caller may see it: published for everyone, all in scope for staff."""
    campaign = await get_campaign(campaign_id)
    if not may_view(user, campaign.org, campaign.status):
        raise NotFound("活动不存在")
    return campaign


async def managed_campaign(campaign_id: int, user: User) -> Campaign:
    """The campaign if the caller manages it (staff of its org subtree, or admin)."""
    campaign = await get_campaign(campaign_id)
    if not in_scope(staff_scope(user), campaign.org):
        # Staff may know it exists (published) but not change it.
        if campaign.status == "draft":
            raise NotFound("活动不存在")
        raise Forbidden("只能管理本组织及下级组织的活动")
    return campaign


async def visible_task(task_id: int, user: User) -> Task:
    task = await get_task(task_id)
    if not may_view(user, task.campaign.org, task.campaign.status):
        raise NotFound("任务不存在")
    return task


async def managed_task(task_id: int, user: User) -> Task:
    """The task if the caller manages it; as for campaigns, one they can see but not manage is 403."""
    task = await get_task(task_id)
    if not in_scope(staff_scope(user), task.campaign.org):
        if not may_view(user, task.campaign.org, task.campaign.status):
            raise NotFound("任务不存在")
        raise Forbidden("只能管理本组织及下级组织的任务")
    return task


async def readable_attempt(attempt_id: int, user: User) -> QuizAttempt:
    """A quiz attempt: its owner's, or staff's of the task's org subtree (anyone else: 404)."""
    attempt = await get_attempt(attempt_id)
    if attempt.user_id == user.id:
        return attempt
    if user.is_staff and in_scope(staff_scope(user), attempt.task.campaign.org):
        return attempt
    raise NotFound("答题记录不存在")


# -- evidence ----------------------------------------------------------------------------


def may_read_submission(user: User, submission: Submission) -> bool:
    """Its author, or staff of the task's org subtree."""
    if submission.user_id == user.id:
        return True
    return user.is_staff and in_scope(staff_scope(user), submission.task.campaign.org)


async def readable_submission(submission_id: int, user: User) -> Submission:
    """The submission with its relations if the caller may read it (``may_read_submission``); else 404."""
    submission = await get_submission(submission_id)
    if submission is None or not may_read_submission(user, submission):
        raise NotFound("提交不存在")
    return submission


async def reviewable(user: User, ids: list[int]) -> dict[int, Submission]:
    """The submissions among ``ids`` of tasks in the caller's subtree (others stay unseen: 404)."""
    scope = staff_scope(user)
    rows = await with_relations(Submission.filter(id__in=ids))
    return {s.id: s for s in rows if in_scope(scope, s.task.campaign.org)}


# -- make-up requests for service hours ---------------------------------------------------


def may_review_hours(user: User, request: HourRequest) -> bool:
    """Staff of the org subtree that owns the task's campaign (admins: any)."""
    return user.is_staff and in_scope(staff_scope(user), request.task.campaign.org)


async def readable_hour_request(request_id: int, user: User) -> HourRequest:
    """A make-up request: its owner's, or staff's of the task's org subtree (anyone else: 404)."""
    request = await get_hour_request(request_id)
    if request is None or not (request.user_id == user.id or may_review_hours(user, request)):
        raise NotFound("补录申请不存在")
    return request


async def reviewable_hour_request(request_id: int, user: User) -> HourRequest:
    """A make-up request the caller may decide on: another org's is 404, their own 403."""
    request = await get_hour_request(request_id)
    if request is None or not may_review_hours(user, request):
        raise NotFound("补录申请不存在")
    if request.user_id == user.id:
        raise Forbidden("不能审核自己的补录申请")
    return request


# -- orgs and people ---------------------------------------------------------------------


async def org_for_report(user: User, org_id: int | None, refusal: str) -> Org | None:
    """The org a report covers: the one asked for, inside the caller's subtree, or their own.

    Another township's org is refused (403 with ``refusal``), not answered empty."""
    if org_id is None:
        return staff_scope(user)
    return await org_in_scope(user, org_id, refusal)


async def org_in_scope(user: User, org_id: int, refusal: str) -> Org:
    """The org named in a request, which must exist (400 naming ``org_id``) and lie in the caller's subtree."""
    scope = staff_scope(user)
    org = await find_org(org_id)
    if org is None:
        raise InvalidRequest.fields({"org_id": "组织不存在"})
    if not in_scope(scope, org):
        raise Forbidden(refusal)
    return org


async def certificate_signer_org(user: User, org_id: int) -> Org:
    """An org whose certificate signer the caller may read and set: admins any, staff their own org only
    (an org outside their subtree is not found, one below their own is refused)."""
    scope = staff_scope(user)
    org = await find_org(org_id)
    if org is None or not in_scope(scope, org):
        raise NotFound("组织不存在")
    if scope is not None and org.id != scope.id:
        raise Forbidden("只能设置本组织的证明签发信息")
    return org


async def may_create_org_under(user: User, parent_id: int | None) -> None:
    """Admins create anywhere; staff below their own org only."""
    scope = staff_scope(user)
    if scope is not None and not path_in_scope(scope, await org_path(parent_id)):
        raise Forbidden("只能在本组织及下级组织中新建")


def managed_person(user: User, target: User | None) -> User:
    """A person the caller manages: anyone for admins, people of their subtree for staff (others: 404)."""
    scope = staff_scope(user)
    if target is None or not in_scope(scope, target.org):
        raise NotFound("人员不存在")
    return target


def may_change_person(user: User, target: User, role: str, new_org_path: str | None, moves: bool) -> None:
    """Staff switch volunteer↔influencer and move people inside their subtree; admins do anything."""
    scope = staff_scope(user)
    if scope is None:
        return
    if target.role not in STAFF_GRANTABLE or role not in STAFF_GRANTABLE:
        raise Forbidden("工作人员只能设置志愿者与网络达人身份")
    if moves and not path_in_scope(scope, new_org_path):
        raise Forbidden("只能调整到本组织及下级组织")


def sees_full_phones(user: User) -> bool:
    """Whole phone numbers in downloads (a task's enrollment list): admins only; staff see them masked."""
    return user.role == "admin"


def roster_rule(user: User) -> RowRule | None:
    """What a roster import by ``user`` may do, row by row: admins anything (None); staff put
    volunteers and influencers into orgs of their subtree, and update only such people of it."""
    scope = staff_scope(user)
    if scope is None:
        return None

    def check(org: Org, role: str, existing: User | None) -> None:
        if not in_scope(scope, org):
            raise ValueError(f"组织“{org.name}”不在本组织及下级组织范围内")
        if role not in STAFF_GRANTABLE:
            raise ValueError("工作人员只能导入志愿者与网络达人")
        if existing is not None and existing.role not in STAFF_GRANTABLE:
            raise ValueError("该手机号属于工作人员或管理员，只有管理员可以调整")
        if existing is not None and not in_scope(scope, existing.org):
            raise ValueError("该手机号的人员不在本组织及下级组织中，请联系管理员调整")

    return check


# -- the question bank -------------------------------------------------------------------


async def managed_question(question_id: int, user: User) -> Question:
    """A question of the caller's subtree's banks (admins: any); another org's answers 404."""
    question = await get_question(question_id)
    if question is None or not in_scope(staff_scope(user), question.org):
        raise NotFound("题目不存在")
    return question


async def bank_org(user: User, org_id: int | None) -> Org:
    """The bank a new question goes to: the one named, inside the caller's subtree, or their own org."""
    if org_id is not None:
        return await org_in_scope(user, org_id, "只能在本组织及下级组织的题库中添加题目")
    scope = staff_scope(user)
    if scope is None:
        if user.org is None:
            raise InvalidRequest.fields({"org_id": "请选择题目所属组织"})
        return user.org
    return scope
