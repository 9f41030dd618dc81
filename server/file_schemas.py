"""Case-file answers (uploads are multipart forms, read by :mod:`server.file_upload`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

__all__ = ["FileOut", "FilePage", "StudentFileOut", "StudentFilePage"]


class FileOut(BaseModel):
    """A case file as its teacher sees it (never its storage key)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    profile_id: uuid.UUID
    filename: str
    #: Detected from the content at upload.
    content_type: str
    size_bytes: int
    sha256: str
    visible_to_students: bool
    created_at: datetime


class FilePage(BaseModel):
    items: list[FileOut]


class StudentFileOut(BaseModel):
    """A visible case file as a student sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime


class StudentFilePage(BaseModel):
    items: list[StudentFileOut]
