"""The hardening suite (issue 16): every test in this directory is marked ``hardening``, so
``pytest -m hardening`` runs it alone; it also runs with the rest of the suite.

Repetitions: a few by default (CI), the full count with ``HARDENING_FULL=1``
(``make hardening``), whose figures are recorded in docs/reliability.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: ``HARDENING_FULL=1``: the full repetition counts and the literal outage lengths.
FULL = os.environ.get("HARDENING_FULL", "") == "1"


def repetitions(ci: int, full: int) -> int:
    """How many times a repeated point runs: ``ci`` by default, ``full`` under
    ``HARDENING_FULL=1``."""
    return full if FULL else ci


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A directory conftest's hook sees the whole session's items: mark only ours.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.hardening)


# The in-process tier's fixtures (an app on SQLite and PostgreSQL, logged-in teachers),
# shared with tests/api; a module may override ``settings`` for its own limits.
from tests.api.conftest import (  # noqa: E402, F401
    app,
    client,
    make_client,
    new_teacher,
    settings,
)
