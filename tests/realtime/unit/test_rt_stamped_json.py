"""stamped_json: the text a socket is sent for an appended event, made from the JSON a log
stores without encoding the event again, is encode's own text for every event type."""

from __future__ import annotations

import typing

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.eventbase import Sequenced
from realtime.events import SequencedEvent, encode, payload_json, stamped_json

EVENT_TYPES: tuple[type[Sequenced], ...] = typing.get_args(typing.get_args(SequencedEvent)[0])


def test_every_logged_event_type_is_checked() -> None:
    # The union the log decodes is the list below: a new event type is held to it too.
    assert len(EVENT_TYPES) >= 15 and all(issubclass(t, Sequenced) for t in EVENT_TYPES)


@settings(max_examples=400, deadline=None)
@given(
    event=st.one_of(*(st.builds(event_type) for event_type in EVENT_TYPES)),
    seq=st.integers(min_value=1, max_value=2**53),
)
def test_the_stored_json_with_its_seq_spliced_in_is_encode_s_text(
    event: Sequenced, seq: int
) -> None:
    appended = event.model_copy(update={"seq": seq})  # as the backends stamp it
    assert stamped_json(payload_json(event), seq) == encode(appended)


@settings(max_examples=300, deadline=None)
@given(
    event=st.one_of(*(st.builds(event_type) for event_type in EVENT_TYPES)),
    seq=st.integers(min_value=1, max_value=2**63),
)
def test_with_seq_is_model_copy_s_event(event: Sequenced, seq: int) -> None:
    """The backends' copy of an appended event is pydantic's own, field for field, set
    fields, extras and private attributes included; the event given is left as it was."""
    before = (dict(event.__dict__), set(event.__pydantic_fields_set__))
    made, expected = event.with_seq(seq), event.model_copy(update={"seq": seq})
    assert type(made) is type(expected) and made == expected and made.seq == seq
    assert made.__pydantic_fields_set__ == expected.__pydantic_fields_set__
    assert made.__pydantic_extra__ == expected.__pydantic_extra__
    assert made.__pydantic_private__ == expected.__pydantic_private__
    assert (event.__dict__, event.__pydantic_fields_set__) == before
    assert encode(made) == encode(expected)
