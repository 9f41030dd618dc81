"""Which stored objects cleanup may remove and which rows lost their object: a pure
decision over one listing and one read of the rows.

Why it is safe while uploads run (the argument docs/files.md spells out):

1. An upload writes its object first and commits its row second; the gap is one SQL
   insert (milliseconds), far below the grace period (an hour by default).
2. Cleanup lists the objects first, then reads the rows.
3. An object is removed only if the listing saw it older than the grace period and no
   row read afterwards names it. Older than the grace when listed means it was written
   more than the grace before the listing; its row, if its upload succeeded, was
   committed soon after the write, so before the listing, so before the rows were read:
   the row would have been seen. So only objects whose upload failed, and objects of
   deleted files and profiles, are removed.
4. Keys are fresh UUIDs, never reused: no later row can name an object removed here.

A row is reported missing only if it was created before the listing began (its object
was written before the row, so the listing would have seen it); a row created during
the run may name an object the listing missed, and is left for the next run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from filestore.base import StoredObject

__all__ = ["CleanupPlan", "FileRow", "plan_cleanup"]


@dataclass(frozen=True)
class FileRow:
    id: str
    storage_key: str
    created_at: datetime


@dataclass
class CleanupPlan:
    #: Objects no row names, older than the grace: to remove.
    orphans: list[StoredObject] = field(default_factory=list)
    #: Objects no row names but too young to judge (an upload may be committing).
    young: list[StoredObject] = field(default_factory=list)
    #: Rows created before the listing whose object the listing did not see.
    missing: list[FileRow] = field(default_factory=list)


def plan_cleanup(
    objects: Iterable[StoredObject],
    rows: Iterable[FileRow],
    *,
    listed_at: datetime,
    grace: timedelta,
) -> CleanupPlan:
    """``objects``: the listing begun at ``listed_at``; ``rows``: every file row, read
    after the listing ended. Objects modified after ``listed_at - grace`` are kept."""
    plan = CleanupPlan()
    objects = list(objects)
    rows = list(rows)
    named = {row.storage_key for row in rows}
    listed = {item.key for item in objects}
    for item in sorted(objects, key=lambda o: o.key):
        if item.key in named:
            continue
        if item.modified <= listed_at - grace:
            plan.orphans.append(item)
        else:
            plan.young.append(item)
    plan.missing = sorted(
        (row for row in rows if row.storage_key not in listed and row.created_at < listed_at),
        key=lambda row: row.storage_key,
    )
    return plan
