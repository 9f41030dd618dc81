"""Caps on the session sockets one worker process holds open per user and per address.

Pure bookkeeping (no I/O): the socket glue asks :meth:`SocketCaps.admit` after the handshake
is authorised, and :meth:`SocketCaps.release` when the socket ends. A refused socket is accepted and
closed at once with ``CloseCode.TOO_MANY_SOCKETS`` (4029), so the page can say why instead of
seeing a bare handshake failure, and does not reconnect.

The counts are per worker process: with N workers a user may hold up to N times the cap.
That bounds what one client can pin on one process (memory, file descriptors) without a
shared counter that a killed worker would leave wrong.

The address is the ASGI client address: the peer, or with a trusted proxy in front
(uvicorn's ``--forwarded-allow-ips`` / ``FORWARDED_ALLOW_IPS``) the client it names in
``X-Forwarded-For``. Behind a proxy that is *not* trusted every socket shares the proxy's
address, which is why the defaults (1,500 per user, 3,000 per address) sit above the 1,000
observers of one session by one teacher through one load balancer (the connect-storm
benchmark).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CapExceeded", "SocketCaps"]


class CapExceeded(Exception):
    """A socket over a cap; ``str()`` is a reason fit for the close frame."""


@dataclass
class SocketCaps:
    per_user: int
    per_address: int
    _users: Counter[str] = field(default_factory=Counter)
    _addresses: Counter[str] = field(default_factory=Counter)

    def admit(self, user: str, address: str) -> None:
        """Count one more socket of ``user`` from ``address`` (until :meth:`release`).

        Raises :class:`CapExceeded` (counting nothing) if either is at its cap."""
        if self._users[user] >= self.per_user:
            raise CapExceeded(f"more than {self.per_user} sockets for this user")
        if self._addresses[address] >= self.per_address:
            raise CapExceeded(f"more than {self.per_address} sockets from this address")
        self._users[user] += 1
        self._addresses[address] += 1

    def release(self, user: str, address: str) -> None:
        """A socket :meth:`admit` counted has ended."""
        for counts, key in ((self._users, user), (self._addresses, address)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]  # bounded: only keys with open sockets stay

    def open_sockets(self, *, user: str | None = None, address: str | None = None) -> int:
        if user is not None:
            return self._users[user]
        if address is not None:
            return self._addresses[address]
        return sum(self._users.values())
