"""The file-store protocol every backend speaks, its value types and its errors.

A store holds immutable objects under keys the caller makes with :func:`new_key`
(``profiles/<profile uuid>/<fresh uuid4>``): a key is written once and never reused, so a
key no row names is garbage for good once it is old enough (see :mod:`filestore.cleanup`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

__all__ = [
    "CHUNK_BYTES",
    "KEY_PREFIX",
    "FileStore",
    "ObjectMissing",
    "ObjectReader",
    "StoreUnavailable",
    "StoredObject",
    "Upload",
    "check_key",
    "new_key",
]

# Reads and writes move 64 KiB at a time: a 10 MiB file is 160 steps, and a slow
# download holds one chunk, not the file.
CHUNK_BYTES = 65_536

#: Every key starts here; a store lists (and cleanup may remove) only under it, so a
#: bucket shared with other data is safe.
KEY_PREFIX = "profiles/"

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class ObjectMissing(Exception):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no stored object {key!r}")
        self.key = key


class StoreUnavailable(Exception):
    """The store did not answer, or answered with an error (not a missing object)."""


def new_key(profile_id: uuid.UUID) -> str:
    """A fresh, never reused key for a file of ``profile_id``."""
    return f"{KEY_PREFIX}{profile_id}/{uuid.uuid4()}"


def check_key(key: str) -> str:
    """``key`` if it is a plain relative path of safe segments (no ``..``, no leading
    ``/``, no empty segment); raise ValueError otherwise. Keeps a key from naming
    anything outside the store's root or bucket prefix."""
    if len(key) > 200 or not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a storage key: {key!r}")
    return key


@dataclass(frozen=True)
class Upload:
    """Bytes to store: a readable, seekable file positioned anywhere (the store seeks to
    0), with its size and SHA-256 already known (the S3 signature names the hash)."""

    file: BinaryIO
    size: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class StoredObject:
    """One object as a listing sees it; ``modified`` is when it was last written (UTC)."""

    key: str
    size: int
    modified: datetime


class ObjectReader(Protocol):
    """An open object. ``chunks()`` yields its bytes once; ``aclose()`` releases the file
    or connection and is safe to call more than once (and after ``chunks()`` ended)."""

    size: int

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class FileStore(Protocol):
    """Where case-file bytes live. Every method raises :class:`StoreUnavailable` when the
    store cannot be reached; cancelling any of them is safe (a half-written object is
    never visible under its key)."""

    async def put(self, key: str, upload: Upload) -> None:
        """Store ``upload`` under ``key``, all or nothing."""
        ...

    async def open(self, key: str) -> ObjectReader:
        """The object under ``key``; raises :class:`ObjectMissing`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...

    def objects(self) -> AsyncIterator[StoredObject]:
        """Every stored object (in no particular order), including leftovers of writes
        that never finished, so cleanup can find them."""
        ...

    async def aclose(self) -> None: ...
