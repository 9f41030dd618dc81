"""Settings for tests: every service field is explicit, so the CI environment
(DATABASE_URL, REDIS_URL) never leaks into a test that did not ask for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.settings import Settings


def make_settings(data_dir: Path, database_url: str = "", **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url or f"sqlite+aiosqlite:///{data_dir / 'test.db'}",
        "redis_url": None,
        "secret_key": "test-secret-key-not-for-production",
        "allowed_origins": "",
        "llm_provider": "scripted",
        "scripted_tokens_per_second": 0.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)
