"""Every console page's blueprint, gathered for ``server.console.install``."""

from __future__ import annotations

from server.console import audit, dashboard, reports

BLUEPRINTS = (dashboard.bp, reports.bp, audit.bp)
