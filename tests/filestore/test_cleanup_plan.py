"""The cleanup decision (pure): what is removed, kept and reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from filestore.base import StoredObject
from filestore.cleanup import FileRow, plan_cleanup

LISTED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(hours=1)


def obj(key: str, age: timedelta) -> StoredObject:
    return StoredObject(key, 10, LISTED_AT - age)


def row(key: str, age: timedelta) -> FileRow:
    return FileRow(id=key.upper(), storage_key=key, created_at=LISTED_AT - age)


def test_old_unnamed_objects_are_orphans_and_named_ones_stay() -> None:
    plan = plan_cleanup(
        [obj("profiles/a/named", timedelta(days=3)), obj("profiles/a/orphan", timedelta(hours=2))],
        [row("profiles/a/named", timedelta(days=3))],
        listed_at=LISTED_AT,
        grace=GRACE,
    )
    assert [o.key for o in plan.orphans] == ["profiles/a/orphan"]
    assert plan.young == [] and plan.missing == []


def test_an_unnamed_object_younger_than_the_grace_is_kept() -> None:
    # An upload between its object write and its row commit looks exactly like this.
    plan = plan_cleanup(
        [obj("profiles/a/uploading", timedelta(minutes=59))],
        [],
        listed_at=LISTED_AT,
        grace=GRACE,
    )
    assert plan.orphans == [] and [o.key for o in plan.young] == ["profiles/a/uploading"]


def test_exactly_the_grace_old_is_removed() -> None:
    plan = plan_cleanup([obj("profiles/a/x", GRACE)], [], listed_at=LISTED_AT, grace=GRACE)
    assert [o.key for o in plan.orphans] == ["profiles/a/x"]


def test_rows_without_objects_are_reported_unless_created_during_the_run() -> None:
    plan = plan_cleanup(
        [],
        [row("profiles/a/lost", timedelta(days=1)), row("profiles/a/new", -timedelta(seconds=1))],
        listed_at=LISTED_AT,
        grace=GRACE,
    )
    assert [r.storage_key for r in plan.missing] == ["profiles/a/lost"]
    assert plan.orphans == []
