"""Providers and prompts: turns a persona and a conversation into a streamed reply.

A bottom-floor package: it never imports ``server``, ``realtime`` or
``storage``. The SDK-backed providers (``llm.anthropic``, ``llm.openai``) are
not imported here; :func:`make_provider` imports them when chosen.
"""

from __future__ import annotations

from llm.base import (
    Done,
    Failed,
    FailureCode,
    HiddenFact,
    Persona,
    Provider,
    ReplyEvent,
    ReplyRequest,
    Speaker,
    TextDelta,
    Turn,
    Usage,
)
from llm.errors import MESSAGES
from llm.factory import ProviderConfig, ProviderKind, close_provider, make_provider
from llm.metrics import CallRecord, MeteredStream, Outcome, measure
from llm.persona import build_system_prompt
from llm.retry import ReplyStream, RetryingProvider, RetryPolicy
from llm.scripted import ScriptedProvider
from llm.window import (
    OMITTED_MARKER,
    estimate_request_tokens,
    estimate_tokens,
    window_history,
)

__all__ = [
    "MESSAGES",
    "OMITTED_MARKER",
    "CallRecord",
    "Done",
    "Failed",
    "FailureCode",
    "HiddenFact",
    "MeteredStream",
    "Outcome",
    "Persona",
    "Provider",
    "ProviderConfig",
    "ProviderKind",
    "ReplyEvent",
    "ReplyRequest",
    "ReplyStream",
    "RetryPolicy",
    "RetryingProvider",
    "ScriptedProvider",
    "Speaker",
    "TextDelta",
    "Turn",
    "Usage",
    "build_system_prompt",
    "close_provider",
    "estimate_request_tokens",
    "estimate_tokens",
    "make_provider",
    "measure",
    "window_history",
]
