"""Pure tests of the wire protocol: every bad-input case answers a ProtocolError."""

from __future__ import annotations

import json

import pytest

from realtime.lifecycle import SessionStatus
from realtime.protocol import (
    BudgetEvent,
    ClientLimits,
    ClientType,
    Direct,
    End,
    ErrorCode,
    MessageEvent,
    MessageRole,
    Pause,
    Ping,
    Pong,
    PresenceEvent,
    ProtocolError,
    ReplyDelta,
    ReplyDone,
    ReplyStart,
    Resume,
    Say,
    StatusEvent,
    Stop,
    Usage,
    Whisper,
    decode_event,
    encode,
    parse_client_frame,
    payload,
    payload_json,
)

LIMITS = ClientLimits()


def error_code(raw: str | bytes, limits: ClientLimits = LIMITS) -> ErrorCode:
    result = parse_client_frame(raw, limits)
    assert isinstance(result, ProtocolError), result
    assert result.message
    return result.code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            '{"type":"say","text":"hello","client_id":"c1"}',
            Say(type=ClientType.SAY, text="hello", client_id="c1"),
        ),
        ('{"type":"stop"}', Stop(type=ClientType.STOP)),
        ('{"type":"stop","reply_id":"r1"}', Stop(type=ClientType.STOP, reply_id="r1")),
        ('{"type":"pause"}', Pause(type=ClientType.PAUSE)),
        ('{"type":"resume"}', Resume(type=ClientType.RESUME)),
        ('{"type":"end"}', End(type=ClientType.END)),
        ('{"type":"whisper","text":"be tense"}', Whisper(type=ClientType.WHISPER, text="be tense")),
        ('{"type":"ping"}', Ping(type=ClientType.PING)),
        ('{"type":"direct","text":"be tense"}', Direct(type=ClientType.DIRECT, text="be tense")),
        (b'{"type":"ping","nonce":"7"}', Ping(type=ClientType.PING, nonce="7")),
    ],
)
def test_valid_frames_parse(raw: str | bytes, expected: object) -> None:
    assert parse_client_frame(raw, LIMITS) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", ErrorCode.BAD_JSON),
        ("{", ErrorCode.BAD_JSON),
        ("not json", ErrorCode.BAD_JSON),
        (b"\xff\xfe\xfd", ErrorCode.BAD_JSON),
        ("[" * 100_00 + "]" * 100_00, ErrorCode.BAD_JSON),  # recursion bomb, under 64 KiB
        ("[]", ErrorCode.INVALID),
        ('"say"', ErrorCode.INVALID),
        ("null", ErrorCode.INVALID),
        ("{}", ErrorCode.INVALID),
        ('{"type":3}', ErrorCode.INVALID),
        ('{"type":"shout"}', ErrorCode.UNKNOWN_TYPE),
        ('{"type":"welcome"}', ErrorCode.UNKNOWN_TYPE),
        ('{"type":"say","text":"hi"}', ErrorCode.INVALID),  # no client_id
        ('{"type":"say","client_id":"c"}', ErrorCode.INVALID),  # no text
        ('{"type":"say","text":5,"client_id":"c"}', ErrorCode.INVALID),  # strict: no coercion
        ('{"type":"say","text":"","client_id":"c"}', ErrorCode.INVALID),
        ('{"type":"say","text":"   ","client_id":"c"}', ErrorCode.INVALID),
        ('{"type":"say","text":"hi","client_id":""}', ErrorCode.INVALID),
        ('{"type":"say","text":"hi","client_id":"' + "x" * 65 + '"}', ErrorCode.INVALID),
        ('{"type":"say","text":"hi","client_id":"c","extra":1}', ErrorCode.INVALID),
        ('{"type":"ping","extra":true}', ErrorCode.INVALID),
        ('{"type":"stop","reply_id":7}', ErrorCode.INVALID),
        ('{"type":"whisper"}', ErrorCode.INVALID),
        ('{"type":"whisper","text":""}', ErrorCode.INVALID),
        # What SQL cannot store: refused at the edge, the same on every database.
        ('{"type":"say","text":"hello\\u0000world","client_id":"c"}', ErrorCode.INVALID),
        ('{"type":"say","text":"half \\ud800 pair","client_id":"c"}', ErrorCode.INVALID),
        ('{"type":"say","text":"hi","client_id":"c\\u0000"}', ErrorCode.INVALID),
        ('{"type":"whisper","text":"\\u0000"}', ErrorCode.INVALID),
        ('{"type":"direct","text":"  "}', ErrorCode.INVALID),
    ],
)
def test_bad_frames_answer_an_error(raw: str | bytes, code: ErrorCode) -> None:
    assert error_code(raw) is code


