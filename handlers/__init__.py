"""HTTP only: one blueprint per resource."""

from sanic import Blueprint

from handlers import auth, campaigns, health, me, orgs, tasks, users

api = Blueprint.group(auth.bp, me.bp, orgs.bp, users.bp, campaigns.bp, tasks.bp, url_prefix="/api/v1")
root = health.bp

__all__ = ["api", "root"]
