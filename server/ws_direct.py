"""Frames written straight to uvicorn's transport, past the ASGI ``send``.

Why: a reply's delta goes to every socket of its session (a student and two observing
teachers), ~20 a second each. Through the ASGI path each send is Starlette's
``send_text``, uvicorn's ``send`` (which awaits its writable event), a ``websockets``
frame made and serialised for this socket, and a write: 7.0-7.4 us of CPU a frame in a
loop of 20,000 over one uvicorn socket, against 1.4 us for writing the same frame's bytes
(made once) to the transport. And the frame waits for the socket's writer task to be
woken. Here the bytes made once per event (:meth:`realtime.framecache.FrameCache.frame`)
go to the transport in the appender's own call, while the connection can take them.

Only where that is the same as the ASGI path's result: uvicorn's ``websockets-sansio``
protocol, the handshake done, the connection open, nothing closing, no extension (with
permessage-deflate each socket's frames differ: compressed in its own context), and the
transport not pushing back (``pause_writing``). Anything else returns False and the frame
goes the ASGI way, so another server, another uvicorn, or a compressed socket still
works, only without the shortcut. The attributes read are checked once, when the socket
opens (:meth:`DirectWrites.of`): a uvicorn that renames one turns the shortcut off
instead of failing.
"""

from __future__ import annotations

from typing import Final

from starlette.types import Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

__all__ = ["DirectWrites"]

#: What :meth:`DirectWrites.write` reads of uvicorn's protocol (and of its ``conn``,
#: ``websockets``' sans-I/O ``ServerProtocol``).
_READS: Final = ("writable", "disconnected", "close_sent", "initial_response", "transport")
_CONN_READS: Final = ("state", "extensions")


class DirectWrites:
    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, send: Send) -> DirectWrites | None:
        """For an ASGI ``send`` that is uvicorn's ``websockets-sansio`` protocol's own (a
        socket served straight from the app's entry gets it unwrapped); None otherwise."""
        protocol = getattr(send, "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol):
            return None
        conn = getattr(protocol, "conn", None)
        if not all(hasattr(protocol, name) for name in _READS) or not all(
            hasattr(conn, name) for name in _CONN_READS
        ):
            return None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write ``frame`` (one whole text frame, :func:`realtime.wsframe.text_frame`) if
        the connection takes it now as the ASGI path would; False, nothing written, if
        not."""
        protocol = self._protocol
        if (
            protocol.disconnected
            or protocol.close_sent
            or protocol.initial_response is not None
            or not protocol.writable.is_set()
        ):
            return False
        conn = protocol.conn
        if conn.state is not State.OPEN or conn.extensions:
            return False
        transport = protocol.transport
        if transport.is_closing():
            return False
        transport.write(frame)
        return True
