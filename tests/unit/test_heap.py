"""server.heap: start-up's objects frozen out of the collector's full passes, and only by
the app ``vclient serve`` runs (tests build many apps in one process)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import create_app
from server.heap import freeze_startup_heap
from server.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()  # back to the oldest generation: the rest of the run collects them


def test_freezing_collects_first_then_freezes_what_is_alive(unfrozen: None) -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    garbage, kept = Cycle(), Cycle()
    gone = weakref.ref(garbage)
    del garbage
    frozen = freeze_startup_heap()
    assert gone() is None  # collected, not frozen for the process's life
    assert frozen == gc.get_freeze_count() > 1_000  # the interpreter's and the imports'
    # Out of every generation a pass walks.
    assert not any(o is kept for generation in (0, 1, 2) for o in gc.get_objects(generation))
    gc.collect()
    assert gc.get_freeze_count() == frozen


async def test_only_the_served_app_freezes(unfrozen: None, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 32, redis_url="")
    for freeze, expected in ((False, False), (True, True)):
        app = create_app(settings, freeze_heap=freeze)
        async with app.router.lifespan_context(app):
            assert (gc.get_freeze_count() > 0) is expected
        gc.unfreeze()
