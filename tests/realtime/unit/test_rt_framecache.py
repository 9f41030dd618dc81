"""FrameCache: one encoding per event object, the same bytes for every socket."""

from __future__ import annotations

import json

from realtime.events import Pong, ReplyDelta
from realtime.framecache import FrameCache


def test_one_event_object_is_encoded_once_and_equal_copies_on_their_own() -> None:
    frames = FrameCache(size=2)
    delta = ReplyDelta(reply_id="r", text="Hello ", seq=7)
    first = frames.encode(delta)
    assert json.loads(first) == {"type": "reply.delta", "reply_id": "r", "text": "Hello ", "seq": 7}
    assert frames.encode(delta) is first  # the same text object: not encoded again
    twin = ReplyDelta(reply_id="r", text="Hello ", seq=7)
    assert frames.encode(twin) == first and frames.encode(twin) is not first
    # Bounded: two newer events push the first out; it is encoded afresh (and still right).
    frames.encode(ReplyDelta(reply_id="r", text="a", seq=8))
    frames.encode(ReplyDelta(reply_id="r", text="b", seq=9))
    again = frames.encode(delta)
    assert again == first and again is not first


def test_one_socket_events_do_not_push_shared_ones_out() -> None:
    frames = FrameCache(size=1)
    delta = ReplyDelta(reply_id="r", text="Hello ", seq=7)
    first = frames.encode(delta)
    for n in range(3):  # pongs (like welcomes and errors) go to one socket only
        assert json.loads(frames.encode(Pong(nonce=str(n)))) == {"type": "pong", "nonce": str(n)}
    assert frames.encode(delta) is first  # still remembered


def test_a_text_it_is_told_is_sent_as_is() -> None:
    frames = FrameCache(size=2)
    delta = ReplyDelta(reply_id="r", text="Hello ", seq=7)
    told = '{"seq":7,"type":"reply.delta","reply_id":"r","text":"Hello "}'
    frames.known(delta, told)
    assert frames.encode(delta) is told
    assert frames.frame(delta) == b"\x81" + bytes((len(told),)) + told.encode()
    frames.known(Pong(nonce="1"), "{}")  # one socket's: not kept, encoded when sent
    assert json.loads(frames.encode(Pong(nonce="1"))) == {"type": "pong", "nonce": "1"}
