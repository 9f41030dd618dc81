"""A reply's lease, as the runner keeps it: renewed a quarter of the lease after the say
took it (not again as the reply starts), and released once as its end is logged."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.config import RealtimeConfig
from tests.hub.rig import Rig, hub_of, new_session, runner_of, say_and_wait


@pytest.mark.parametrize("lease", [60.0])  # a quarter (15 s) no test step comes near
async def test_a_short_reply_renews_no_lease_and_releases_its_lock_once(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, lease: float
) -> None:
    calls: list[str] = []
    for name in ("refresh_reply", "release_reply"):
        real = getattr(rig.backend, name)

        async def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append(_name)
            return await _real(*args)

        monkeypatch.setattr(rig.backend, name, counted)
    config = RealtimeConfig(reply_lock_seconds=lease)
    runner = runner_of(rig, config=config)
    hub = hub_of(rig, runner=runner, config=config)
    sid = await new_session(rig)
    try:
        await say_and_wait(rig, sid, "Hello, how are you today?", hub=hub)
    finally:
        await runner.aclose(grace=5)
    # Before: a renewal as the reply started, and a second release after its end.
    assert calls == ["release_reply"]
    assert await rig.backend.current_reply(str(sid)) is None
