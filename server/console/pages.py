"""Every console page's blueprint, gathered for ``server.console.install``."""

from __future__ import annotations

from server.console import campaigns, dashboard, tasks

BLUEPRINTS = (dashboard.bp, campaigns.bp, tasks.bp)
