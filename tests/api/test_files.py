"""Case files over the API, on SQLite and PostgreSQL; the store-dependent paths on the
local disk and on S3 (a moto server the tests start)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette

from server.file_upload import attachment_disposition, safe_filename
from server.settings import Settings
from tests.api.conftest import ClientFactory, NewTeacher, make_session, profile_body, state_of
from tests.support.s3server import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    S3Bucket,
    s3_bucket,
    s3_endpoint,
)
from tests.support.settings import make_settings

__all__ = ["s3_bucket", "s3_endpoint"]

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
MAX_FILE_BYTES = 4_096
MAX_FILES = 3


def s3_overrides(bucket: S3Bucket) -> dict[str, Any]:
    return {
        "file_store": "s3",
        "s3_endpoint_url": bucket.endpoint_url,
        "s3_bucket": bucket.name,
        "s3_region": REGION,
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
    }


@pytest.fixture
def store_kind() -> str:
    """The local store unless a test parametrises ``store_kind``."""
    return "local"


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, store_kind: str
) -> Settings:
    overrides: dict[str, Any] = {
        "max_file_bytes": MAX_FILE_BYTES,
        "max_files_per_profile": MAX_FILES,
    }
    if store_kind == "s3":
        overrides |= s3_overrides(request.getfixturevalue("s3_bucket"))
    return make_settings(tmp_path, database_url, **overrides)


async def new_profile(teacher: httpx.AsyncClient) -> str:
    response = await teacher.post("/api/profiles", json=profile_body())
    assert response.status_code == 201, response.text
    profile_id: str = response.json()["id"]
    return profile_id


async def upload(
    teacher: httpx.AsyncClient,
    profile_id: str,
    data: bytes,
    filename: str = "letter.pdf",
    *,
    visible: bool | str = False,
    declared_type: str = "application/pdf",
) -> httpx.Response:
    flag = visible if isinstance(visible, str) else str(visible).lower()
    return await teacher.post(
        f"/api/profiles/{profile_id}/files",
        files={"file": (filename, data, declared_type)},
        data={"visible_to_students": flag},
    )


async def uploaded(teacher: httpx.AsyncClient, profile_id: str, data: bytes, **kw: Any) -> Any:
    response = await upload(teacher, profile_id, data, **kw)
    assert response.status_code == 201, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code


async def join(make_client: ClientFactory, session: dict[str, Any]) -> httpx.AsyncClient:
    student = make_client()
    joined = await student.get(session["join_url"].removeprefix("http://testserver"))
    assert joined.status_code == 303, joined.text
    return student


@pytest.mark.parametrize("store_kind", ["local", "s3"])
async def test_upload_list_download_delete(new_teacher: NewTeacher, app: Starlette) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    created = await uploaded(teacher, profile_id, PDF, filename="Referral letter.pdf")
    assert created["filename"] == "Referral letter.pdf"
    assert created["content_type"] == "application/pdf"
    assert created["size_bytes"] == len(PDF)
    assert created["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert created["visible_to_students"] is False
    assert "storage_key" not in created

    listed = (await teacher.get(f"/api/profiles/{profile_id}/files")).json()
    assert listed == {"items": [created]}

    download = await teacher.get(f"/api/files/{created['id']}")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == str(len(PDF))
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Referral letter.pdf\"; filename*=UTF-8''Referral%20letter.pdf"
    )

    store = state_of(app).files
    key = next(iter([item.key async for item in store.objects()]))
    assert (await teacher.delete(f"/api/files/{created['id']}")).status_code == 204
    assert_error(await teacher.get(f"/api/files/{created['id']}"), 404, "not_found")
    assert (await teacher.get(f"/api/profiles/{profile_id}/files")).json() == {"items": []}
    assert not await store.exists(key)


async def test_type_is_judged_by_content_not_name(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    png_named_pdf = await uploaded(teacher, profile_id, PNG, filename="scan.pdf")
    assert png_named_pdf["content_type"] == "image/png"
    text = "Case notes: Ms Doe, 29. Café at 10.\n".encode()
    notes = await uploaded(
        teacher, profile_id, text, filename="notes.png", declared_type="image/png"
    )
    assert notes["content_type"] == "text/plain"
    download = await teacher.get(f"/api/files/{notes['id']}")
    assert download.headers["content-type"] == "text/plain; charset=utf-8"

    for data, name in [
        (EXE, "letter.pdf"),
        (b"plain text with a \x00 NUL", "notes.txt"),
        (b"PK\x03\x04" + b"\x00" * 40, "report.docx"),
    ]:
        refused = await upload(teacher, profile_id, data, filename=name)
        assert_error(refused, 415, "unsupported_media_type")
    listed = (await teacher.get(f"/api/profiles/{profile_id}/files")).json()["items"]
    assert len(listed) == 2


async def test_bad_forms(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    url = f"/api/profiles/{profile_id}/files"
    assert_error(await teacher.post(url, json={"file": "x"}), 415, "unsupported_media_type")
    no_file = await teacher.post(url, data={"visible_to_students": "true"}, files={"x": ("a", b"")})
    assert_error(no_file, 422, "validation_failed")
    assert no_file.json()["error"]["fields"] == {"file": "attach a file"}
    maybe = await upload(teacher, profile_id, PDF, visible="maybe")
    assert maybe.json()["error"]["fields"] == {"visible_to_students": "use true or false"}
    empty = await upload(teacher, profile_id, b"")
    assert empty.json()["error"]["fields"] == {"file": "the file is empty"}
    two = await teacher.post(url, files=[("file", ("a.pdf", PDF)), ("file", ("b.pdf", PDF))])
    assert_error(two, 400, "bad_multipart")
    broken = await teacher.post(
        url, content=b"--x\r\nnot a part", headers={"content-type": "multipart/form-data"}
    )
    assert_error(broken, 400, "bad_multipart")


async def test_size_limit(new_teacher: NewTeacher, app: Starlette) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    at_limit = b"a" * MAX_FILE_BYTES
    assert (await upload(teacher, profile_id, at_limit, filename="n.txt")).status_code == 201
    over = await upload(teacher, profile_id, at_limit + b"a", filename="n.txt")
    assert_error(over, 413, "payload_too_large")


async def test_a_huge_body_is_refused_without_being_read(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    chunk, chunks = b"a" * 65_536, 160  # 10 MiB, sent chunked: no Content-Length
    pulled = 0
    boundary = "b0undary"

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        for _ in range(chunks):
            pulled += 1
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await teacher.post(
        f"/api/profiles/{profile_id}/files",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_error(response, 413, "payload_too_large")
    # The cap is MAX_FILE_BYTES + 64 KiB of form overhead: two or three chunks, not 160.
    assert pulled <= 3


async def test_declared_length_over_the_cap_is_refused_up_front(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    response = await teacher.post(
        f"/api/profiles/{profile_id}/files",
        content=b"x" * 100,
        headers={
            "content-type": "multipart/form-data; boundary=x",
            "content-length": str(10**9),
        },
    )
    assert_error(response, 413, "payload_too_large")


async def test_files_per_profile_limit(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    for _ in range(MAX_FILES):
        await uploaded(teacher, profile_id, PDF)
    assert_error(await upload(teacher, profile_id, PDF), 409, "too_many_files")
    other = await new_profile(teacher)
    await uploaded(teacher, other, PDF)  # the limit is per profile


async def test_another_teacher_gets_404_everywhere(new_teacher: NewTeacher) -> None:
    owner, other = await new_teacher(), await new_teacher()
    profile_id = await new_profile(owner)
    file_id = (await uploaded(owner, profile_id, PDF))["id"]
    assert_error(await other.get(f"/api/profiles/{profile_id}/files"), 404, "not_found")
    assert_error(await upload(other, profile_id, PDF), 404, "not_found")
    assert_error(await other.get(f"/api/files/{file_id}"), 404, "not_found")
    assert_error(await other.delete(f"/api/files/{file_id}"), 404, "not_found")
    assert (await owner.get(f"/api/files/{file_id}")).content == PDF  # still there
    assert_error(await other.get(f"/api/files/{uuid.uuid4()}"), 404, "not_found")
    assert_error(await other.get("/api/files/not-a-uuid"), 404, "not_found")


@pytest.mark.parametrize("store_kind", ["local", "s3"])
async def test_students_see_only_visible_files_of_their_session(
    new_teacher: NewTeacher, make_client: ClientFactory
) -> None:
    teacher = await new_teacher()
    session = await make_session(teacher)
    profile_id = session["profile_id"]
    shown = await uploaded(teacher, profile_id, PDF, filename="referral.pdf", visible=True)
    hidden = await uploaded(teacher, profile_id, PNG, filename="notes.png", visible=False)
    other_session = await make_session(teacher)  # another profile
    elsewhere = await uploaded(
        teacher, other_session["profile_id"], PDF, filename="x.pdf", visible=True
    )

    student = await join(make_client, session)
    base = f"/api/student/sessions/{session['id']}/files"
    listed = (await student.get(base)).json()["items"]
    assert [item["id"] for item in listed] == [shown["id"]]
    assert set(listed[0]) == {"id", "filename", "content_type", "size_bytes", "created_at"}
    download = await student.get(f"{base}/{shown['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert_error(await student.get(f"{base}/{hidden['id']}"), 404, "not_found")
    assert_error(await student.get(f"{base}/{elsewhere['id']}"), 404, "not_found")
    # The teacher routes are not the student's.
    assert_error(await student.get(f"/api/files/{shown['id']}"), 401, "unauthorized")

    # Another session's student, with its own valid cookie, reaches nothing here.
    outsider = await join(make_client, other_session)
    assert_error(await outsider.get(base), 401, "unauthorized")
    assert_error(await outsider.get(f"{base}/{shown['id']}"), 401, "unauthorized")
    other_base = f"/api/student/sessions/{other_session['id']}/files"
    assert_error(await outsider.get(f"{other_base}/{shown['id']}"), 404, "not_found")
    assert [i["id"] for i in (await outsider.get(other_base)).json()["items"]] == [elsewhere["id"]]


async def test_unsafe_names_are_cleaned_and_quoted(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    # Built by hand: httpx (like browsers) would percent-encode control characters.
    raw = "../../evil; x=1\u202e\u0007Koç notes.txt"
    body = (
        f'--b\r\nContent-Disposition: form-data; name="file"; filename="{raw}"\r\n\r\n'
        "notes\r\n--b--\r\n"
    ).encode()
    created = await teacher.post(
        f"/api/profiles/{profile_id}/files",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert created.status_code == 201, created.text
    name = created.json()["filename"]
    assert name == "evil; x=1Koç notes.txt"
    download = await teacher.get(f"/api/files/{created.json()['id']}")
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"evil_ x_1Koc notes.txt\"; filename*=UTF-8''" + quote(name, safe="")
    )


async def test_a_row_whose_object_is_gone_answers_404(
    new_teacher: NewTeacher, app: Starlette
) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    created = await uploaded(teacher, profile_id, PDF)
    store = state_of(app).files
    async for item in store.objects():
        await store.delete(item.key)
    assert_error(await teacher.get(f"/api/files/{created['id']}"), 404, "file_missing")
    assert (await teacher.delete(f"/api/files/{created['id']}")).status_code == 204


async def test_deleting_a_profile_deletes_its_rows(new_teacher: NewTeacher) -> None:
    teacher = await new_teacher()
    profile_id = await new_profile(teacher)
    created = await uploaded(teacher, profile_id, PDF)
    assert (await teacher.delete(f"/api/profiles/{profile_id}")).status_code == 204
    assert_error(await teacher.get(f"/api/files/{created['id']}"), 404, "not_found")


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("C:\\Users\\me\\letter.pdf", "letter.pdf"),
        ("notes\r\n.txt", "notes.txt"),
        ("\u202egpj.exe", "gpj.exe"),
        ("   ", "file"),
        (None, "file"),
        ("x" * 300, "x" * 255),
    ],
)
def test_safe_filename(raw: str | None, kept: str) -> None:
    assert safe_filename(raw) == kept


def test_disposition_cannot_break_out_of_the_header() -> None:
    header = attachment_disposition('a"b\\c;d\u00e9.pdf')
    assert (
        header == "attachment; filename=\"a_b_c_de.pdf\"; filename*=UTF-8''a%22b%5Cc%3Bd%C3%A9.pdf"
    )


async def test_openapi_documents_the_upload_form_and_downloads(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    upload_op = spec["paths"]["/api/profiles/{id}/files"]["post"]
    form = upload_op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    student = spec["paths"]["/api/student/sessions/{id}/files/{file_id}"]["get"]
    assert [p["name"] for p in student["parameters"]] == ["id", "file_id"]
    assert set(student["responses"]["200"]["content"]) == {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain; charset=utf-8",
    }
    assert {"413", "415", "503"} <= set(upload_op["responses"])
