"""The garbage collector's full passes, kept short.

A full (generation 2) collection walks every object the collector tracks, with the event
loop stopped. Under the benchmark at S=10 one took 128 ms over 154k objects (logged with
``gc.callbacks``), most of them made at start-up and alive for the process's life: modules,
SQLAlchemy's mappers and compiled statements, pydantic's schemas, the routes. Every chunk
waiting behind such a pass gets its length as latency: p99 71-138 ms at S=10, where
everything else takes ~2 ms. :func:`freeze_startup_heap` moves what start-up made out of
the collector's sight for good (``gc.freeze``, which CPython documents for this), so a
full pass walks only what the traffic made since.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

__all__ = ["freeze_startup_heap"]


def freeze_startup_heap() -> int:
    """Collect once (garbage is not worth keeping forever), then freeze every object left;
    returns how many are frozen. Call once start-up is done, before traffic."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("froze %d start-up objects out of the garbage collector's passes", frozen)
    return frozen
