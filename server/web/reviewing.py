"""Deciding on evidence, as every front end does it: the rate limit, the caller's scope, then the domain.

The API (``handlers/review.py``) and the console (``server/console/review.py``) both call these, so a
decision is counted, scoped, audited and booked the same way whichever screen it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.hour_requests import HourRequest
from models.makeup import Verdict, get_hour_request, review_hours
from models.review import Decision, review
from models.submissions import Submission, get_submission
from models.users import User
from server.kernel.errors import ApiError, NotFound
from server.web.permissions import reviewable, reviewable_hour_request
from server.web.services import Services


class SubmissionNotFound(NotFound):
    message = "提交不存在"


async def decide(user: User, submission_id: int, decision: Decision, services: Services) -> Submission:
    """One decision on a submission of the caller's subtree; returns it as it is now."""
    await services.limiter.hit("review", str(user.id), services.config.limit_review)
    submissions = await reviewable(user, [submission_id])
    if submission_id not in submissions:
        raise SubmissionNotFound()
    await review(submissions[submission_id], user, decision, services.effects)
    fresh = await get_submission(submission_id)
    if fresh is None:  # erased in the meantime
        raise SubmissionNotFound()
    return fresh


async def decide_hours(user: User, request_id: int, verdict: Verdict, services: Services) -> HourRequest:
    """One decision on a make-up request of the caller's subtree; returns it as it is now."""
    await services.limiter.hit("review", str(user.id), services.config.limit_review)
    request = await reviewable_hour_request(request_id, user)
    await review_hours(request, user, verdict, services.effects)
    fresh = await get_hour_request(request_id)
    if fresh is None:  # its person erased their account in the meantime
        raise NotFound("补录申请不存在")
    return fresh


@dataclass
class BatchOutcome:
    done: list[int] = field(default_factory=list)
    failed: dict[int, ApiError] = field(default_factory=dict)  # in the order asked


async def decide_many(user: User, ids: list[int], decision: Decision, services: Services) -> BatchOutcome:
    """The same decision for many submissions (counted once against the limit); each succeeds or fails alone."""
    await services.limiter.hit("review", str(user.id), services.config.limit_review)
    submissions = await reviewable(user, ids)
    outcome = BatchOutcome()
    for submission_id in ids:
        try:
            if submission_id not in submissions:
                raise SubmissionNotFound()
            await review(submissions[submission_id], user, decision, services.effects)
            outcome.done.append(submission_id)
        except ApiError as exc:
            outcome.failed[submission_id] = exc
    return outcome
