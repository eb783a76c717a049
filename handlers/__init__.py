"""HTTP only: one blueprint per resource."""

from sanic import Blueprint

from handlers import (
    accounts,
    audit,
    auth,
    calendar,
    campaigns,
    certificates,
    console,
    health,
    hour_requests,
    leaderboard,
    me,
    media,
    messages,
    metrics,
    org_requests,
    orgs,
    questions,
    quiz,
    reach,
    reports,
    review,
    sharing,
    submissions,
    tasks,
    users,
    wechat,
)

api = Blueprint.group(
    auth.bp,
    me.bp,
    accounts.bp,
    orgs.bp,
    org_requests.bp,
    users.bp,
    campaigns.bp,
    tasks.bp,
    quiz.bp,
    media.bp,
    submissions.bp,
    sharing.bp,
    messages.bp,
    review.bp,
    hour_requests.bp,
    reach.bp,
    leaderboard.bp,
    reports.bp,
    audit.bp,
    certificates.bp,
    wechat.bp,
    console.bp,
    questions.bp,
    calendar.bp,
    url_prefix="/api/v1",
)
root = Blueprint.group(health.bp, metrics.bp, media.files)

__all__ = ["api", "root"]
