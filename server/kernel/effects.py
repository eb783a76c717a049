"""What a domain operation asks for after its transaction commits.

Effects that may lag (a ranking moved, a subscribe message) must never run for
a change that rolled back, and must never fail the change that caused them. A
domain operation in models/ takes an ``AfterCommit`` and calls it once its
transaction is done; the runtime's implementation (``server.runtime.effects``)
turns the calls into ranking updates and queued jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class AfterCommit(Protocol):
    async def points_moved(self, entries: Sequence[Any]) -> None:
        """Ledger entries were committed: the rankings follow (rebuildable from the ledger)."""

    async def notify(self, job: str, *args: Any) -> None:
        """Queue a background job (a subscribe message) by name."""
