"""Case-file bytes: a small :class:`~filestore.base.FileStore` protocol with a local-disk
store (the default) and an S3-compatible one; content detection; the cleanup plan.

I/O only, never SQL: the rows that name stored objects live in ``storage``; ``server``
joins the two."""

from filestore.base import (
    FileStore,
    ObjectMissing,
    ObjectReader,
    StoredObject,
    StoreUnavailable,
    Upload,
    new_key,
)
from filestore.factory import FileStoreConfig, make_file_store

__all__ = [
    "FileStore",
    "FileStoreConfig",
    "ObjectMissing",
    "ObjectReader",
    "StoreUnavailable",
    "StoredObject",
    "Upload",
    "make_file_store",
    "new_key",
]
