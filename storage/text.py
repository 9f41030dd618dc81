"""What a text column can hold, the same on every engine we run on.

PostgreSQL's ``text`` refuses U+0000 outright (asyncpg raises, the request would answer
500), while SQLite stores it and hands it back, so the two databases would disagree.
Neither can encode an unpaired UTF-16 surrogate (U+D800 to U+DFFF), which a JSON
``"\\ud800"`` escape smuggles into a Python ``str``. Every edge that takes text from
outside (HTTP bodies, socket frames) checks it here before it reaches SQL."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["check_storable_text", "find_unstorable_text"]

NUL_MESSAGE = "must not contain the NUL character (U+0000)"
SURROGATE_MESSAGE = "must not contain an unpaired surrogate (U+D800 to U+DFFF)"

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_storable_text(value: str) -> str | None:
    """Why ``value`` cannot be stored in a text column, in plain words; None if it can."""
    if "\x00" in value:
        return NUL_MESSAGE
    if not value.isascii() and _SURROGATE.search(value):
        return SURROGATE_MESSAGE
    return None


def find_unstorable_text(value: object, location: tuple[str, ...] = ()) -> dict[str, str]:
    """Every string (object key or value) in a parsed JSON document that cannot be
    stored, as ``{"criteria.0.name": problem}``: the dotted path the API's 422 ``fields``
    use ("body" for the document itself). Recurses once per nesting level, so parse
    the document with a depth limit first."""
    found: dict[str, str] = {}
    if isinstance(value, str):
        problem = check_storable_text(value)
        if problem is not None:
            found[".".join(location) or "body"] = problem
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key_text = str(key)
            problem = check_storable_text(key_text)
            if problem is not None:
                found[".".join((*location, key_text))] = "field names " + problem
            found.update(find_unstorable_text(item, (*location, key_text)))
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            found.update(find_unstorable_text(item, (*location, str(index))))
    return found
