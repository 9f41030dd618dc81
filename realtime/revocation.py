"""Revoked credentials and the open sockets they let in. Pure: no I/O, injected clock.

Two things revoke credentials: replacing a session's join link (its student cookies:
:class:`LinkRevoked`) and a teacher's logout or password change (every cookie issued
before: the user's ``session_version`` goes up, :class:`UserRevoked`). SQL is the
authority: every request and every socket handshake checks it. Sockets already open are
closed through the revocation channel (:class:`realtime.backends.revocations.Revocations`),
which carries these messages to every worker, where :class:`LiveConnections` closes the
matching ones with :attr:`CloseCode.REVOKED`.

Applying a revocation is order-independent and idempotent (a revoked link stays revoked,
a user's floor only rises), so a message that arrives twice, late, or before another
closes the same sockets. A socket whose handshake read SQL just before a revocation was
committed, and registers just after it was applied, is caught by the revocations
remembered for :data:`REMEMBER_SECONDS`.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from realtime.vocabulary import CloseCode

__all__ = [
    "REMEMBER_MAX",
    "REMEMBER_SECONDS",
    "Credential",
    "LinkRevoked",
    "LiveConnections",
    "Revocable",
    "Revocation",
    "RevocationGap",
    "StudentCredential",
    "TeacherCredential",
    "UserRevoked",
    "decode_revocation",
    "encode_revocation",
    "link_fingerprint",
]

#: A handshake reads SQL, then accepts the socket and registers it: a few milliseconds.
#: Revocations are remembered far longer than that, for sockets registering late.
REMEMBER_SECONDS = 60.0
#: ...and at most this many (a school's logouts and new links in a minute are tens).
REMEMBER_MAX = 10_000
#: Close reasons travel in the close frame (at most 123 bytes).
REVOKED_REASON = "credentials revoked"


def link_fingerprint(nonce: str) -> str:
    """A join nonce as revocations name it: one-way, so the channel never carries a
    credential (the nonce itself, 144 random bits, is never published)."""
    return hashlib.sha256(nonce.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class LinkRevoked:
    """The join link with this fingerprint no longer admits anyone to the session."""

    session_id: uuid.UUID
    link: str


@dataclass(frozen=True, slots=True)
class UserRevoked:
    """Every cookie of this user with a ``session_version`` below ``below`` is revoked."""

    user_id: uuid.UUID
    below: int


Revocation = LinkRevoked | UserRevoked


@dataclass(frozen=True, slots=True)
class RevocationGap:
    """Some revocations may have been missed (the listener fell behind the channel's
    bounded log, or the store lost it): every held socket must be checked again."""

    reason: str


def encode_revocation(revocation: Revocation) -> str:
    match revocation:
        case LinkRevoked(session_id, link):
            return json.dumps({"t": "link", "s": str(session_id), "f": link})
        case UserRevoked(user_id, below):
            return json.dumps({"t": "user", "u": str(user_id), "v": below})


def decode_revocation(text: str) -> Revocation | None:
    """The message ``text`` holds, or None if it is not one this worker can read (a newer
    worker's, mid-deploy: the handshake check still refuses what it revoked)."""
    try:
        data = json.loads(text)
        if data["t"] == "link" and isinstance(data["f"], str):
            return LinkRevoked(uuid.UUID(data["s"]), data["f"])
        below = data["v"]
        if data["t"] == "user" and isinstance(below, int) and not isinstance(below, bool):
            return UserRevoked(uuid.UUID(data["u"]), below)
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


@dataclass(frozen=True, slots=True)
class StudentCredential:
    """A socket let in by a student cookie of this session's join link."""

    session_id: uuid.UUID
    link: str  # link_fingerprint of the cookie's nonce

    def revoked_by(self, revocation: Revocation) -> bool:
        return (
            isinstance(revocation, LinkRevoked)
            and revocation.session_id == self.session_id
            and revocation.link == self.link
        )


@dataclass(frozen=True, slots=True)
class TeacherCredential:
    """A socket let in by a teacher cookie carrying ``version``."""

    user_id: uuid.UUID
    version: int

    def revoked_by(self, revocation: Revocation) -> bool:
        return (
            isinstance(revocation, UserRevoked)
            and revocation.user_id == self.user_id
            and self.version < revocation.below
        )


Credential = StudentCredential | TeacherCredential
_Key = tuple[str, uuid.UUID]


def _key(item: Credential | Revocation) -> _Key:
    match item:
        case StudentCredential(session_id) | LinkRevoked(session_id):
            return ("link", session_id)
        case TeacherCredential(user_id) | UserRevoked(user_id):
            return ("user", user_id)


class Revocable(Protocol):
    def revoke(self, code: int, reason: str) -> None:
        """End this socket with ``code``; idempotent, never blocks."""
        ...


class LiveConnections:
    """This worker's open sockets by what let them in; closes those a revocation names.

    Sockets register for their lifetime with :meth:`hold`. Costs O(sockets of the
    revoked session or user) per revocation, and O(revocations remembered for that
    session or user) per registration."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        remember_seconds: float = REMEMBER_SECONDS,
        remember_max: int = REMEMBER_MAX,
    ) -> None:
        self._clock = clock
        self._remember_seconds = remember_seconds
        self._held: dict[_Key, dict[Revocable, Credential]] = {}
        self._recent: dict[_Key, set[Revocation]] = {}
        self._recent_order: deque[tuple[float, Revocation]] = deque(maxlen=remember_max)

    def __len__(self) -> int:
        return sum(len(conns) for conns in self._held.values())

    @contextmanager
    def hold(self, credential: Credential, conn: Revocable) -> Iterator[None]:
        """Register ``conn`` for the block; revokes it at once if a remembered revocation
        already names its credential."""
        key = _key(credential)
        self._held.setdefault(key, {})[conn] = credential
        self._forget_old()
        if any(credential.revoked_by(r) for r in self._recent.get(key, ())):
            conn.revoke(CloseCode.REVOKED, REVOKED_REASON)
        try:
            yield
        finally:
            conns = self._held.get(key, {})
            conns.pop(conn, None)
            if not conns:
                self._held.pop(key, None)

    def apply(self, revocation: Revocation) -> int:
        """Revoke every held socket ``revocation`` names; returns how many."""
        key = _key(revocation)
        self._forget_old()
        if revocation not in self._recent.get(key, ()):  # an echo is remembered once
            if len(self._recent_order) == self._recent_order.maxlen:
                self._forget(*self._recent_order.popleft())
            self._recent.setdefault(key, set()).add(revocation)
            self._recent_order.append((self._clock(), revocation))
        named = [c for c, cred in self._held.get(key, {}).items() if cred.revoked_by(revocation)]
        for conn in named:
            conn.revoke(CloseCode.REVOKED, REVOKED_REASON)
        return len(named)

    def revoke_all(self, code: int, reason: str) -> int:
        """Close every held socket with ``code`` (after a :class:`RevocationGap`: they
        reconnect with ``after`` and their handshake checks SQL again)."""
        conns = [conn for held in self._held.values() for conn in held]
        for conn in conns:
            conn.revoke(code, reason)
        return len(conns)

    def _forget_old(self) -> None:
        horizon = self._clock() - self._remember_seconds
        while self._recent_order and self._recent_order[0][0] <= horizon:
            self._forget(*self._recent_order.popleft())

    def _forget(self, _at: float, revocation: Revocation) -> None:
        key = _key(revocation)
        remembered = self._recent.get(key)
        if remembered is not None:
            remembered.discard(revocation)
            if not remembered:
                del self._recent[key]
