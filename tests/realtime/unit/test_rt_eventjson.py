"""eventjson.dump_json writes every server event as pydantic's model_dump_json does, by
orjson where the model's fields are plain; decode_event reads a stored event back in one
step or, where that refuses, the careful way, to the same event."""

from __future__ import annotations

import typing
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, field_serializer
from pydantic_core import PydanticSerializationError

import realtime.protocol  # noqa: F401  (every event module imported: all subclasses known)
from realtime.eventbase import Sequenced, ServerModel
from realtime.eventjson import dump_json, is_flat
from realtime.events import (
    MessageEvent,
    ReplyDelta,
    SequencedEvent,
    Unreadable,
    decode_event,
    encode,
    payload_json,
)

LOGGED: tuple[type[Sequenced], ...] = typing.get_args(typing.get_args(SequencedEvent)[0])


def _every_server_model() -> list[type[ServerModel]]:
    found: list[type[ServerModel]] = []
    todo: list[type[ServerModel]] = [ServerModel]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub is not Sequenced and not sub.__name__.startswith("_"):
                found.append(sub)
    return found


SERVER_MODELS = _every_server_model()
#: Text that JSON must escape or carry as is: quotes, backslashes, every control
#: character, DEL, non-ASCII, astral and line-separator characters.
AWKWARD = st.text(
    alphabet=st.one_of(
        st.characters(max_codepoint=0x7F),
        st.sampled_from('"\\\u2028\u2029\u00e9\U0001f600\ufeff'),
        st.characters(exclude_categories=["Cs"]),
    )
)


def _built(cls: type[ServerModel]) -> st.SearchStrategy[ServerModel]:
    return st.builds(cls).flatmap(
        lambda event: st.fixed_dictionaries(
            {name: AWKWARD for name, value in event.__dict__.items() if isinstance(value, str)}
        ).map(lambda texts: _with_texts(event, texts))
    )


def _with_texts(event: ServerModel, texts: dict[str, str]) -> ServerModel:
    """``event`` with its free-text fields set to ``texts`` where the model accepts them."""
    try:
        return type(event).model_validate({**event.__dict__, **texts})
    except ValueError:  # a literal, an enum or a pattern the text does not fit
        return event


def test_the_event_types_of_the_streaming_path_take_the_fast_way() -> None:
    # Without this the speed-up would vanish quietly when a field is added.
    assert is_flat(ReplyDelta) and is_flat(MessageEvent)
    assert set(LOGGED) < set(SERVER_MODELS)  # the frames sent once (welcome...) too


@settings(max_examples=600, deadline=None)
@given(event=st.one_of(*(_built(cls) for cls in SERVER_MODELS)))
def test_dump_json_is_pydantic_s_text_for_every_server_event(event: ServerModel) -> None:
    assert dump_json(event) == event.model_dump_json()
    assert dump_json(event, without="seq") == event.model_dump_json(exclude={"seq"})


@settings(max_examples=400, deadline=None)
@given(
    event=st.one_of(*(_built(cls) for cls in LOGGED)),
    seq=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_a_stored_event_reads_back_as_itself_with_its_seq(event: ServerModel, seq: int) -> None:
    appended = event.model_copy(update={"seq": seq})
    stored = payload_json(event)
    assert decode_event(stored, seq) == appended
    assert decode_event(stored.encode(), seq) == appended
    # The in-process window keeps encode's text, seq inside: the seq asked for wins.
    assert decode_event(encode(event.model_copy(update={"seq": seq + 1})), seq) == appended


def test_values_orjson_refuses_go_through_pydantic() -> None:
    huge = ReplyDelta(seq=2**70, reply_id="r", text="past 64 bits")
    assert encode(huge) == huge.model_dump_json()
    assert payload_json(huge) == huge.model_dump_json(exclude={"seq"})
    lone = ReplyDelta(seq=1, reply_id="r", text="half \ud800 a pair")
    with pytest.raises(PydanticSerializationError):  # the memory backend's cue to escape
        encode(lone)


def test_a_lone_surrogate_s_escape_and_other_odd_texts_read_the_careful_way() -> None:
    escaped = '{"type":"reply.delta","reply_id":"r","text":"a\\ud800b"}'
    assert decode_event(escaped, 4) == ReplyDelta(seq=4, reply_id="r", text="a\ud800b")
    for stored in ("{}", "[1]", '"text"', "{", "", '{"type":"nothing.known"}'):
        read = decode_event(stored, 9)
        assert isinstance(read, Unreadable) and read.seq == 9


class _Dated(BaseModel):
    at: datetime


class _Nested(BaseModel):
    inner: _Dated


class _Aliased(BaseModel):
    name: str = Field(serialization_alias="Name")


class _Excluding(BaseModel):
    secret: str = Field(exclude=True)


class _Serialized(BaseModel):
    text: str

    @field_serializer("text")
    def _upper(self, text: str) -> str:
        return text.upper()


class _Plain(BaseModel):
    name: str
    count: int | None = None
    on: bool = False


@pytest.mark.parametrize("cls", [_Dated, _Nested, _Aliased, _Excluding, _Serialized])
def test_models_orjson_would_write_differently_are_not_flat(cls: type[BaseModel]) -> None:
    assert not is_flat(cls)


def test_the_models_that_are_not_flat_are_still_pydantic_s_text() -> None:
    at = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
    for model in (
        _Dated(at=at),
        _Nested(inner=_Dated(at=at)),
        _Aliased(name="n"),
        _Excluding(secret="s"),
        _Serialized(text="t"),
    ):
        assert dump_json(model) == model.model_dump_json()
    assert is_flat(_Plain) and dump_json(_Plain(name="é\n")) == _Plain(name="é\n").model_dump_json()
