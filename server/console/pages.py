"""Every console page's blueprint, gathered for ``server.console.install``."""

from __future__ import annotations

from server.console import (
    accounts,
    audit,
    campaigns,
    dashboard,
    hour_requests,
    messages,
    notices,
    orgs,
    people,
    questions,
    reports,
    review,
    submissions,
    tasks,
)

BLUEPRINTS = (
    dashboard.bp,
    campaigns.bp,
    tasks.bp,
    review.bp,
    hour_requests.bp,
    messages.bp,
    notices.bp,
    submissions.bp,
    questions.bp,
    people.bp,
    accounts.bp,
    orgs.bp,
    reports.bp,
    audit.bp,
)
