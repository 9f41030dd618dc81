"""One contract for every file store: the local disk (in ``tmp_path``) and S3 (a real
S3-compatible HTTP server, moto, started by the tests)."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from filestore import (
    FileStore,
    FileStoreConfig,
    ObjectMissing,
    Upload,
    make_file_store,
    new_key,
)

PROFILE = uuid.UUID("00000000-0000-4000-8000-000000000001")


def upload(data: bytes, content_type: str = "application/pdf") -> Upload:
    file = io.BytesIO(data)
    file.seek(len(data))  # the store must rewind it
    return Upload(file, len(data), hashlib.sha256(data).hexdigest(), content_type)


async def read_all(store: FileStore, key: str) -> bytes:
    reader = await store.open(key)
    try:
        return b"".join([chunk async for chunk in reader.chunks()])
    finally:
        await reader.aclose()


async def test_put_then_open_returns_the_same_bytes(store: FileStore) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 1_000  # 256 KB: several chunks
    key = new_key(PROFILE)
    await store.put(key, upload(data))
    reader = await store.open(key)
    assert reader.size == len(data)
    chunks = [chunk async for chunk in reader.chunks()]
    await reader.aclose()  # again after the end: harmless
    assert b"".join(chunks) == data and len(chunks) > 1
    assert await store.exists(key)


async def test_missing_object(store: FileStore) -> None:
    key = new_key(PROFILE)
    with pytest.raises(ObjectMissing) as raised:
        await store.open(key)
    assert raised.value.key == key
    assert not await store.exists(key)
    await store.delete(key)  # deleting what is not there is no error


async def test_delete_removes_only_that_object(store: FileStore) -> None:
    kept, gone = new_key(PROFILE), new_key(PROFILE)
    await store.put(kept, upload(b"kept"))
    await store.put(gone, upload(b"gone"))
    await store.delete(gone)
    assert not await store.exists(gone)
    assert await read_all(store, kept) == b"kept"


async def test_listing_names_every_object_with_size_and_time(store: FileStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)  # S3 times have 1 s resolution
    keys = {new_key(PROFILE): b"a" * 10, new_key(uuid.uuid4()): b"b" * 20}
    for key, data in keys.items():
        await store.put(key, upload(data))
    listed = {item.key: item async for item in store.objects()}
    assert set(listed) == set(keys)
    for key, data in keys.items():
        assert listed[key].size == len(data)
        assert before <= listed[key].modified <= datetime.now(UTC) + timedelta(seconds=5)


async def test_an_empty_store_lists_nothing(store: FileStore) -> None:
    assert [item async for item in store.objects()] == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "profiles//x", "profiles/../x", ""])
async def test_keys_that_could_escape_are_refused(store: FileStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.open(key)
    with pytest.raises(ValueError):
        await store.delete(key)


def test_s3_without_its_settings_refuses_to_start(tmp_path: Path) -> None:
    config = FileStoreConfig(kind="s3", root=tmp_path, s3_bucket="cases")
    with pytest.raises(ValueError) as raised:
        make_file_store(config)
    assert str(raised.value) == (
        "FILE_STORE=s3 needs S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"
    )


def test_the_config_never_prints_the_secret(tmp_path: Path) -> None:
    config = FileStoreConfig(kind="s3", root=tmp_path, s3_secret_access_key="hunter2-secret")
    assert "hunter2" not in repr(config)
