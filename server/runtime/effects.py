"""The one after-commit hook: rankings and queued jobs, never failing the change that caused them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from models.rankings import Rankings
from server.runtime.changes import CHANGES, RANKINGS
from server.runtime.jobs import Jobs

log = logging.getLogger("wenming.effects")


class Effects:
    """``server.kernel.effects.AfterCommit`` for the running service."""

    def __init__(self, rankings: Rankings, jobs: Jobs) -> None:
        self._rankings = rankings
        self._jobs = jobs

    async def points_moved(self, entries: Sequence[Any]) -> None:
        if not entries:
            return
        try:
            await self._rankings.record(entries)
        except (RedisError, OSError):  # the ledger is committed; `wenming ranking rebuild` catches up
            log.exception("ranking update failed for ledger entries %s", [e.id for e in entries])
        # The ledger's commit emptied the cached boards before Redis's moved: a read in between
        # may have cached the old standings again.
        await CHANGES.committed((RANKINGS,))

    async def notify(self, job: str, *args: Any) -> None:
        await self._jobs.enqueue(job, *args)
