"""Settings -> the case-file store, for the web process and ``vclient files``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from filestore import FileStore, FileStoreConfig, make_file_store
from server.settings import Settings

if TYPE_CHECKING:
    from server.composition import Lifetime

__all__ = ["compose_file_store", "file_store_config"]


def file_store_config(settings: Settings) -> FileStoreConfig:
    return FileStoreConfig(
        kind=settings.file_store,
        root=settings.files_dir,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_bucket=settings.s3_bucket,
        s3_region=settings.s3_region,
        s3_access_key_id=settings.aws_access_key_id,
        s3_secret_access_key=settings.aws_secret_access_key,
    )


def compose_file_store(settings: Settings, lifetime: Lifetime) -> FileStore:
    """The store FILE_STORE names, closed with the process. Raises ValueError at start-up
    when FILE_STORE=s3 lacks a setting it needs."""
    store = make_file_store(file_store_config(settings))
    lifetime.close("file store", store.aclose)
    return store
