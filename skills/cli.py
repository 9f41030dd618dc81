"""Code a transcript file from the command line (to be wired into ``vclient``).

Input: FILE holds JSON lines, one turn each, ``{"role": "student"|"client",
"text": "..."}`` (other keys are ignored; blank lines are skipped; ``-`` reads
standard input). Output: one JSON line per student turn, in file order::

    {"index": 2, "behaviour": "question", "question": "open", "reflection": null,
     "affirmation": false, "summary": false}

``index`` is the turn's line in the file counting from 0, blank lines
included, so line N of an editor is index N-1 and a turn keeps its index when
blank lines elsewhere change. ``question`` and ``reflection`` are null when the
turn has none (see :mod:`skills.coding` for turns holding both).

Exit status: 0 on success; 2 on unreadable or bad input (a line that is not
JSON, not an object, has an unknown role or no string ``text``), with a
message on stderr naming the 1-based line number and nothing on stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

from skills.coding import Turn, code_transcript
from skills.vocabulary import Role

USAGE = (
    "usage: classify FILE\n"
    '  FILE: JSON lines {"role": "student"|"client", "text": ...}; \'-\' reads stdin\n'
    "  prints one JSON line per student turn: index (0-based line), behaviour, question,\n"
    "  reflection, affirmation, summary\n"
)


class TranscriptError(ValueError):
    """A line of the transcript file is not a turn; ``line`` counts from 1."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


def read_turns(lines: Iterable[str]) -> list[Turn]:
    """Parse JSON lines into turns whose ``seq`` is the 0-based line index.

    Raises :class:`TranscriptError` at the first line that is not a turn.
    """
    turns: list[Turn] = []
    valid_roles = [role.value for role in Role]
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise TranscriptError(index + 1, f"not valid JSON ({error.msg})") from None
        if not isinstance(data, dict):
            raise TranscriptError(index + 1, "expected a JSON object with role and text")
        role = data.get("role")
        if role not in valid_roles:
            expected = " or ".join(valid_roles)
            raise TranscriptError(index + 1, f"unknown role {role!r} (expected {expected})")
        text = data.get("text")
        if not isinstance(text, str):
            problem = 'missing "text"' if text is None else '"text" must be a string'
            raise TranscriptError(index + 1, problem)
        turns.append(Turn(index, Role(str(role)), text))
    return turns


def classify_main(argv: Sequence[str], stdout: TextIO, stderr: TextIO | None = None) -> int:
    """Run ``classify FILE``; returns the exit status (0 ok, 2 bad usage or input)."""
    errors = sys.stderr if stderr is None else stderr
    if list(argv) in (["-h"], ["--help"]):
        stdout.write(USAGE)
        return 0
    if len(argv) != 1:
        errors.write(USAGE)
        return 2
    path = argv[0]
    try:
        if path == "-":
            turns = read_turns(sys.stdin)
        else:
            with open(path, encoding="utf-8") as file:
                turns = read_turns(file)
    except TranscriptError as error:
        errors.write(f"classify: {path}: {error}\n")
        return 2
    except (OSError, UnicodeDecodeError) as error:
        errors.write(f"classify: cannot read {path}: {error}\n")
        return 2
    for coded in code_transcript(turns):
        code = coded.code
        row = {
            "index": coded.seq,
            "behaviour": code.behaviour.value,
            "question": code.question.value if code.question is not None else None,
            "reflection": code.reflection.value if code.reflection is not None else None,
            "affirmation": code.affirmation,
            "summary": code.summary,
        }
        stdout.write(json.dumps(row) + "\n")
    return 0
