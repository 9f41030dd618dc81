"""A deployment-wide duty: a background loop that one process runs for all of them.

Every web worker runs a flusher and a watchdog by default (``FLUSHER_IN_PROCESS``,
``WATCHDOG_IN_PROCESS``), and the separate ``vclient flusher`` and ``vclient watchdog``
may run twice for redundancy. Each loop scans every live session, so N of them did N
times the same SQL listing, the same durable reads and inserts (stored once, the others
refused by ``ON CONFLICT``) and the same expiry checks: a second worker cost a second set
of scans. Now the loops share one lease per duty in the backend: the holder scans, the
others look once per scan (one Redis command) and take over when its lease lapses.

The lease is :data:`LEASE_SCANS` times the loop's wait before its next look (at least
:data:`SHORTEST_LEASE`): the holder renews it at every scan, so only a holder stalled for
that long (or gone) loses it. A loop backing off (the flusher while the database is
down: 0.5, 1, 2, 4, then 5 s) keeps its duty through the longer waits, so one flusher
reports the outage rather than the duty passing from one failing loop to the next. Two
holders at once for a moment are harmless, as several loops always were; a holder that
stops gives the duty up, so the next loop takes it at its next scan.

Fail open: a loop whose backend cannot say who holds the duty (unreachable, or no answer
within the lease, as a Redis refusing writes gives none) scans anyway, as every loop
did before duties: several scanning at once is safe by design, and a flusher held up
waiting for a lease would hold the transcripts up with it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket

from realtime.backends import BackendUnavailable, RealtimeBackend

log = logging.getLogger(__name__)

__all__ = ["LEASE_SCANS", "SHORTEST_LEASE", "Duty"]

#: Waits a lease lasts: a holder that missed three renewals in a row (a stalled loop, a
#: Redis blip) still has it at the fourth, and a backing-off flusher's next wait (twice
#: its last) is covered. A loop that died is replaced at most this long after its last
#: scan: the flusher's 0.25 s scans give 1 s, within the 2 s transcripts promise; the
#: watchdog's 0.5 s give 2 s more of lateness, once.
LEASE_SCANS = 4
#: Tests run loops every few milliseconds; a lease shorter than this would change hands
#: on every scheduling hiccup.
SHORTEST_LEASE = 1.0


class Duty:
    """One process's part in a duty: :meth:`take` before each scan, scan only when it
    answers True, :meth:`give_up` when the loop stops."""

    def __init__(self, backend: RealtimeBackend, name: str) -> None:
        self.name = name
        self._backend = backend
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        #: What ``/readyz`` shows: ``held``, ``standby``, or ``unsure`` (scanning with no
        #: answer from the backend: fail open).
        self.state = "standby"

    @property
    def held(self) -> bool:
        """Whether the last :meth:`take` got the duty."""
        return self.state == "held"

    async def take(self, wait_seconds: float) -> bool:
        """Take or renew the duty, for :data:`LEASE_SCANS` times ``wait_seconds`` (the
        loop's wait before its next look); whether to scan now: this process has the
        duty, or the backend could not tell within the lease (fail open)."""
        lease = max(LEASE_SCANS * wait_seconds, SHORTEST_LEASE)
        try:
            async with asyncio.timeout(lease):
                held = await self._backend.hold_duty(self.name, self._holder, lease)
        except (TimeoutError, BackendUnavailable) as unknown:
            if self.state != "unsure":
                log.warning("%s: no answer on the duty (%r); scanning anyway", self.name, unknown)
            self.state = "unsure"
            return True
        state = "held" if held else "standby"
        if state != self.state:
            log.info("%s: %s", self.name, "on duty" if held else "standing by")
        self.state = state
        return held

    async def give_up(self) -> None:
        """Let the next loop take the duty now rather than after the lease. Best effort:
        a backend down or a cancelled call leaves the lease to lapse."""
        if not self.held:
            return
        self.state = "standby"
        try:
            await self._backend.release_duty(self.name, self._holder)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("%s: could not give the duty up; it lapses", self.name, exc_info=True)
