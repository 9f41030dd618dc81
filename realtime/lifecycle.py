"""The session lifecycle: one table of allowed transitions, used by the API,
the socket and the watchdog alike. Pure logic, no I/O."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    CREATED = "created"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    EXPIRED = "expired"


class SessionAction(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"
    EXPIRE = "expire"
    # A teacher extending time or tokens reopens an active or expired session.
    EXTEND = "extend"


S = SessionStatus
A = SessionAction

#: action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[SessionAction, tuple[frozenset[SessionStatus], SessionStatus]] = {
    A.START: (frozenset({S.CREATED}), S.ACTIVE),
    A.PAUSE: (frozenset({S.ACTIVE}), S.PAUSED),
    A.RESUME: (frozenset({S.PAUSED}), S.ACTIVE),
    A.END: (frozenset({S.CREATED, S.ACTIVE, S.PAUSED}), S.COMPLETED),
    A.EXPIRE: (frozenset({S.ACTIVE, S.PAUSED}), S.EXPIRED),
    A.EXTEND: (frozenset({S.ACTIVE, S.PAUSED, S.EXPIRED}), S.ACTIVE),
}

TERMINAL: frozenset[SessionStatus] = frozenset({S.COMPLETED, S.EXPIRED})
LIVE: frozenset[SessionStatus] = frozenset({S.ACTIVE, S.PAUSED})

#: The audit-trail event kind recorded for each action.
AUDIT_KIND: dict[SessionAction, str] = {
    A.START: "started",
    A.PAUSE: "paused",
    A.RESUME: "resumed",
    A.END: "completed",
    A.EXPIRE: "expired",
    A.EXTEND: "extended",
}


class IllegalTransition(Exception):
    """Raised when an action is not allowed from the session's current status."""

    def __init__(self, action: SessionAction, current: SessionStatus) -> None:
        super().__init__(f"cannot {action.value} a session that is {current.value}")
        self.action = action
        self.current = current


def sources(action: SessionAction) -> frozenset[SessionStatus]:
    return TRANSITIONS[action][0]


def target(action: SessionAction) -> SessionStatus:
    return TRANSITIONS[action][1]


def apply(action: SessionAction, current: SessionStatus) -> SessionStatus:
    """Return the status after ``action``; raise :class:`IllegalTransition` if not allowed."""
    allowed, to = TRANSITIONS[action]
    if current not in allowed:
        raise IllegalTransition(action, current)
    return to
