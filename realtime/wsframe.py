"""A server's WebSocket text frame, made once and written as is to every socket that is
sent it (RFC 6455 section 5.2: a server's frames are not masked, so one event's frame is
the same bytes on every connection without an extension).

Pure. What writes these bytes, and when it may, is the transport's
(:meth:`realtime.socketparts.Transport.write_now`)."""

from __future__ import annotations

__all__ = ["text_frame"]

#: FIN set (one frame, not fragmented), opcode 1 (text), RSV bits clear (no extension).
_FIN_TEXT = 0x81
#: Payload lengths up to 125 fit the header's second byte; 126 and 127 announce a 16-bit
#: and a 64-bit length after it (in network byte order). The mask bit stays clear.
_SHORT_LIMIT = 126
_LENGTH_16 = 126
_LENGTH_64 = 127
_LIMIT_16 = 1 << 16


def text_frame(text: str) -> bytes:
    """``text`` as one complete, unmasked, unfragmented text frame."""
    payload = text.encode()
    size = len(payload)
    if size < _SHORT_LIMIT:
        return bytes((_FIN_TEXT, size)) + payload
    if size < _LIMIT_16:
        return bytes((_FIN_TEXT, _LENGTH_16)) + size.to_bytes(2, "big") + payload
    return bytes((_FIN_TEXT, _LENGTH_64)) + size.to_bytes(8, "big") + payload
