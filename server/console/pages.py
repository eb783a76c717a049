"""Every console page's blueprint, gathered for ``server.console.install``."""

from __future__ import annotations

from server.console import audit, campaigns, dashboard, reports, tasks

BLUEPRINTS = (dashboard.bp, campaigns.bp, tasks.bp, reports.bp, audit.bp)
