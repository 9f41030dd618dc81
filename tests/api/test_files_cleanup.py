"""``vclient files cleanup`` on both databases and both stores: dry runs, orphans,
missing objects, and passes racing with uploads."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from filestore import FileStore, StoredObject, Upload, new_key
from server.files_cleanup import CleanupReport, run_cleanup
from server.settings import Settings
from server.state import AppState
from storage.migrate import upgrade
from tests.api.conftest import NewTeacher, state_of
from tests.api.test_files import PDF, new_profile, s3_overrides, uploaded
from tests.support.s3server import s3_bucket, s3_endpoint
from tests.support.servers import run_cli
from tests.support.settings import make_settings

__all__ = ["s3_bucket", "s3_endpoint"]

GRACE = timedelta(hours=1)
AGE = timedelta(hours=2)


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    overrides: dict[str, Any] = {"max_files_per_profile": 100}
    if request.param == "s3":
        overrides |= s3_overrides(request.getfixturevalue("s3_bucket"))
    return make_settings(tmp_path, database_url, **overrides)


class AgedStore:
    """The app's real store, except that the listing shows ``aged`` keys as written
    two hours earlier: objects "left long ago" without waiting an hour (S3 sets its
    own LastModified)."""

    def __init__(self, inner: FileStore) -> None:
        self.inner = inner
        self.aged: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def objects(self) -> AsyncIterator[StoredObject]:
        async for item in self.inner.objects():
            if item.key in self.aged:
                item = dataclasses.replace(item, modified=item.modified - AGE)
            yield item


async def put_orphan(store: FileStore, data: bytes = b"orphan") -> str:
    key = new_key(uuid.uuid4())
    file = io.BytesIO(data)
    await store.put(key, Upload(file, len(data), hashlib.sha256(data).hexdigest(), "text/plain"))
    return key


async def cleanup(state: AppState, store: FileStore, *, dry_run: bool = False) -> CleanupReport:
    return await run_cleanup(state.db, store, grace=GRACE, dry_run=dry_run)


async def stored_keys(store: FileStore) -> set[str]:
    return {item.key async for item in store.objects()}


@pytest.fixture
def aged(app: Starlette) -> AgedStore:
    state = state_of(app)
    store = AgedStore(state.files)
    state.files = store  # the app writes through it too
    return store


async def test_dry_run_lists_without_removing_then_a_run_removes(
    app: Starlette, new_teacher: NewTeacher, aged: AgedStore
) -> None:
    teacher = await new_teacher()
    kept = await uploaded(teacher, await new_profile(teacher), PDF)
    old = await put_orphan(aged)
    aged.aged.add(old)
    young = await put_orphan(aged)
    before = await stored_keys(aged)

    state = state_of(app)
    dry = await cleanup(state, aged, dry_run=True)
    assert [o.key for o in dry.plan.orphans] == [old]
    assert [o.key for o in dry.plan.young] == [young]
    assert dry.removed == [] and await stored_keys(aged) == before

    done = await cleanup(state, aged)
    assert done.removed == [old]
    assert await stored_keys(aged) == before - {old}
    assert (await teacher.get(f"/api/files/{kept['id']}")).content == PDF


async def test_rows_whose_object_is_missing_are_reported(
    app: Starlette, new_teacher: NewTeacher, aged: AgedStore
) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    lost = await uploaded(teacher, profile_id, PDF)
    await uploaded(teacher, profile_id, PDF)
    (key,) = await stored_keys(aged) - {await _key_of(app, lost["id"])}  # the other one
    await aged.delete(await _key_of(app, lost["id"]))
    report = await cleanup(state_of(app), aged)
    assert [(row.id, row.storage_key) for row in report.plan.missing] == [
        (lost["id"], await _key_of(app, lost["id"]))
    ]
    assert report.removed == [] and await stored_keys(aged) == {key}


async def _key_of(app: Starlette, file_id: str) -> str:
    from storage.models import ProfileFile

    async with state_of(app).db.session() as db:
        row = await db.get(ProfileFile, uuid.UUID(file_id))
        assert row is not None
        return row.storage_key


async def test_a_deleted_profile_leaves_orphans_for_cleanup(
    app: Starlette, new_teacher: NewTeacher, aged: AgedStore
) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    await uploaded(teacher, profile_id, PDF)
    (key,) = await stored_keys(aged)
    assert (await teacher.delete(f"/api/profiles/{profile_id}")).status_code == 204
    aged.aged.add(key)  # an hour later
    assert (await cleanup(state_of(app), aged)).removed == [key]


class PausingStore(AgedStore):
    """Holds an upload between its object write and its row commit until released."""

    def __init__(self, inner: FileStore) -> None:
        super().__init__(inner)
        self.written = asyncio.Event()
        self.release = asyncio.Event()
        self.last_key = ""

    async def put(self, key: str, upload: Upload) -> None:
        await self.inner.put(key, upload)
        self.last_key = key
        self.written.set()
        await self.release.wait()


async def test_an_upload_between_its_object_and_its_row_survives_cleanup(
    app: Starlette, new_teacher: NewTeacher
) -> None:
    state = state_of(app)
    store = PausingStore(state.files)
    state.files = store
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    orphan = await put_orphan(store.inner)
    store.aged.add(orphan)

    upload = asyncio.create_task(
        teacher.post(f"/api/profiles/{profile_id}/files", files={"file": ("a.pdf", PDF)})
    )
    try:
        async with asyncio.timeout(30):
            await store.written.wait()
        report = await cleanup(state, store)  # the object is stored, its row is not
        assert report.removed == [orphan]
        assert [o.key for o in report.plan.young] == [store.last_key]
        assert await store.exists(store.last_key)
    finally:
        store.release.set()
        response = await upload
    assert response.status_code == 201, response.text
    again = await cleanup(state, store)
    assert again.plan.orphans == [] and again.plan.young == [] and again.plan.missing == []
    assert (await teacher.get(f"/api/files/{response.json()['id']}")).content == PDF


async def test_cleanup_passes_racing_with_uploads_remove_nothing_referenced(
    app: Starlette, new_teacher: NewTeacher, aged: AgedStore
) -> None:
    state = state_of(app)
    teacher = await new_teacher()
    profiles = [await new_profile(teacher) for _ in range(2)]
    orphans = {await put_orphan(aged) for _ in range(4)}
    aged.aged |= orphans
    uploads_done = asyncio.Event()

    async def upload_many() -> list[httpx.Response]:
        try:
            return [
                await teacher.post(
                    f"/api/profiles/{profiles[i % 2]}/files",
                    files={"file": (f"n{i}.txt", f"note {i}".encode())},
                )
                for i in range(12)
            ]
        finally:
            uploads_done.set()

    async def cleanup_until_uploads_end() -> list[CleanupReport]:
        reports = [await cleanup(state, aged)]
        while not uploads_done.is_set() or len(reports) < 3:
            reports.append(await cleanup(state, aged))
        return reports

    async with asyncio.timeout(120):
        responses, reports = await asyncio.gather(upload_many(), cleanup_until_uploads_end())
    assert [r.status_code for r in responses] == [201] * 12
    removed = {key for report in reports for key in report.removed}
    assert removed == orphans
    assert all(report.plan.missing == [] for report in reports)
    for response in responses:
        file_id = response.json()["id"]
        assert (await teacher.get(f"/api/files/{file_id}")).status_code == 200
    assert len(await stored_keys(aged)) == 12


def test_the_cli_dry_run_then_run(tmp_path: Path, database_url: str) -> None:
    asyncio.run(upgrade(database_url))
    files_dir = tmp_path / "var" / "files"
    orphan = files_dir / "profiles" / str(uuid.uuid4()) / str(uuid.uuid4())
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left behind")
    two_hours_ago = (datetime.now(UTC) - AGE).timestamp()
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    key = orphan.relative_to(files_dir).as_posix()
    env = {"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "var"), "FILE_STORE": "local"}

    dry = run_cli(["files", "cleanup", "--dry-run"], env, tmp_path)
    assert dry.stdout.splitlines() == [
        f"would remove {key} (11 bytes)",
        "1 would remove, 0 failed, 0 missing, 0 unreferenced but younger than 3600 s (kept)",
    ]
    assert orphan.exists()
    done = run_cli(["files", "cleanup"], env, tmp_path)
    assert done.stdout.splitlines()[0] == f"removed {key} (11 bytes)"
    assert not orphan.exists()
