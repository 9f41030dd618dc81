"""Reply planning (pure: no I/O, time passed in): what the provider is asked for the
student's next turn, before and after the budget reservation.

``plan_reply`` builds the request from the persona, the conversation so far and the
budgets: the history is windowed to what the model holds AND what the budget can still
pay for (oldest turns give way, with a marker, before the session runs dry), and past
``WIND_DOWN_PERCENT`` of either budget the client winds the conversation down in
character. ``fit_to_reservation`` freezes the history as estimated and caps the reply at
what the reservation granted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from llm.base import Persona, ReplyRequest, Turn
from llm.window import estimate_request_tokens, prepare
from realtime.budgets.policy import percent_spent, winding_down

__all__ = ["PlannedReply", "fit_to_reservation", "plan_reply"]


@dataclass(frozen=True, slots=True)
class PlannedReply:
    request: ReplyRequest
    #: Estimated input tokens: what the budget reserves besides ``max_tokens``.
    input_tokens: int


def plan_reply(
    *,
    persona: Persona,
    history: tuple[Turn, ...],
    text: str,
    model: str | None,
    tokens_used: int,
    token_budget: int,
    time_percent: float,
    reply_max_tokens: int,
    context_tokens: int,
    wind_down_percent: int,
) -> PlannedReply:
    """The request for a reply to the student's ``text`` after ``history``."""
    wind_down = winding_down(
        percent_spent(tokens_used, token_budget), time_percent, wind_down_percent
    )
    request = ReplyRequest(
        persona=persona,
        history=(*history, Turn("student", text)),
        max_tokens=reply_max_tokens,
        model=model,
        wind_down=wind_down,
        context_tokens=max(min(context_tokens, token_budget - tokens_used), 1),
    )
    return PlannedReply(request, estimate_request_tokens(request))


def fit_to_reservation(planned: PlannedReply, max_tokens: int) -> ReplyRequest:
    """The request as reserved: the history frozen as estimated (a lower ``max_tokens``
    must not let more history in) and the reply capped at ``max_tokens``."""
    _, windowed = prepare(planned.request)
    return dataclasses.replace(planned.request, history=windowed, max_tokens=max_tokens)
