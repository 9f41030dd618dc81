"""Case files: teachers attach files to their client profiles; students list and
download the visible files of their session's profile (docs/files.md).

Order of writes, which ``vclient files cleanup`` relies on: an upload stores its object
first and commits its row second; a delete removes the row first and the object second.
So a committed row always had its object, and whatever a failure leaves behind is an
unnamed object, which cleanup removes once it is older than the grace period."""

from __future__ import annotations

import contextlib
import logging

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from filestore import FileStore, ObjectMissing, StoreUnavailable, Upload, new_key
from server.errors import ApiError
from server.file_schemas import FileOut, FilePage, StudentFileOut, StudentFilePage
from server.file_upload import attachment_disposition, received_upload, response_media_type
from server.http import json_response, path_uuid, require_teacher, resource
from server.routes_student import student_session
from server.state import app_state
from storage.models import ProfileFile
from storage.repos import files as file_repo

log = logging.getLogger(__name__)

# A download is a file to save, never a page: no script runs even if a browser
# rendered it anyway.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def _unavailable(error: StoreUnavailable) -> ApiError:
    log.warning("file store unavailable: %s", error)
    return ApiError(503, "store_unavailable", "The file store is not answering; try again.")


def _too_many(error: file_repo.TooManyFiles) -> ApiError:
    return ApiError(
        409, "too_many_files", f"A profile holds at most {error.limit} files; delete one first."
    )


async def upload_file(request: Request) -> Response:
    teacher = await require_teacher(request)
    profile_id = path_uuid(request, kind="profile")
    state = app_state(request)
    limit = state.settings.max_files_per_profile
    try:
        async with state.db.session() as db:  # before reading a byte of the body
            await file_repo.check_room(db, teacher.id, profile_id, limit)
        async with received_upload(request, state.settings.max_file_bytes) as received:
            key = new_key(profile_id)
            upload = Upload(received.file, received.size, received.sha256, received.content_type)
            await state.files.put(key, upload)
            try:
                async with state.db.session() as db:
                    row = await file_repo.add_file(
                        db,
                        teacher.id,
                        profile_id,
                        max_files=limit,
                        filename=received.filename,
                        content_type=received.content_type,
                        size_bytes=received.size,
                        sha256=received.sha256,
                        storage_key=key,
                        visible_to_students=received.visible_to_students,
                    )
                    out = FileOut.model_validate(row)
            except BaseException:
                # No row names the object: remove it now (cleanup would, after the grace).
                with contextlib.suppress(Exception):
                    await state.files.delete(key)
                raise
    except file_repo.TooManyFiles as error:
        raise _too_many(error) from error
    except StoreUnavailable as error:
        raise _unavailable(error) from error
    return json_response(out, 201)


async def list_files(request: Request) -> Response:
    teacher = await require_teacher(request)
    profile_id = path_uuid(request, kind="profile")
    async with app_state(request).db.session() as db:
        rows = await file_repo.list_files(db, teacher.id, profile_id)
        page = FilePage(items=[FileOut.model_validate(row) for row in rows])
    return json_response(page)


async def _download(store: FileStore, row: ProfileFile) -> Response:
    try:
        reader = await store.open(row.storage_key)
    except ObjectMissing as error:
        log.warning("file %s has no stored object %s", row.id, row.storage_key)
        raise ApiError(404, "file_missing", "That file's content is missing.") from error
    except StoreUnavailable as error:
        raise _unavailable(error) from error
    headers = {
        "content-disposition": attachment_disposition(row.filename),
        "content-length": str(reader.size),
        "x-content-type-options": "nosniff",
        "content-security-policy": DOWNLOAD_CSP,
        "cache-control": "private, no-store",
    }
    return StreamingResponse(
        reader.chunks(),
        media_type=response_media_type(row.content_type),
        headers=headers,
        background=BackgroundTask(reader.aclose),
    )


async def download_file(request: Request) -> Response:
    teacher = await require_teacher(request)
    file_id = path_uuid(request, kind="file")
    state = app_state(request)
    async with state.db.session() as db:
        row = await file_repo.get_file(db, teacher.id, file_id)
    return await _download(state.files, row)


async def delete_file(request: Request) -> Response:
    teacher = await require_teacher(request)
    file_id = path_uuid(request, kind="file")
    state = app_state(request)
    async with state.db.session() as db:
        row = await file_repo.delete_file(db, teacher.id, file_id)
    try:
        await state.files.delete(row.storage_key)
    except StoreUnavailable:
        # The row is gone, so the object is an orphan that cleanup removes later.
        log.warning("object %s of deleted file %s left for cleanup", row.storage_key, row.id)
    return Response(status_code=204)


async def student_files(request: Request) -> Response:
    session = await student_session(request)
    async with app_state(request).db.session() as db:
        rows = await file_repo.list_visible_files(db, session.profile_id)
        page = StudentFilePage(items=[StudentFileOut.model_validate(row) for row in rows])
    return json_response(page)


async def student_download(request: Request) -> Response:
    session = await student_session(request)
    file_id = path_uuid(request, "file_id", kind="file")
    state = app_state(request)
    async with state.db.session() as db:
        row = await file_repo.get_visible_file(db, session.profile_id, file_id)
    return await _download(state.files, row)


routes = [
    resource("/api/profiles/{id}/files", get=list_files, post=upload_file),
    resource("/api/files/{id}", get=download_file, delete=delete_file),
    resource("/api/student/sessions/{id}/files", get=student_files),
    resource("/api/student/sessions/{id}/files/{file_id}", get=student_download),
]
