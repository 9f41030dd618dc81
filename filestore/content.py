"""What a file is, judged by its bytes alone (never its name or the browser's header).

Accepted: PDF, PNG, JPEG, GIF, WebP by their magic bytes, and plain text: valid UTF-8
with no NUL (the referral letter pasted into a .txt). Anything else (an .exe named
``letter.pdf``, a Word file, UTF-16 text) is refused: those are the types a browser
shows safely and a teacher needs for a case file.

Pure: :class:`ContentSniffer` eats chunks and returns a verdict; no I/O."""

from __future__ import annotations

import codecs

__all__ = ["ACCEPTED_TYPES", "TEXT_TYPE", "ContentSniffer", "detect_binary"]

TEXT_TYPE = "text/plain"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
ACCEPTED_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    TEXT_TYPE,
)
# The longest signature we look at: RIFF....WEBP is 12 bytes.
HEAD_BYTES = 12


def detect_binary(head: bytes) -> str | None:
    """The media type the first bytes announce, or None when they announce none of ours."""
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class ContentSniffer:
    """Feed every chunk in order, then ask :meth:`verdict`. Text is checked over the
    whole file (one bad byte anywhere refuses it) with an incremental decoder, so a
    multi-byte character split across chunks is fine and memory stays one chunk."""

    def __init__(self) -> None:
        self._head = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = True
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        if self._text:
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self._text = False
            if b"\x00" in chunk:
                self._text = False

    def verdict(self) -> str | None:
        """The detected media type (one of :data:`ACCEPTED_TYPES`), or None: refuse."""
        if self._size == 0:
            return None
        binary = detect_binary(self._head)
        if binary is not None:
            return binary
        if self._text:
            try:
                self._decoder.decode(b"", final=True)  # a character cut off at the end
            except UnicodeDecodeError:
                return None
            return TEXT_TYPE
        return None
