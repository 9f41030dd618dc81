"""Each event's JSON text, and its WebSocket frame, encoded once for every socket of this
process that sends it.

The backends hand one event object to all of a session's subscribers in a process (a
student and two observing teachers: three sockets), so the same object reaches
:meth:`FrameCache.encode` once per socket; encoding it once saves two of every three
``model_dump_json`` calls on the streaming path. Keyed by identity (events are frozen),
holding the event itself so its id cannot be reused while remembered. The frame's bytes
(:func:`realtime.wsframe.text_frame`) are made on first ask, beside the text: a socket
whose transport takes frames directly asks for them, one that queues asks for the text.
"""

from __future__ import annotations

from collections import OrderedDict

from realtime.events import ErrorEvent, Pong, ResumeFailed, ServerModel, Welcome, encode
from realtime.wsframe import text_frame

__all__ = ["FrameCache"]

#: Events remembered: a reply's deltas reach every socket within milliseconds, so a
#: few hundred cover every session of a busy worker (~100 sessions x 3 sockets).
FRAMES_KEPT = 512

#: Events made for one socket: never sent twice, so remembering them would only push the
#: shared ones out (1,000 observers joining at once put 1,000 welcomes through here).
ONE_SOCKET = (Welcome, Pong, ErrorEvent, ResumeFailed)


class _Held:
    __slots__ = ("event", "frame", "text")

    def __init__(self, event: ServerModel, text: str) -> None:
        self.event = event
        self.text = text
        self.frame: bytes | None = None


class FrameCache:
    def __init__(self, size: int = FRAMES_KEPT) -> None:
        self._size = size
        self._held: OrderedDict[int, _Held] = OrderedDict()

    def encode(self, event: ServerModel) -> str:
        """:func:`realtime.events.encode`, once per event object."""
        if isinstance(event, ONE_SOCKET):
            return encode(event)
        return self._hold(event).text

    def known(self, event: ServerModel, text: str) -> None:
        """Remember ``text`` as ``event``'s :func:`realtime.events.encode` (a backend that
        made it from the JSON it stored: :func:`realtime.events.stamped_json`)."""
        if isinstance(event, ONE_SOCKET):
            return
        self._remember(_Held(event, text))

    def frame(self, event: ServerModel) -> bytes:
        """The event's text frame (:func:`realtime.wsframe.text_frame`), once per event
        object."""
        if isinstance(event, ONE_SOCKET):
            return text_frame(encode(event))
        held = self._hold(event)
        if held.frame is None:
            held.frame = text_frame(held.text)
        return held.frame

    def _hold(self, event: ServerModel) -> _Held:
        held = self._held.get(id(event))
        if held is not None and held.event is event:
            return held
        held = _Held(event, encode(event))
        self._remember(held)
        return held

    def _remember(self, held: _Held) -> None:
        self._held[id(held.event)] = held
        if len(self._held) > self._size:
            self._held.popitem(last=False)
