"""Content detection by bytes alone (pure)."""

from __future__ import annotations

import pytest

from filestore.content import ContentSniffer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20


def sniff(*chunks: bytes) -> str | None:
    sniffer = ContentSniffer()
    for chunk in chunks:
        sniffer.feed(chunk)
    return sniffer.verdict()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"GIF87a\x01\x00\x01\x00", "image/gif"),
        (WEBP, "image/webp"),
        ("Referral letter: Ms Doe, 29. Café.\n".encode(), "text/plain"),
        (b"MZ\x90\x00\x03\x00\x00\x00", None),  # a Windows executable
        (b"PK\x03\x04" + b"\x00" * 30, None),  # a ZIP / Word document
        (b"plain text with a NUL \x00 inside", None),
        (b"latin-1 caf\xe9", None),
        ("UTF-16".encode("utf-16"), None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # RIFF, but audio
        (b"", None),
    ],
)
def test_verdict(data: bytes, expected: str | None) -> None:
    assert sniff(data) == expected


def test_magic_split_across_chunks() -> None:
    assert sniff(PNG[:3], PNG[3:5], PNG[5:]) == "image/png"


def test_a_character_split_across_chunks_is_still_text() -> None:
    data = "naïve".encode()
    assert sniff(data[:3], data[3:]) == "text/plain"


def test_text_cut_off_mid_character_is_refused() -> None:
    assert sniff("naï".encode()[:-1]) is None


def test_a_bad_byte_far_into_the_text_refuses_it() -> None:
    assert sniff(b"a" * 100_000, b"\xff", b"b" * 10) is None
