"""``vclient files cleanup``: remove stored objects no ``profile_files`` row names and
report rows whose object is missing. Safe while the app serves: the listing comes
first, the rows second, and only objects older than FILES_CLEANUP_GRACE_SECONDS at the
listing are removed (:mod:`filestore.cleanup` gives the argument)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

from filestore import FileStore, StoreUnavailable
from filestore.cleanup import CleanupPlan, FileRow, plan_cleanup
from storage.db import Database
from storage.repos import files as file_repo

__all__ = ["CleanupReport", "print_report", "run_cleanup"]


@dataclass
class CleanupReport:
    plan: CleanupPlan
    dry_run: bool
    removed: list[str] = field(default_factory=list)
    #: Orphans whose removal the store refused or did not answer (tried again next run).
    failed: list[str] = field(default_factory=list)


async def run_cleanup(
    db: Database,
    store: FileStore,
    *,
    grace: timedelta,
    dry_run: bool,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> CleanupReport:
    """One pass. Raises StoreUnavailable when the listing fails (nothing removed then)."""
    listed_at = now()
    objects = [item async for item in store.objects()]
    async with db.session() as session:  # strictly after the listing: see the module doc
        rows = [
            FileRow(id=str(file_id), storage_key=key, created_at=created)
            for file_id, key, created in await file_repo.all_files(session)
        ]
    plan = plan_cleanup(objects, rows, listed_at=listed_at, grace=grace)
    report = CleanupReport(plan=plan, dry_run=dry_run)
    if dry_run:
        return report
    for orphan in plan.orphans:
        try:
            await store.delete(orphan.key)
        except StoreUnavailable:
            report.failed.append(orphan.key)
        else:
            report.removed.append(orphan.key)
    return report


def print_report(report: CleanupReport, grace: timedelta, out: TextIO) -> None:
    plan = report.plan
    verb = "would remove" if report.dry_run else "removed"
    for orphan in plan.orphans:
        if orphan.key not in report.failed:
            print(f"{verb} {orphan.key} ({orphan.size:,} bytes)", file=out)
    for key in report.failed:
        print(f"could not remove {key} (the store did not answer; run again)", file=out)
    for row in plan.missing:
        print(f"missing: file {row.id} names {row.storage_key}, which is not stored", file=out)
    seconds = int(grace.total_seconds())
    print(
        f"{len(plan.orphans) - len(report.failed)} {verb}, {len(report.failed)} failed, "
        f"{len(plan.missing)} missing, {len(plan.young)} unreferenced but younger than "
        f"{seconds} s (kept)",
        file=out,
    )
