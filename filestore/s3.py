"""An S3-compatible store (AWS S3, MinIO, Ceph RGW, Garage, ...) over our own small
client: httpx (already the app's HTTP client) and :mod:`filestore.sigv4`.

Why not an SDK: we need five calls (PUT, GET, HEAD, DELETE object and ListObjectsV2).
aiobotocore is async but pins botocore to exact versions and brings aiohttp (~100 MB
installed with botocore's data); boto3 in a thread costs the same weight plus a thread
per call. Our client is ~150 lines, async, and streams both ways; its signatures are
checked against botocore's in the tests.

Path-style URLs (``{endpoint}/{bucket}/{key}``): every S3-compatible server takes them;
objects are written with one PUT (MAX_FILE_BYTES is far under S3's 5 GB limit)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import httpx

from filestore.base import (
    CHUNK_BYTES,
    KEY_PREFIX,
    ObjectMissing,
    StoredObject,
    StoreUnavailable,
    Upload,
    check_key,
)
from filestore.sigv4 import EMPTY_SHA256, Credentials, canonical_query, sign

__all__ = ["S3FileStore"]

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
# A listing page holds up to 1,000 keys (S3's maximum per call).
_PAGE = "1000"


class S3FileReader:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.size = int(response.headers.get("content-length", "0"))

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes(CHUNK_BYTES):
                yield chunk
        except httpx.HTTPError as error:
            raise StoreUnavailable(f"S3 download broke off: {error!r}") from error
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        await self._response.aclose()  # idempotent


class S3FileStore:
    """``client`` is owned by the store (closed by :meth:`aclose`)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        endpoint_url: str,
        bucket: str,
        credentials: Credentials,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        parts = urlsplit(endpoint_url)
        self._client = client
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path.rstrip("/")
        self._host = parts.netloc
        self._bucket = bucket
        self._credentials = credentials
        self._clock = clock

    def _request(
        self,
        method: str,
        key: str | None,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        payload_sha256: str = EMPTY_SHA256,
        content: AsyncIterator[bytes] | None = None,
    ) -> httpx.Request:
        path = f"{self._base_path}/{self._bucket}"
        if key is not None:
            path += "/" + check_key(key)
        query = query or {}
        signed = sign(
            self._credentials,
            method=method,
            host=self._host,
            path=path,
            query=query,
            headers=headers or {},
            payload_sha256=payload_sha256,
            now=self._clock(),
        )
        url = self._origin + quote(path, safe="/-_.~")
        if query:
            url += "?" + canonical_query(query)
        all_headers = {**(headers or {}), **signed, "host": self._host}
        return self._client.build_request(method, url, headers=all_headers, content=content)

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        try:
            return await self._client.send(request, stream=stream)
        except httpx.HTTPError as error:
            raise StoreUnavailable(f"S3 {request.method} failed: {error!r}") from error

    @staticmethod
    def _fail(response: httpx.Response) -> StoreUnavailable:
        return StoreUnavailable(f"S3 answered {response.status_code} to {response.request.method}")

    async def put(self, key: str, upload: Upload) -> None:
        async def body() -> AsyncIterator[bytes]:
            await asyncio.to_thread(upload.file.seek, 0)
            while chunk := await asyncio.to_thread(upload.file.read, CHUNK_BYTES):
                yield chunk

        request = self._request(
            "PUT",
            key,
            headers={
                "content-length": str(upload.size),
                "content-type": upload.content_type,
            },
            payload_sha256=upload.sha256,
            content=body(),
        )
        response = await self._send(request)
        if response.status_code != 200:
            raise self._fail(response)

    async def open(self, key: str) -> S3FileReader:
        response = await self._send(self._request("GET", key), stream=True)
        if response.status_code == 200:
            return S3FileReader(response)
        await response.aclose()
        if response.status_code == 404:
            raise ObjectMissing(key)
        raise self._fail(response)

    async def delete(self, key: str) -> None:
        response = await self._send(self._request("DELETE", key))
        if response.status_code not in (200, 204, 404):
            raise self._fail(response)

    async def exists(self, key: str) -> bool:
        response = await self._send(self._request("HEAD", key))
        if response.status_code in (200, 404):
            return response.status_code == 200
        raise self._fail(response)

    async def objects(self) -> AsyncIterator[StoredObject]:
        token: str | None = None
        while True:
            query = {"list-type": "2", "prefix": KEY_PREFIX, "max-keys": _PAGE}
            if token is not None:
                query["continuation-token"] = token
            response = await self._send(self._request("GET", None, query=query))
            if response.status_code != 200:
                raise self._fail(response)
            page = _parse_listing(response.content)
            for item in page.items:
                yield item
            if page.next_token is None:
                return
            token = page.next_token

    async def aclose(self) -> None:
        await self._client.aclose()


class _Page:
    def __init__(self, items: list[StoredObject], next_token: str | None) -> None:
        self.items = items
        self.next_token = next_token


def _parse_listing(xml: bytes) -> _Page:
    """One ListObjectsV2 answer (Python's expat refuses entity-expansion bombs)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as error:
        raise StoreUnavailable(f"S3 listing is not XML: {error}") from error
    items = [
        StoredObject(
            key=node.findtext(f"{_NS}Key", ""),
            size=int(node.findtext(f"{_NS}Size", "0")),
            modified=datetime.fromisoformat(node.findtext(f"{_NS}LastModified", "")),
        )
        for node in root.iter(f"{_NS}Contents")
    ]
    truncated = root.findtext(f"{_NS}IsTruncated", "false") == "true"
    token = root.findtext(f"{_NS}NextContinuationToken") if truncated else None
    return _Page(items, token)
