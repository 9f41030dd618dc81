"""The generated secret key: eight workers starting at once on a fresh data directory
all end up with the one key on disk (a check-then-write gave each its own)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from server.settings import Settings


def _key(data_dir: str, keys: multiprocessing.Queue[str]) -> None:
    keys.put(Settings(data_dir=Path(data_dir), secret_key=None).resolved_secret_key())


def test_workers_starting_together_share_one_generated_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    keys: multiprocessing.Queue[str] = context.Queue()
    workers = [context.Process(target=_key, args=(str(tmp_path), keys)) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    found = {keys.get(timeout=10) for _ in workers}
    assert len(found) == 1
    assert found == {(tmp_path / "secret_key").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
