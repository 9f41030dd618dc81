"""The garbage collector's full passes, kept short and rare.

A full (generation 2) collection walks every object the collector tracks, with the event
loop stopped. Under the benchmark at S=10 one took 128 ms over 154k objects (logged with
``gc.callbacks``), most of them made at start-up and alive for the process's life: modules,
SQLAlchemy's mappers and compiled statements, pydantic's schemas, the routes. Every chunk
waiting behind such a pass gets its length as latency: p99 71-138 ms at S=10, where
everything else takes ~2 ms. :func:`freeze_startup_heap` moves what start-up made out of
the collector's sight for good (``gc.freeze``, which CPython documents for this), so a
full pass walks only what the traffic made since, and :func:`space_full_passes` makes such
passes rarer.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

__all__ = ["FULL_PASS_EVERY", "freeze_startup_heap", "space_full_passes"]

#: Generation-1 passes between full ones (CPython's default is 10). Frozen start-up aside,
#: a worker's live heap under load is still ~70-110k objects (open sockets' tasks, the
#: recent logs, the pools), and a full pass over it stopped the loop 62-84 ms on the
#: benchmark's VM, every ~5 s at S=50: each one pushed a 10 s window's p99 past 50 ms.
#: At 100 a full pass comes about every 50 s of that load, no longer; the two young
#: generations are untouched (their passes take 0.5-3 ms), and cyclic garbage old enough
#: to reach the oldest generation waits longer for its pass (memory, not correctness).
FULL_PASS_EVERY = 100


def freeze_startup_heap() -> int:
    """Collect once (garbage is not worth keeping forever), then freeze every object left;
    returns how many are frozen. Call once start-up is done, before traffic."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("froze %d start-up objects out of the garbage collector's passes", frozen)
    return frozen


def space_full_passes() -> tuple[int, int, int]:
    """Make full passes ten times rarer (:data:`FULL_PASS_EVERY`); returns the thresholds
    now in force. Like the freeze, only for the served app."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_EVERY)
    log.info("a full garbage collection every %d middle-generation passes", FULL_PASS_EVERY)
    return gc.get_threshold()
