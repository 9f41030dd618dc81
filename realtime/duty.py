"""A deployment-wide duty: a background loop that one process runs for all of them.

Every web worker runs a flusher and a watchdog by default (``FLUSHER_IN_PROCESS``,
``WATCHDOG_IN_PROCESS``), and the separate ``vclient flusher`` and ``vclient watchdog``
may run twice for redundancy. Each loop scans every live session, so N of them did N
times the same SQL listing, the same durable reads and inserts (stored once, the others
refused by ``ON CONFLICT``) and the same expiry checks: a second worker cost a second set
of scans. Now the loops share one lease per duty in the backend: the holder scans, the
others look once per scan (one Redis command) and take over when its lease lapses.

The lease is :data:`LEASE_SCANS` scan intervals (at least :data:`SHORTEST_LEASE`): the
holder renews it at every scan, so only a holder stalled for that long (or gone) loses
it. Two holders at once for a moment are harmless, as several loops always were; a
holder that stops gives the duty up, so the next loop takes it at its next scan.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

from realtime.backends import RealtimeBackend

log = logging.getLogger(__name__)

__all__ = ["LEASE_SCANS", "SHORTEST_LEASE", "Duty"]

#: Scan intervals a lease lasts: a holder that missed three renewals in a row (a stalled
#: loop, a Redis blip) still has it at the fourth. A loop that died is replaced at most
#: this long after its last scan: the flusher's 0.25 s scans give 1 s, within the 2 s
#: transcripts promise; the watchdog's 0.5 s give 2 s more of lateness, once.
LEASE_SCANS = 4
#: Tests run loops every few milliseconds; a lease shorter than this would change hands
#: on every scheduling hiccup.
SHORTEST_LEASE = 1.0


class Duty:
    """One process's part in a duty: :meth:`take` before each scan, scan only when it
    answers True, :meth:`give_up` when the loop stops."""

    def __init__(self, backend: RealtimeBackend, name: str, interval_seconds: float) -> None:
        self.name = name
        self._backend = backend
        self._lease = max(LEASE_SCANS * interval_seconds, SHORTEST_LEASE)
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        #: Whether the last :meth:`take` got the duty (``/readyz`` shows it).
        self.held = False

    async def take(self) -> bool:
        """Take or renew the duty; whether this process has it now. Raises
        BackendUnavailable (the loop's failed scan: it retries)."""
        held = await self._backend.hold_duty(self.name, self._holder, self._lease)
        if held != self.held:
            log.info("%s: %s", self.name, "on duty" if held else "standing by")
        self.held = held
        return held

    async def give_up(self) -> None:
        """Let the next loop take the duty now rather than after the lease. Best effort:
        a backend down or a cancelled call leaves the lease to lapse."""
        if not self.held:
            return
        self.held = False
        try:
            await self._backend.release_duty(self.name, self._holder)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("%s: could not give the duty up; it lapses", self.name, exc_info=True)
