"""How a reply ends (pure): the ``reply.done`` or ``reply.error`` its outcome stands for,
and the withdrawal of a reply the persona checks flagged (``REPLY_INTEGRITY=regenerate``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from llm.base import Failed
from llm.base import Usage as LlmUsage
from realtime.events import ReplyDone, ReplyError, Usage, failure_code
from realtime.vocabulary import ReplyErrorCode

__all__ = ["STAY_IN_ROLE", "UNAVAILABLE", "Outcome", "end_event", "withdrawn"]

UNAVAILABLE = "The client is unavailable right now, try again."


@dataclass
class Outcome:
    kind: Literal["done", "stopped", "failed"]
    failure: Failed | None = None
    usage: LlmUsage | None = None


#: The direction a withdrawn reply's retry gets on top of the teacher's.
STAY_IN_ROLE = (
    "Your last answer stepped out of the role. Answer again as the client only: in the "
    "first person, in your own words, without advising the student or mentioning an AI."
)


def withdrawn(reply_id: str) -> ReplyError:
    """The end of a reply the persona checks withdrew; its retry follows at once."""
    return ReplyError(
        reply_id=reply_id,
        code=ReplyErrorCode.WITHDRAWN,
        message="The client is rephrasing that answer.",
        text="",
    )


def end_event(
    reply_id: str, text: str, outcome: Outcome, input_tokens: int, output_tokens: int
) -> ReplyDone | ReplyError:
    message_id = str(uuid.uuid4())
    if outcome.kind in ("done", "stopped"):
        return ReplyDone(
            reply_id=reply_id,
            message_id=message_id,
            text=text,
            usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
            stopped=outcome.kind == "stopped",
        )
    failure = outcome.failure or Failed("internal", UNAVAILABLE)
    return ReplyError(
        reply_id=reply_id,
        code=failure_code(failure.code),
        message=failure.message,
        message_id=message_id if text else None,
        text=text,
    )
