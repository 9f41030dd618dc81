"""Argon2id password hashing, run off the event loop (one hash costs ~50 ms of CPU)."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the email is unknown makes both paths cost the same,
    so response time does not reveal which emails have accounts. Made at first use, not
    at import: every process that imports the app (each CLI command, each worker) paid
    one hash, 50-180 ms here, most of which never verify a password."""
    return _hasher.hash("not-a-real-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
        return matches and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True only if ``password`` matches; ``None`` hashes are checked against a dummy."""
    return await asyncio.to_thread(_verify, password_hash, password)
