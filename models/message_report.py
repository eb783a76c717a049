"""The numbers behind the messages report: per child org, how the messages it handled went.

A message counts for the child org whose subtree holds it now (``Message.org``), among the
messages written in the report's period; those still with the report's org itself (not yet
assigned, or returned to it) and those rejected are not in any row. Columns (README "Beyond the
contract" defines them for readers):

- 受理: messages held in the subtree (accepted and assigned there, whatever happened since);
- 办结: of those, closed (the reply approved and rated; one replied but not yet rated is not);
- 按期办结率: of the closed, the share whose reply was approved by its deadline, as a percentage;
- 满意率: of the closed and rated, the share rated satisfied or basically satisfied, as a percentage;
- 超期: messages that are or were overdue: marked by supervision, still open past the deadline,
  or replied after it;
- 督办: messages supervised at least once (by the daily job or by staff).

Three queries whatever the numbers: the org, its children, the messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.messages import OPEN, Message
from models.orgs import Org

SATISFIED = ("satisfied", "basically")
COUNTS = ("accepted", "closed", "on_time", "rated", "satisfied", "overdue", "supervised")


@dataclass(frozen=True)
class MessageOrgRow:
    org: str
    accepted: int = 0
    closed: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    overdue: int = 0
    supervised: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return _percent(self.on_time, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return _percent(self.satisfied, self.rated)

    def values(self) -> tuple[object, ...]:
        """组织, 受理, 办结, 按期办结率, 满意率, 超期, 督办 (a rate with nothing to divide is left empty)."""
        return (
            self.org,
            self.accepted,
            self.closed,
            self.on_time_rate,
            self.satisfaction_rate,
            self.overdue,
            self.supervised,
        )


def total(rows: list[MessageOrgRow], label: str) -> MessageOrgRow:
    """The rows added up, rates computed from the sums (not averaged): the report's 合计 line."""
    return MessageOrgRow(label, **{name: sum(getattr(row, name) for row in rows) for name in COUNTS})


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


async def message_report(since: datetime, until: datetime, org: Org | None, now: datetime) -> list[MessageOrgRow]:
    """One row per child of ``org`` (per top-level org when ``org`` is None), in name order."""
    children = await (Org.filter(parent_id=org.id) if org else Org.filter(parent_id=None)).order_by("name", "id")
    if not children:
        return []
    within = org.path if org else "/"
    rows = (
        await Message.filter(created_at__gte=since, created_at__lt=until, org__path__startswith=within)
        .exclude(status="rejected")
        .values("org__path", "status", "due_at", "replied_at", "overdue", "rating", "supervision")
    )
    tallies = {child.path: _Tally() for child in children}
    for row in rows:
        # Paths are /a/b/…/: the child's path is the message holder's path cut after the child's level.
        tally = next((t for path, t in tallies.items() if row["org__path"].startswith(path)), None)
        if tally is not None:
            tally.add(row, now)
    return [tallies[child.path].row(child.name) for child in children]


class _Tally:
    def __init__(self) -> None:
        self.counts = dict.fromkeys(COUNTS, 0)

    def add(self, row: dict, now: datetime) -> None:
        due, replied, status = row["due_at"], row["replied_at"], row["status"]
        c = self.counts
        c["accepted"] += 1
        if status == "closed":
            c["closed"] += 1
            c["on_time"] += bool(replied and due and replied <= due)
            if row["rating"]:
                c["rated"] += 1
                c["satisfied"] += row["rating"] in SATISFIED
        late_reply = bool(replied and due and replied > due)
        still_late = bool(status in OPEN and due and now > due)
        c["overdue"] += row["overdue"] or late_reply or still_late
        c["supervised"] += row["supervision"] > 0

    def row(self, name: str) -> MessageOrgRow:
        return MessageOrgRow(name, **self.counts)
