"""HTTP only: one blueprint per resource."""

from sanic import Blueprint

from handlers import auth, campaigns, health, leaderboard, me, media, orgs, review, submissions, tasks, users, wechat

api = Blueprint.group(
    auth.bp,
    me.bp,
    orgs.bp,
    users.bp,
    campaigns.bp,
    tasks.bp,
    media.bp,
    submissions.bp,
    review.bp,
    leaderboard.bp,
    wechat.bp,
    url_prefix="/api/v1",
)
root = Blueprint.group(health.bp, media.files)

__all__ = ["api", "root"]
