"""Reading one case-file upload (``multipart/form-data``: ``file`` and
``visible_to_students``) without holding it in memory, and naming it safely on the way
out.

The body is counted as it arrives and refused with 413 the moment it passes
MAX_FILE_BYTES plus :data:`FORM_OVERHEAD_BYTES`; Starlette's parser spools the file part
to a temporary file (in memory up to 1 MB, then on disk), so a 10 MiB upload costs at
most ~1 MB of memory. The type is judged from the bytes (:mod:`filestore.content`)."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from filestore.base import CHUNK_BYTES
from filestore.content import TEXT_TYPE, ContentSniffer
from server.errors import ApiError, invalid_fields

__all__ = [
    "FORM_OVERHEAD_BYTES",
    "ReceivedFile",
    "attachment_disposition",
    "received_upload",
    "response_media_type",
    "safe_filename",
]

# Boundaries, two part headers and the visibility field take well under 1 KiB; 64 KiB
# leaves room for long file names and odd clients without letting a body run on.
FORM_OVERHEAD_BYTES = 65_536
# The column holds 255 characters.
FILENAME_MAX_CHARS = 255
_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no", ""})
ACCEPTED_DESCRIPTION = "PDF, PNG, JPEG, GIF, WebP or plain UTF-8 text"


@dataclass(frozen=True)
class ReceivedFile:
    file: BinaryIO
    filename: str
    size: int
    sha256: str
    content_type: str
    visible_to_students: bool


def _too_large(max_file_bytes: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"A file may be at most {max_file_bytes:,} bytes.")


async def _capped(request: Request, cap: int, max_file_bytes: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > cap:
            raise _too_large(max_file_bytes)
        yield chunk


def _visibility(form: FormData) -> bool:
    raw = form.get("visible_to_students", "")
    value = raw.strip().lower() if isinstance(raw, str) else None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise invalid_fields({"visible_to_students": "use true or false"})


def safe_filename(raw: str | None) -> str:
    """The name to keep: the last path segment, without control or format characters,
    at most 255 characters; ``file`` when nothing is left."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = name.strip()[:FILENAME_MAX_CHARS].strip()
    return name or "file"


def attachment_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name as RFC 6266 /
    RFC 5987 ``filename*``: a name can never break out of the header."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(ch if ch.isalnum() or ch in " ._-()" else "_" for ch in ascii_name)
    fallback = fallback.strip() or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def response_media_type(content_type: str) -> str:
    return f"{TEXT_TYPE}; charset=utf-8" if content_type == TEXT_TYPE else content_type


async def _inspect(upload: UploadFile) -> tuple[str | None, str]:
    """Sniff and hash the spooled file in one pass: (media type or None, SHA-256)."""
    sniffer = ContentSniffer()
    digest = hashlib.sha256()
    await upload.seek(0)
    while chunk := await upload.read(CHUNK_BYTES):
        sniffer.feed(chunk)
        digest.update(chunk)
    return sniffer.verdict(), digest.hexdigest()


@asynccontextmanager
async def received_upload(request: Request, max_file_bytes: int) -> AsyncIterator[ReceivedFile]:
    """The uploaded file, checked; its temporary file is removed when the block ends.

    Raises ApiError: 400 broken multipart, 413 over ``max_file_bytes`` (stops reading
    at once), 415 not multipart or a refused type, 422 no ``file`` part, an empty file
    or a bad ``visible_to_students``."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", "Send the file as multipart/form-data.")
    cap = max_file_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(max_file_bytes)
    parser = MultiPartParser(
        request.headers,
        _capped(request, cap, max_file_bytes),
        max_files=1,
        max_fields=4,
        max_part_size=1_024,
    )
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise ApiError(400, "bad_multipart", f"The form is not valid: {error.message}") from error
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid_fields({"file": "attach a file"})
        if upload.size is not None and upload.size > max_file_bytes:
            raise _too_large(max_file_bytes)
        visible = _visibility(form)
        content_type, sha256 = await _inspect(upload)
        size = upload.size or 0
        if size == 0:
            raise invalid_fields({"file": "the file is empty"})
        if content_type is None:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"That file's content is not one we accept: {ACCEPTED_DESCRIPTION}.",
            )
        yield ReceivedFile(
            file=upload.file,
            filename=safe_filename(upload.filename),
            size=size,
            sha256=sha256,
            content_type=content_type,
            visible_to_students=visible,
        )
    finally:
        await form.close()
