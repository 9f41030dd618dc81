"""Interviewing-skill coding: MITI 4.2.1 behaviour codes for student turns.

A bottom-floor, pure package: no model, no I/O, and it imports nothing from
``server``, ``realtime``, ``llm`` or ``storage``. The same coder feeds the
session report (:mod:`skills.metrics`) and the virtual client's trust.
"""

from __future__ import annotations

from skills.coding import CodedTurn, Turn, TurnCode, client_side, code_transcript, code_turn
from skills.metrics import (
    COMPLEX_REFLECTION_SHARE,
    OPEN_QUESTION_SHARE,
    REFLECTION_TO_QUESTION,
    Metric,
    SessionMetrics,
    Threshold,
    session_metrics,
    word_count,
)
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
    "COMPLEX_REFLECTION_SHARE",
    "OPEN_QUESTION_SHARE",
    "REFLECTION_TO_QUESTION",
    "Behaviour",
    "CodedTurn",
    "Flag",
    "InputKind",
    "Level",
    "Metric",
    "QuestionKind",
    "ReflectionKind",
    "Role",
    "SessionMetrics",
    "Threshold",
    "Turn",
    "TurnCode",
    "UtteranceCode",
    "client_side",
    "code_transcript",
    "code_turn",
    "session_metrics",
    "word_count",
]
