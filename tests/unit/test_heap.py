"""server.heap: start-up's objects frozen out of the collector's full passes, full passes
ten times rarer, and both only in the app ``vclient serve`` runs (tests build many apps in
one process)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import create_app
from server.heap import FULL_PASS_EVERY, freeze_startup_heap, space_full_passes
from server.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # back to the oldest generation: the rest of the run collects them
    gc.set_threshold(*thresholds)


def test_full_passes_are_spaced_and_the_young_generations_left_alone(unfrozen: None) -> None:
    young, middle, oldest = gc.get_threshold()
    assert oldest < FULL_PASS_EVERY
    assert space_full_passes() == (young, middle, FULL_PASS_EVERY) == gc.get_threshold()


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
    default = gc.get_threshold()
    for freeze, expected in ((False, False), (True, True)):
        app = create_app(settings, freeze_heap=freeze)
        async with app.router.lifespan_context(app):
            assert (gc.get_freeze_count() > 0) is expected
            assert (gc.get_threshold()[2] == FULL_PASS_EVERY) is expected
        gc.unfreeze()
        gc.set_threshold(*default)
