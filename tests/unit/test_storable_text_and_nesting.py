"""Pure tests: which text SQL can store (``storage.text``) and the JSON nesting check the
API runs before parsing a body (``server.http``)."""

from __future__ import annotations

import json

import pytest

from server.http import MAX_JSON_DEPTH, json_nesting_exceeds
from storage.text import (
    NUL_MESSAGE,
    SURROGATE_MESSAGE,
    check_storable_text,
    find_unstorable_text,
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", None),
        ("plain", None),
        ("café \U0001f600 \ufffd \uffff", None),
        ("a\x00b", NUL_MESSAGE),
        ("\x00", NUL_MESSAGE),
        ("x\ud800", SURROGATE_MESSAGE),
        ("\udfff y", SURROGATE_MESSAGE),
        ("\ud83d\ude00", SURROGATE_MESSAGE),  # a pair left as two code points is still two
        ("\ud800\x00", NUL_MESSAGE),
    ],
)
def test_check_storable_text(text: str, problem: str | None) -> None:
    assert check_storable_text(text) == problem


def test_find_unstorable_text_names_each_place() -> None:
    document = {
        "name": "ok",
        "facts": ["ok", "b\x00d", 3, None, True],
        "criteria": [{"levels": [{"descriptor": "\ud800"}]}],
        "na\x00me": "value",
        "nested": {"deep": {"deeper": "\x00"}},
    }
    assert find_unstorable_text(document) == {
        "facts.1": NUL_MESSAGE,
        "criteria.0.levels.0.descriptor": SURROGATE_MESSAGE,
        "na\x00me": "field names " + NUL_MESSAGE,
        "nested.deep.deeper": NUL_MESSAGE,
    }
    assert find_unstorable_text("\x00") == {"body": NUL_MESSAGE}
    assert find_unstorable_text({"fine": ["text", 1, 2.5, {"x": "y"}]}) == {}


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("opener", [b"[", b"{"])
def test_nesting_limit_is_inclusive(opener: bytes) -> None:
    closer = {b"[": b"]", b"{": b"}"}[opener]
    inner = b"[]" if opener == b"[" else b'{"a": 1}'

    def wrap(depth: int) -> bytes:
        if opener == b"[":
            return _nested(depth)
        return b'{"k": ' * (depth - 1) + inner + closer * (depth - 1)

    assert not json_nesting_exceeds(wrap(MAX_JSON_DEPTH), MAX_JSON_DEPTH)
    assert json_nesting_exceeds(wrap(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)


def test_brackets_in_strings_do_not_count() -> None:
    text = json.dumps({"a": "[[[[{{{{" * 100, "b": '\\"[[[' * 50, "c": ["x"]}).encode()
    assert not json_nesting_exceeds(text, 3)
    # An escaped backslash before the closing quote ends the string.
    assert not json_nesting_exceeds(b'["\\\\", "[[[["]', 1)
    assert json_nesting_exceeds(b'["\\\\", [[["x"]]]]', 3)


def test_many_shallow_brackets_are_fine() -> None:
    wide = b"[" + b"[]," * 80_000 + b"[]]"
    assert not json_nesting_exceeds(wide, 2)
    assert json_nesting_exceeds(b"[" * 100_000, MAX_JSON_DEPTH)


def test_nesting_check_agrees_with_the_parser_on_depth() -> None:
    for depth in range(1, 40):
        raw = json.dumps(json.loads(_nested(depth))).encode()
        assert json_nesting_exceeds(raw, MAX_JSON_DEPTH) is (depth > MAX_JSON_DEPTH)
