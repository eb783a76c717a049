"""Every console page's blueprint, gathered for ``server.console.install``."""

from __future__ import annotations

from server.console import dashboard, orgs, people

BLUEPRINTS = (dashboard.bp, people.bp, orgs.bp)
