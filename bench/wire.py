"""What the capacity benchmark's processes agree on: the upstream's pace, the emit stamps
it writes into the reply text, and the request markers the driver writes into a say.

A stamp travels *inside* the delta text (``⟦index@emit_time⟧``), so it survives any
coalescing a server does between the upstream and the sockets: the driver finds every
stamp of a reply in the ``reply.delta`` frames, whichever frame carried it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

__all__ = [
    "Pace",
    "find_marker",
    "make_marker",
    "marker_text",
    "new_run_id",
    "read_stamps",
    "stamp",
]

#: The issue's pace: a 150-token reply, ~3 tokens a chunk, one chunk every 50 ms
#: (60 tokens/s, a fast hosted model), so a reply streams for ~2.5 s.
DEFAULT_REPLY_TOKENS = 150
DEFAULT_TOKENS_PER_CHUNK = 3
DEFAULT_CHUNK_INTERVAL_S = 0.05

_STAMP = re.compile(r"\u27e6(\d+)@(\d+\.\d+)\u27e7")
_MARKER = re.compile(r"\[req:([0-9a-f]{6,40}-\d+)\]")


@dataclass(frozen=True, slots=True)
class Pace:
    """How the upstream streams one reply."""

    reply_tokens: int = DEFAULT_REPLY_TOKENS
    tokens_per_chunk: int = DEFAULT_TOKENS_PER_CHUNK
    chunk_interval_s: float = DEFAULT_CHUNK_INTERVAL_S

    @property
    def chunks(self) -> int:
        return -(-self.reply_tokens // self.tokens_per_chunk)

    @property
    def reply_seconds(self) -> float:
        return (self.chunks - 1) * self.chunk_interval_s


def stamp(index: int, emitted: float) -> str:
    """The stamp of chunk ``index`` of a reply, emitted at wall-clock ``emitted``."""
    return f"\u27e6{index}@{emitted:.6f}\u27e7"


def read_stamps(text: str) -> list[tuple[int, float]]:
    """Every ``(index, emit_time)`` stamped in ``text``, in order."""
    return [(int(index), float(at)) for index, at in _STAMP.findall(text)]


def make_marker(run: str, n: int) -> str:
    """The ``n``-th request marker of driver run ``run`` (a hex id)."""
    return f"{run}-{n}"


def marker_text(marker: str) -> str:
    return f"[req:{marker}]"


def find_marker(text: str) -> str | None:
    """The last request marker in ``text`` (a merged turn may hold several), or None."""
    found = _MARKER.findall(text)
    return found[-1] if found else None


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]
