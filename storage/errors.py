"""Storage-level outcomes the layers above translate (HTTP statuses live in ``server``)."""

from __future__ import annotations

import uuid


class NotFound(Exception):
    """The object does not exist, or belongs to someone else (we never say which)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} not found")
        self.kind = kind


class InUse(Exception):
    """The object is referenced by sessions and cannot be deleted."""

    def __init__(self, kind: str, session_ids: list[uuid.UUID]) -> None:
        super().__init__(f"{kind} is used by {len(session_ids)} session(s)")
        self.kind = kind
        self.session_ids = session_ids


class Conflict(Exception):
    """A concurrent writer changed the row first (optimistic concurrency)."""


class Duplicate(Exception):
    """A unique value (such as an email) is already taken."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} already exists")
        self.field = field
