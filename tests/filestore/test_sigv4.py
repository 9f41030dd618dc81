"""Our S3 signatures equal botocore's (the reference signer, installed with moto) for
the calls the S3 store makes. moto does not check signatures, so this is the check."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from filestore.sigv4 import EMPTY_SHA256, Credentials, canonical_query, sign

CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-3")


def botocore_headers(
    method: str, url: str, headers: dict[str, str], payload: bytes
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=payload, headers=headers)
    boto = BotoCredentials(CREDENTIALS.access_key_id, CREDENTIALS.secret_access_key)
    S3SigV4Auth(boto, "s3", CREDENTIALS.region).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


@pytest.mark.parametrize(
    ("method", "path", "query", "payload", "extra"),
    [
        ("PUT", "/bucket/profiles/p/k", {}, b"%PDF-1.7 body", {"content-type": "application/pdf"}),
        ("GET", "/bucket/profiles/p/k", {}, b"", {}),
        ("DELETE", "/base/bucket/profiles/p/k", {}, b"", {}),
        (
            "GET",
            "/bucket",
            {"list-type": "2", "prefix": "profiles/", "continuation-token": "a+b/c=="},
            b"",
            {},
        ),
    ],
)
def test_signature_matches_botocore(
    method: str, path: str, query: dict[str, str], payload: bytes, extra: dict[str, str]
) -> None:
    digest = hashlib.sha256(payload).hexdigest() if payload else EMPTY_SHA256
    url = "http://127.0.0.1:9000" + path + ("?" + canonical_query(query) if query else "")
    reference = botocore_headers(method, url, {**extra, "x-amz-content-sha256": digest}, payload)
    now = datetime.strptime(reference["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours = sign(
        CREDENTIALS,
        method=method,
        host="127.0.0.1:9000",
        path=path,
        query=query,
        headers=extra,
        payload_sha256=digest,
        now=now,
    )
    assert ours["authorization"] == reference["authorization"]
    assert ours["x-amz-content-sha256"] == digest


def test_credentials_never_print_the_secret() -> None:
    assert CREDENTIALS.secret_access_key not in repr(CREDENTIALS)
