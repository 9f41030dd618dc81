"""Random valid session logs, with what each means, for the tests of the session fold
and of what folds it (:mod:`realtime.sessionview`, :mod:`realtime.follower`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hypothesis import strategies as st

from realtime.lifecycle import SessionStatus
from realtime.protocol import (
    BudgetEvent,
    MessageEvent,
    MessageRole,
    PresenceEvent,
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyErrorCode,
    ReplyStart,
    ReplyStop,
    Role,
    SequencedEvent,
    StatusEvent,
    Usage,
    decode_event,
    payload_json,
)

__all__ = ["Log", "Truth", "done", "interrupted", "session_logs"]


@dataclass
class Truth:
    """What the generator knows the log means, kept beside the events it writes."""

    open_texts: dict[str, str] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)
    ended: set[str] = field(default_factory=set)
    said: dict[str, int] = field(default_factory=dict)
    status: SessionStatus | None = None


@dataclass
class Log:
    events: list[SequencedEvent] = field(default_factory=list)
    truth: Truth = field(default_factory=Truth)

    def add(self, event: SequencedEvent) -> None:
        seq = len(self.events) + 1
        # Through the storage boundary, as every consumer sees events.
        self.events.append(decode_event(payload_json(event), seq))


STEPS = st.sampled_from(
    ["say", "delta", "delta", "delta", "stop", "done", "fail", "crash", "budget", "status",
     "presence", "whisper"]
)  # fmt: skip


@st.composite
def session_logs(draw: st.DrawFn) -> Log:
    """A valid log: one reply at a time, except that a crash leaves a reply open and the
    next say closes it as interrupted before starting its own (as the hub does)."""
    log = Log()
    truth = log.truth
    running: str | None = None
    for step in draw(st.lists(STEPS, min_size=1, max_size=60)):
        if step == "say" and running is None:
            for orphan, text in list(truth.open_texts.items()):
                log.add(interrupted(orphan, text))
                del truth.open_texts[orphan]
                truth.ended.add(orphan)
            client_id = draw(st.sampled_from(["a", "b", "c", "d"]))
            log.add(
                MessageEvent(
                    message_id=str(uuid.uuid4()),
                    role=MessageRole.STUDENT,
                    text="hi",
                    client_id=client_id,
                )
            )
            truth.said.setdefault(client_id, len(log.events))
            running = uuid.uuid4().hex
            log.add(ReplyStart(reply_id=running))
            truth.open_texts[running] = ""
        elif step == "delta" and running is not None:
            text = draw(st.text(min_size=1, max_size=5))
            log.add(ReplyDelta(reply_id=running, text=text))
            truth.open_texts[running] += text
        elif step == "stop" and running is not None and running not in truth.stopped:
            log.add(ReplyStop(reply_id=running, by=draw(st.sampled_from(list(Role)))))
            truth.stopped.add(running)
        elif step in ("done", "fail") and running is not None:
            text = truth.open_texts.pop(running)
            log.add(done(running, text) if step == "done" else interrupted(running, text))
            truth.ended.add(running)
            running = None
        elif step == "crash":
            running = None  # the worker died: its reply stays open in the log
        elif step == "budget":
            log.add(BudgetEvent(tokens_used=draw(st.integers(0, 99)), token_budget=100))
        elif step == "status":
            truth.status = draw(st.sampled_from(list(SessionStatus)))
            log.add(StatusEvent(status=truth.status))
        elif step == "presence":
            log.add(PresenceEvent(student_online=draw(st.booleans()), observers=1))
        elif step == "whisper":
            log.add(MessageEvent(message_id="w", role=MessageRole.WHISPER, text="psst"))
    return log


def done(reply_id: str, text: str) -> ReplyDone:
    usage = Usage(input_tokens=1, output_tokens=1)
    return ReplyDone(reply_id=reply_id, message_id=str(uuid.uuid4()), text=text, usage=usage)


def interrupted(reply_id: str, text: str) -> ReplyError:
    return ReplyError(reply_id=reply_id, code=ReplyErrorCode.INTERRUPTED, message="cut", text=text)
