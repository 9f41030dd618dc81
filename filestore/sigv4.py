"""AWS Signature Version 4 for S3 requests, pure: a request's parts and a clock reading
in, the headers to add out. No I/O; the tests check it against botocore's signer.

S3 flavour: the path is URI-encoded once (not twice, unlike other AWS services), and the
payload's SHA-256 is sent as ``x-amz-content-sha256`` and signed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

__all__ = ["EMPTY_SHA256", "Credentials", "sign"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    region: str
    service: str = "s3"

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials({self.access_key_id!r}, region={self.region!r})"


def _encode(text: str, safe: str) -> str:
    return quote(text, safe=safe)


def canonical_query(params: Mapping[str, str]) -> str:
    pairs = sorted((_encode(k, "-_.~"), _encode(v, "-_.~")) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def sign(
    credentials: Credentials,
    *,
    method: str,
    host: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_sha256: str,
    now: datetime,
) -> dict[str, str]:
    """The headers to send with the request: ``x-amz-date``, ``x-amz-content-sha256``
    and ``Authorization`` (``host`` and ``headers`` are signed too). ``path`` is the
    unencoded path (``/bucket/key``); ``now`` is a UTC time."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    to_sign = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    to_sign.update(host=host, **{"x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256})
    names = sorted(to_sign)
    signed_headers = ";".join(names)
    canonical = "\n".join(
        [
            method.upper(),
            _encode(path, "/-_.~"),
            canonical_query(query),
            "".join(f"{name}:{to_sign[name]}\n" for name in names),
            signed_headers,
            payload_sha256,
        ]
    )
    scope = f"{day}/{credentials.region}/{credentials.service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{credentials.secret_access_key}".encode()
    for part in (day, credentials.region, credentials.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_sha256,
        "authorization": (
            f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        ),
    }
