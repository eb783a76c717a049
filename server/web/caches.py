"""In-process caches of the hottest reads, each emptied when a table it was read from changes.

What is cached, and what empties it (``server.runtime.changes`` tells every process of every
commit; see docs/ARCHITECTURE.md, "Caches"):

- ``people``: a bearer token → its person (with the org). Tables: auth_tokens, users, orgs.
- ``feed``: a page of ``GET /tasks`` for one audience (role and org, or a staff member's subtree),
  rendered but for the caller's own enrollment, the status and the count of enrollments. Tables:
  tasks (not its enrollment counter moving), campaigns, orgs.
- ``counts``: a task's count of enrollments. Tables: tasks, and its counter (``task_counts``): an
  enrollment empties this small cache, not every audience's pages.
- ``mine``: a person's enrollments, rendered. Table: enrollments.
- ``board``: the top of a leaderboard, rendered, and a caller's rank on it. Tables: users (names,
  avatars, who is shown), orgs (shown beside them), ledger_entries, and ``rankings``, announced once
  Redis's boards moved.

Every entry also lives at most ``Changes.ttl`` seconds, and nothing is cached while the process
cannot hear the others (``Changes.coherent``). A read that missed takes a ticket first and stores
its answer only if nothing it depends on changed in the meantime, so a read that raced a write
never stores what the write replaced.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Any

from server.runtime.changes import COUNTERS, EVERYTHING, RANKINGS, Changes

DEFAULT_ENTRIES = 20_000


class TableCache:
    """A bounded map whose entries are dropped when any of ``tables`` changes."""

    def __init__(self, changes: Changes, tables: Iterable[str], *, entries: int = DEFAULT_ENTRIES) -> None:
        self._changes = changes
        self.tables = frozenset(tables) | {EVERYTHING}
        self._entries = entries
        self._map: dict[Hashable, tuple[float, Any]] = {}
        self.generation = 0
        changes.listen(self._heard)

    def _heard(self, tables: frozenset[str]) -> None:
        if tables & self.tables:
            self.clear()

    def clear(self) -> None:
        self._map.clear()
        self.generation += 1

    def get(self, key: Hashable) -> Any:
        """The cached value, or None."""
        entry = self._map.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic() or not self._changes.coherent:
            self._map.pop(key, None)
            return None
        return entry[1]

    def ticket(self) -> int:
        """Taken before reading what will be stored (see ``put``)."""
        return self.generation

    def put(self, key: Hashable, value: Any, ticket: int, ttl: float | None = None) -> None:
        """Store ``value`` unless a change was heard since ``ticket`` was taken."""
        if ticket != self.generation or not self._changes.coherent:
            return
        if len(self._map) >= self._entries:
            self._map.pop(next(iter(self._map)))  # the oldest stored
        life = self._changes.ttl if ttl is None else min(ttl, self._changes.ttl)
        self._map[key] = (time.monotonic() + life, value)

    def __len__(self) -> int:
        return len(self._map)

    def close(self) -> None:
        self._changes.unlisten(self._heard)


class Caches:
    """The service's caches (one set per process)."""

    def __init__(self, changes: Changes) -> None:
        self.people = TableCache(changes, ("auth_tokens", "users", "orgs"), entries=50_000)
        self.feed = TableCache(changes, ("tasks", "campaigns", "orgs"), entries=2_000)
        self.counts = TableCache(changes, ("tasks", COUNTERS["tasks", "enrolled_count"]), entries=50_000)
        self.mine = TableCache(changes, ("enrollments",), entries=50_000)
        self.board = TableCache(changes, ("users", "orgs", "ledger_entries", RANKINGS), entries=50_000)

    def _all(self) -> tuple[TableCache, ...]:
        return (self.people, self.feed, self.counts, self.mine, self.board)

    def clear(self) -> None:
        for cache in self._all():
            cache.clear()

    def close(self) -> None:
        for cache in self._all():
            cache.close()
