"""The hub tests' shared rig (:mod:`tests.hub.rig`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.hub.rig import Rig, built_rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for built in built_rig(tmp_path):
        yield built
