"""Every console page's blueprint, gathered for ``server.console.install``."""

from __future__ import annotations

from server.console import audit, campaigns, dashboard, reports, review, tasks

BLUEPRINTS = (dashboard.bp, campaigns.bp, tasks.bp, review.bp, reports.bp, audit.bp)
