"""Every console page's blueprint, gathered for ``server.console.install``."""

from __future__ import annotations

from server.console import dashboard, review

BLUEPRINTS = (dashboard.bp, review.bp)
