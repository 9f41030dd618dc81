"""Delta coalescing and reply accumulation (pure, injected time).

An LLM streams a token every 10-20 ms; appending each one would cost a Redis round trip
and a frame per token per watcher. :class:`DeltaCoalescer` batches them: the first text of
a reply goes out at once (the student sees the reply start with no added latency), later
text at most once per ``window`` seconds, or earlier when ``max_pending_chars`` pile up.
It also keeps the whole reply text for ``reply.done``.

Driving loop (sketch)::

    for each delta from the provider:
        if (out := c.feed(delta, now())) is not None: append reply.delta(out)
    and when idle until c.deadline():  if (out := c.due(now())) ...: append ...
    at the end:  if (out := c.finish()) ...: append ...; then reply.done(c.text)
"""

from __future__ import annotations

#: 25 ms: at most 40 frames/s per reply, below what a reader notices as stutter.
DEFAULT_WINDOW = 0.025
#: A burst (a cached or very fast model) still goes out in readable chunks.
DEFAULT_MAX_PENDING_CHARS = 256


class DeltaCoalescer:
    """Decides when to flush text deltas of one reply. Not thread-safe; no I/O."""

    def __init__(
        self, *, window: float = DEFAULT_WINDOW, max_pending_chars: int = DEFAULT_MAX_PENDING_CHARS
    ) -> None:
        if window < 0 or max_pending_chars < 1:
            raise ValueError("window must be >= 0 and max_pending_chars >= 1")
        self._window = window
        self._max_pending = max_pending_chars
        self._parts: list[str] = []
        self._pending: list[str] = []
        self._pending_chars = 0
        self._last_flush: float | None = None
        self._finished = False

    @property
    def text(self) -> str:
        """The whole reply so far, flushed and pending."""
        return "".join(self._parts) + "".join(self._pending)

    @property
    def pending(self) -> str:
        return "".join(self._pending)

    @property
    def finished(self) -> bool:
        return self._finished

    def deadline(self) -> float | None:
        """When pending text must be flushed (pass a time >= this to :meth:`due`), or None."""
        if not self._pending or self._last_flush is None:
            return None
        return self._last_flush + self._window

    def feed(self, delta: str, now: float) -> str | None:
        """Add ``delta``; return the text to send now, or None to hold it.

        Raises RuntimeError after :meth:`finish`.
        """
        if self._finished:
            raise RuntimeError("reply already finished")
        if not delta:
            return None
        self._pending.append(delta)
        self._pending_chars += len(delta)
        if (
            self._last_flush is None
            or now >= self._last_flush + self._window
            or self._pending_chars >= self._max_pending
        ):
            return self._flush(now)
        return None

    def due(self, now: float) -> str | None:
        """Flush pending text if its deadline has passed (timer path)."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return None
        return self._flush(now)

    def finish(self) -> str | None:
        """End of reply: return any pending text (to send before ``reply.done``)."""
        self._finished = True
        if not self._pending:
            return None
        return self._flush(self._last_flush or 0.0)

    def _flush(self, now: float) -> str:
        out = "".join(self._pending)
        self._parts.append(out)
        self._pending.clear()
        self._pending_chars = 0
        self._last_flush = now
        return out
