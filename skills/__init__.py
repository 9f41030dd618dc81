"""Interviewing-skill coding: MITI 4.2.1 behaviour codes for student turns.

A bottom-floor, pure package: no model, no I/O, and it imports nothing from
``server``, ``realtime``, ``llm`` or ``storage``. The same coder is meant
for the session report and the virtual client's trust.
"""

from __future__ import annotations

from skills.coding import CodedTurn, Turn, TurnCode, code_transcript, code_turn
from skills.utterance import UtteranceCode
from skills.vocabulary import (
    Behaviour,
    Flag,
    InputKind,
    Level,
    QuestionKind,
    ReflectionKind,
    Role,
)

__all__ = [
    "Behaviour",
    "CodedTurn",
    "Flag",
    "InputKind",
    "Level",
    "QuestionKind",
    "ReflectionKind",
    "Role",
    "Turn",
    "TurnCode",
    "UtteranceCode",
    "code_transcript",
    "code_turn",
]
