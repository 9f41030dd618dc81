"""Token estimates and history windowing: fit a conversation into a budget.

Pure functions. The estimate is deliberately crude (about four characters per
token, rounded up, plus a small per-message overhead): it is used to *reserve*
budget before a call, and the provider's reported usage settles it afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from llm.base import ReplyRequest, Turn
from llm.persona import build_system_prompt

OMITTED_MARKER = "[earlier conversation omitted]"

# Role and separator tokens each message costs in chat formats (~3-4 for OpenAI
# and Anthropic); 4 over-reserves slightly, which is the safe side.
TURN_OVERHEAD_TOKENS = 4

# Kept free in the context window besides ``max_tokens``: the estimate may be
# ~10-20 % low for non-English text, and an overflowing request is a hard 400.
CONTEXT_SAFETY_MARGIN = 0.1


def estimate_tokens(text: str) -> int:
    """Roughly how many tokens ``text`` is: ``ceil(len(text) / 4)``."""
    return math.ceil(len(text) / 4)


def turn_tokens(turn: Turn) -> int:
    """Estimated tokens of one message including its role overhead."""
    return estimate_tokens(turn.text) + TURN_OVERHEAD_TOKENS


def window_history(history: Sequence[Turn], budget_tokens: int) -> tuple[Turn, ...]:
    """The newest turns of ``history`` that fit in ``budget_tokens``.

    Oldest turns are dropped first; if any were dropped a student-side turn
    with :data:`OMITTED_MARKER` is put in their place (its cost counts against
    the budget). The latest turn (the student's newest message) is always kept
    whole, even if it alone exceeds the budget: truncating what the student
    just said would make the reply nonsensical, and the caller's budget check
    decides whether such a call may go ahead. Never raises.
    """
    if not history:
        return ()
    marker = Turn("student", OMITTED_MARKER)
    kept: list[Turn] = [history[-1]]
    used = turn_tokens(history[-1])
    older = list(history[:-1])
    for index in range(len(older) - 1, -1, -1):
        turn = older[index]
        dropping_rest = index > 0
        needed = turn_tokens(turn) + (turn_tokens(marker) if dropping_rest else 0)
        if used + needed > budget_tokens:
            return (marker, *reversed(kept))
        kept.append(turn)
        used += turn_tokens(turn)
    return tuple(reversed(kept))


def history_budget(request: ReplyRequest, system_prompt: str) -> int:
    """Tokens left for the history once the prompt, the reply and a margin are reserved."""
    margin = math.ceil(request.context_tokens * CONTEXT_SAFETY_MARGIN)
    return request.context_tokens - margin - request.max_tokens - estimate_tokens(system_prompt)


def prepare(request: ReplyRequest) -> tuple[str, tuple[Turn, ...]]:
    """The system prompt and windowed history every provider sends for ``request``."""
    system = build_system_prompt(request.persona, wind_down=request.wind_down)
    return system, window_history(request.history, history_budget(request, system))


def estimate_request_tokens(request: ReplyRequest) -> int:
    """Estimated input tokens of ``request``: system prompt plus windowed history.

    This is what the budget code reserves (together with ``max_tokens``) before
    a call. Never raises.
    """
    system, turns = prepare(request)
    return estimate_tokens(system) + sum(turn_tokens(turn) for turn in turns)


def to_chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """``turns`` as ``{"role", "content"}`` messages for chat APIs.

    Student turns become ``user``, client turns ``assistant``. Consecutive turns
    of one speaker are merged and a leading ``assistant`` message gets a user
    marker before it, because the Anthropic API wants roles to alternate and
    to start with ``user``.
    """
    messages: list[dict[str, str]] = []
    for turn in turns:
        role = "user" if turn.speaker == "student" else "assistant"
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n\n" + turn.text
        else:
            messages.append({"role": role, "content": turn.text})
    if messages and messages[0]["role"] == "assistant":
        messages.insert(0, {"role": "user", "content": OMITTED_MARKER})
    return messages
