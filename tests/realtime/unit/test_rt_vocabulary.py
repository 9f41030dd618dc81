"""The browser's copy of the socket vocabulary matches ``realtime/vocabulary.py``.

``web/js/vocabulary.js`` mirrors the enums member for member, ``web/js/errors.js`` has words
for every ``ErrorCode`` for both audiences, and no other module in ``web/js`` spells an event
type, error code or budget warning as a string literal. Pure: reads files, no browser.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import pytest

from realtime.vocabulary import (
    BudgetWarning,
    ClientType,
    CloseCode,
    ErrorCode,
    EventType,
    MessageRole,
)

WEB_JS = Path(__file__).resolve().parents[3] / "web" / "js"
VOCABULARY_JS = WEB_JS / "vocabulary.js"
ERRORS_JS = WEB_JS / "errors.js"

#: The enums the browser mirrors, by the name it exports them under.
MIRRORED: dict[str, type[Enum]] = {
    "EventType": EventType,
    "ClientType": ClientType,
    "ErrorCode": ErrorCode,
    "CloseCode": CloseCode,
    "MessageRole": MessageRole,
    "BudgetWarning": BudgetWarning,
}

# `export const X = Object.freeze({` ... a line that is exactly `});`.
_FROZEN = re.compile(r"^export const (\w+) = Object\.freeze\(\{\n(.*?)^\}\);$", re.M | re.S)
# `  NAME: "value",` or `  NAME: 1234,` (one member a line).
_MEMBER = re.compile(r'^\s*([A-Z][A-Z0-9_]*): (?:"([^"\\]*)"|(\d+)),$')
# `const STUDENT = {` ... a line that is exactly `};`.
_TABLE = re.compile(r"^const (\w+) = \{\n(.*?)^\};$", re.M | re.S)
_TABLE_KEY = re.compile(r"^\s*\[ErrorCode\.(\w+)\]:", re.M)
_TABLE_SPREAD = re.compile(r"^\s*\.\.\.(\w+),$", re.M)
# Comments, so that prose may name a value: block comments, and `//` after a line start or
# whitespace (never the `//` inside a URL such as `${scheme}//${host}`).
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LINE_COMMENT = re.compile(r"(^|\s)//.*$", re.M)


def _frozen_objects(source: str) -> dict[str, dict[str, str | int]]:
    """Every ``export const X = Object.freeze({...})`` as {member name: value}.

    Raises AssertionError on a line in an object that is neither a member nor a comment,
    so a member spelled in another form cannot slip past the comparison.
    """
    objects: dict[str, dict[str, str | int]] = {}
    for match in _FROZEN.finditer(source):
        members: dict[str, str | int] = {}
        for line in match.group(2).splitlines():
            if not line.strip() or line.strip().startswith("//"):
                continue
            member = _MEMBER.match(line)
            assert member, f"{match.group(1)}: cannot read {line.strip()!r}"
            name, text, number = member.groups()
            assert name not in members, f"{match.group(1)}.{name} twice"
            members[name] = int(number) if number is not None else text
        objects[match.group(1)] = members
    return objects


def _table_keys(source: str) -> dict[str, set[str]]:
    """The ErrorCode member names keyed in each ``const X = {...}`` of errors.js, with
    ``...OTHER`` spreads resolved."""
    own: dict[str, set[str]] = {}
    spreads: dict[str, list[str]] = {}
    for match in _TABLE.finditer(source):
        own[match.group(1)] = set(_TABLE_KEY.findall(match.group(2)))
        spreads[match.group(1)] = _TABLE_SPREAD.findall(match.group(2))

    def resolve(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        assert name not in seen, f"{name} spreads itself"
        keys = set(own[name])
        for other in spreads[name]:
            keys |= resolve(other, seen | {name})
        return keys

    return {name: resolve(name) for name in own}


def _code_only(source: str) -> str:
    return _LINE_COMMENT.sub(r"\1", _BLOCK_COMMENT.sub("", source))


def _spelled_values(source: str, values: set[str]) -> list[str]:
    """The string literals (any quote) in code, not comments, that are exactly one of values."""
    quoted = re.compile(
        r"""(["'`])(""" + "|".join(re.escape(value) for value in sorted(values)) + r")\1"
    )
    return [match.group(2) for match in quoted.finditer(_code_only(source))]


#: Values distinctive enough to search for: no CSS class, DOM name or prose word is one.
DISTINCTIVE = (
    {event.value for event in EventType if "." in event.value}
    | {code.value for code in ErrorCode if "_" in code.value}
    | {warning.value for warning in BudgetWarning if "_" in warning.value}
)


def test_vocabulary_js_mirrors_every_enum_exactly() -> None:
    objects = _frozen_objects(VOCABULARY_JS.read_text(encoding="utf-8"))
    assert set(objects) == set(MIRRORED)
    for name, enum in MIRRORED.items():
        expected = {member.name: member.value for member in enum}
        assert objects[name] == expected, name


@pytest.mark.parametrize("table", ["STUDENT", "TEACHER"])
def test_errors_js_has_words_for_every_error_code(table: str) -> None:
    tables = _table_keys(ERRORS_JS.read_text(encoding="utf-8"))
    assert table in tables
    assert tables[table] == set(ErrorCode.__members__)


def test_no_web_module_spells_a_vocabulary_value() -> None:
    modules = sorted(path for path in WEB_JS.rglob("*.js") if path != VOCABULARY_JS)
    assert WEB_JS / "socket.js" in modules
    assert WEB_JS / "teacher" / "observe.js" in modules
    spelled = {
        str(path.relative_to(WEB_JS)): found
        for path in modules
        if (found := _spelled_values(path.read_text(encoding="utf-8"), DISTINCTIVE))
    }
    assert spelled == {}


def test_the_literal_check_finds_literals_and_skips_comments() -> None:
    source = (
        "// a `reply.delta` in prose\n"
        '/* or "reply_in_progress" here */\n'
        "const url = `${scheme}//${host}`;\n"
        'el("li", { class: "msg msg--reply.delta-ish" });\n'
        "case 'reply.delta':\n"
        'send({ code: "reply_in_progress" }); // "tokens_low"\n'
        "const w = `time_low`;\n"
    )
    assert _spelled_values(source, DISTINCTIVE) == ["reply.delta", "reply_in_progress", "time_low"]