def test_unstorable_text_is_refused_in_plain_words() -> None:
    result = parse_client_frame('{"type":"say","text":"a\\u0000b","client_id":"c"}', LIMITS)
    assert isinstance(result, ProtocolError)
    assert result.message == "text: must not contain the NUL character (U+0000)"
    emoji = parse_client_frame('{"type":"say","text":"ok \\ud83d\\ude00","client_id":"c"}', LIMITS)
    assert isinstance(emoji, Say) and emoji.text == "ok \U0001f600"  # a whole pair is fine


def test_text_limits_come_from_settings() -> None:
    limits = ClientLimits(max_say_chars=10, max_whisper_chars=5)
    assert (
        error_code(json.dumps({"type": "say", "text": "x" * 11, "client_id": "c"}), limits)
        is ErrorCode.TEXT_TOO_LONG
    )
    ok = parse_client_frame(json.dumps({"type": "say", "text": "x" * 10, "client_id": "c"}), limits)
    assert isinstance(ok, Say)
    assert (
        error_code(json.dumps({"type": "whisper", "text": "x" * 6}), limits)
        is ErrorCode.TEXT_TOO_LONG
    )
    default = json.dumps({"type": "say", "text": "é" * 4_001, "client_id": "c"})
    assert error_code(default) is ErrorCode.TEXT_TOO_LONG


def test_oversize_frames_are_refused_before_parsing() -> None:
    limits = ClientLimits(max_frame_bytes=100)
    assert error_code("x" * 101, limits) is ErrorCode.TOO_LARGE
    assert error_code(b"x" * 101, limits) is ErrorCode.TOO_LARGE
    # 40 chars but 160 bytes in UTF-8: measured in bytes.
    frame = json.dumps({"type": "ping", "nonce": "\U0001f600" * 30}, ensure_ascii=False)
    assert len(frame) < 100 < len(frame.encode())
    assert error_code(frame, limits) is ErrorCode.TOO_LARGE
    assert error_code("{" * (64 * 1024 + 1)) is ErrorCode.TOO_LARGE


def test_protocol_error_becomes_an_unsequenced_error_event() -> None:
    result = parse_client_frame("nope", LIMITS)
    assert isinstance(result, ProtocolError)
    frame = json.loads(encode(result.to_event()))
    assert frame == {"type": "error", "code": "bad_json", "message": result.message}


def test_sequenced_events_need_a_seq_before_encoding() -> None:
    delta = ReplyDelta(reply_id="r1", text="Hel")
    with pytest.raises(ValueError, match="no seq"):
        encode(delta)
    assert payload(delta) == {"type": "reply.delta", "reply_id": "r1", "text": "Hel"}
    assert json.loads(encode(Pong(nonce="1"))) == {"type": "pong", "nonce": "1"}


def test_payload_round_trips_through_the_log() -> None:
    done = ReplyDone(
        reply_id="r1", message_id="m1", text="Hi.", usage=Usage(input_tokens=10, output_tokens=2)
    )
    back = decode_event(payload_json(done), 42)
    assert back == done.model_copy(update={"seq": 42})
    assert json.loads(encode(back))["seq"] == 42


def test_durability() -> None:
    message = MessageEvent(message_id="m", role=MessageRole.WHISPER, text="w")
    assert message.durable and decode_event(payload_json(message), 1).durable
    assert ReplyStart(reply_id="r").durable
    assert StatusEvent(status=SessionStatus.PAUSED).durable
    assert not ReplyDelta(reply_id="r", text="x").durable
    assert not PresenceEvent(student_online=True, observers=1).durable
    tick = BudgetEvent(tokens_used=1, token_budget=10)
    warning = BudgetEvent(tokens_used=9, token_budget=10, warning="tokens_low")
    assert not tick.durable and not decode_event(payload_json(tick), 1).durable
    assert warning.durable and decode_event(payload_json(warning), 2).durable
