"""The local-disk store (the default): one file per key under a root directory
(``DATA_DIR/files``). Blocking file calls run in worker threads.

A write goes to ``<dir>/tmp-<uuid>.part`` and is renamed onto its key (atomic within one
file system), so a reader or a listing never sees half an object under a key; a
``.part`` left by a crash is listed like any object and removed by cleanup once it is
older than the grace period."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from filestore.base import CHUNK_BYTES, KEY_PREFIX, ObjectMissing, StoredObject, Upload, check_key

__all__ = ["LocalFileStore"]


class LocalFileReader:
    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file = file
        self.size = size

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(self._file.read, CHUNK_BYTES):
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        self._file.close()  # idempotent


class LocalFileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    async def put(self, key: str, upload: Upload) -> None:
        await asyncio.to_thread(self._write, self._path(key), upload.file)

    @staticmethod
    def _write(target: Path, source: BinaryIO) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.parent / f"tmp-{uuid.uuid4()}.part"
        try:
            source.seek(0)
            with partial.open("xb") as out:
                shutil.copyfileobj(source, out, CHUNK_BYTES)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)

    async def open(self, key: str) -> LocalFileReader:
        path = self._path(key)

        def opened() -> LocalFileReader:
            file = path.open("rb")
            return LocalFileReader(file, os.fstat(file.fileno()).st_size)

        try:
            return await asyncio.to_thread(opened)
        except FileNotFoundError as error:
            raise ObjectMissing(key) from error

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def objects(self) -> AsyncIterator[StoredObject]:
        for item in await asyncio.to_thread(self._walk):
            yield item

    def _walk(self) -> list[StoredObject]:
        found: list[StoredObject] = []
        for directory, _dirs, names in os.walk(self.root / KEY_PREFIX):
            for name in names:
                path = Path(directory) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:  # removed while we walked
                    continue
                found.append(
                    StoredObject(
                        key=path.relative_to(self.root).as_posix(),
                        size=stat.st_size,
                        modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                    )
                )
        return found

    async def aclose(self) -> None:
        return None
