"""Build the store the settings name (the S3 client is imported only when chosen)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from filestore.base import FileStore

__all__ = ["FileStoreConfig", "make_file_store"]


@dataclass(frozen=True)
class FileStoreConfig:
    kind: Literal["local", "s3"]
    #: The local store's directory.
    root: Path
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    #: Per S3 call (connect, and each read or write); a 10 MiB PUT at 1 MB/s fits.
    timeout_seconds: float = 30.0


def make_file_store(config: FileStoreConfig) -> FileStore:
    """Raises ValueError when ``kind`` is ``s3`` and a required S3 setting is unset."""
    if config.kind == "local":
        from filestore.local import LocalFileStore

        return LocalFileStore(config.root)
    missing = [
        name
        for name, value in [
            ("S3_ENDPOINT_URL", config.s3_endpoint_url),
            ("S3_BUCKET", config.s3_bucket),
            ("AWS_ACCESS_KEY_ID", config.s3_access_key_id),
            ("AWS_SECRET_ACCESS_KEY", config.s3_secret_access_key),
        ]
        if not value
    ]
    if missing:
        raise ValueError(f"FILE_STORE=s3 needs {', '.join(missing)}")
    import httpx

    from filestore.s3 import S3FileStore
    from filestore.sigv4 import Credentials

    assert config.s3_endpoint_url and config.s3_bucket
    assert config.s3_access_key_id and config.s3_secret_access_key
    client = httpx.AsyncClient(timeout=config.timeout_seconds)
    credentials = Credentials(
        config.s3_access_key_id, config.s3_secret_access_key, config.s3_region
    )
    return S3FileStore(client, config.s3_endpoint_url, config.s3_bucket, credentials)
