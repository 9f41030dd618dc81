from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from filestore import FileStore, FileStoreConfig, make_file_store
from tests.support.s3server import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    S3Bucket,
    s3_bucket,
    s3_endpoint,
)

__all__ = ["s3_bucket", "s3_endpoint"]


def store_config(kind: str, tmp_path: Path, bucket: S3Bucket | None) -> FileStoreConfig:
    if kind == "local":
        return FileStoreConfig(kind="local", root=tmp_path / "files")
    assert bucket is not None
    return FileStoreConfig(
        kind="s3",
        root=tmp_path / "unused",
        s3_endpoint_url=bucket.endpoint_url,
        s3_bucket=bucket.name,
        s3_region=REGION,
        s3_access_key_id=ACCESS_KEY_ID,
        s3_secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    bucket = request.getfixturevalue("s3_bucket") if request.param == "s3" else None
    made = make_file_store(store_config(request.param, tmp_path, bucket))
    yield made
    await made.aclose()
