"""Code a student's turn, or a whole transcript, with MITI 4.2.1 behaviour codes.

Deterministic and pure: no model, no I/O; the same text and context always
give the same code. A 1,000-turn transcript codes in well under a second.

**Utterances.** A turn is split into sentences and each is coded on its own
(:mod:`skills.utterance`). Consecutive sentences with the same behaviour are
one utterance, as MITI counts a run of stacked questions once: the run keeps
its last question's kind, "complex" if any of its reflections is complex, its
last input kind, and every flag of its sentences.

**The turn's main behaviour is its last utterance that is not "other"**
("Thanks. What happened next?" is a question); a turn of greetings and
"mm-hm"s is other. The last utterance is the one the client answers, so
"It sounds like you're stuck. What would help?" is a question, while "Who
do you go to? It sounds like you're carrying this alone." is a reflection.
Nothing is lost: ``question`` is the kind of the turn's last question,
``reflection`` is complex if any reflection in the turn is, ``flags`` are the
union, and the session metrics (:mod:`skills.metrics`) count utterances.

**Context** is the client's text since the student last spoke (or, for a
second student turn in a row, the client's last words before it): a
sentence is a reflection only against what the client said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from skills.phrases import AUTONOMY, grants_permission
from skills.text import ClientContext, normalise, split_sentences
from skills.utterance import UtteranceCode, code_utterance
from skills.vocabulary import Behaviour, Flag, InputKind, QuestionKind, ReflectionKind, Role


@dataclass(frozen=True, slots=True)
class TurnCode:
    """The code of one student turn; see the module docstring for the turn rule."""

    behaviour: Behaviour
    question: QuestionKind | None
    reflection: ReflectionKind | None
    input: InputKind | None
    flags: frozenset[Flag]
    utterances: tuple[UtteranceCode, ...]

    @property
    def affirmation(self) -> bool:
        return Flag.AFFIRMATION in self.flags

    @property
    def summary(self) -> bool:
        return Flag.SUMMARY in self.flags

    @property
    def empathy(self) -> bool:
        return Flag.EMPATHY in self.flags

    @property
    def judgement(self) -> bool:
        return Flag.JUDGEMENT in self.flags

    @property
    def advice_without_permission(self) -> bool:
        return Flag.ADVICE_WITHOUT_PERMISSION in self.flags

    @property
    def asks_about_secrets(self) -> bool:
        return Flag.ASKS_ABOUT_SECRETS in self.flags


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of a transcript; ``seq`` is the caller's identifier for it."""

    seq: int
    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class CodedTurn:
    seq: int
    text: str
    code: TurnCode


# The client's side of a turn is the same for whichever student turn answers it. A live
# session makes it when the client's reply ends (realtime.clientturns.after_reply), so the
# student's say finds it made: for the benchmark's 1,875-character replies 0.9-1.0 ms of
# the say's way to the model (normalising, splitting and stemming the reply, and the
# permission search over it; 300 different replies, measured alone). 1,024 replies of
# ~2 KB: a few MB at most.
@lru_cache(maxsize=1024)
def client_side(client_text: str | None) -> tuple[ClientContext | None, bool]:
    """What the coder reads of the client's turn: its context (None when it is empty) and
    whether it granted permission to advise."""
    client = ClientContext.of(client_text)
    return client, client is not None and grants_permission(client.text)


# A worker resuming a session's client state codes the last 10 turns again (~5 codings,
# 4 of them repeats: 27% of a worker's CPU under load when every say resumed). A say now
# resumes only on a worker that did not publish the latest state (realtime.clientmemo),
# and this memo serves those and the reports. Codes are immutable, so a memo is safe;
# 1,024 turns of up to 4,000 characters each is a few MB at worst.
@lru_cache(maxsize=1024)
def code_turn(text: str, previous_client_text: str | None) -> TurnCode:
    """Code one student turn given the client's turn before it (None at the start)."""
    client, granted = client_side(previous_client_text)
    permission = granted or AUTONOMY.search(normalise(text)) is not None
    sentences = [code_utterance(s, client, permission=permission) for s in split_sentences(text)]
    utterances = tuple(_merge_runs(sentences))
    main = next((u for u in reversed(utterances) if u.behaviour is not Behaviour.OTHER), None)
    questions = [u.question for u in utterances if u.question is not None]
    reflections = {u.reflection for u in utterances if u.reflection is not None}
    inputs = [u.input for u in utterances if u.input is not None]
    flags = frozenset(flag for u in utterances for flag in u.flags)
    return TurnCode(
        behaviour=main.behaviour if main is not None else Behaviour.OTHER,
        question=questions[-1] if questions else None,
        reflection=_strongest(reflections),
        input=inputs[-1] if inputs else None,
        flags=flags,
        utterances=utterances,
    )


def code_transcript(turns: Sequence[Turn]) -> list[CodedTurn]:
    """Code every student turn in order; client turns are context only."""
    coded: list[CodedTurn] = []
    client_said: list[str] = []
    last_role: Role | None = None
    for turn in turns:
        if turn.role is Role.CLIENT:
            if last_role is not Role.CLIENT:
                client_said = []
            client_said.append(turn.text)
        else:
            context = " ".join(client_said) if client_said else None
            coded.append(CodedTurn(turn.seq, turn.text, code_turn(turn.text, context)))
        last_role = turn.role
    return coded


def _strongest(kinds: set[ReflectionKind]) -> ReflectionKind | None:
    if ReflectionKind.COMPLEX in kinds:
        return ReflectionKind.COMPLEX
    return ReflectionKind.SIMPLE if kinds else None


def _merge_runs(sentences: Sequence[UtteranceCode]) -> list[UtteranceCode]:
    runs: list[UtteranceCode] = []
    for code in sentences:
        if runs and runs[-1].behaviour is code.behaviour:
            previous = runs[-1]
            runs[-1] = UtteranceCode(
                text=f"{previous.text} {code.text}",
                behaviour=code.behaviour,
                question=code.question or previous.question,
                reflection=_strongest(
                    {k for k in (previous.reflection, code.reflection) if k is not None}
                ),
                input=code.input or previous.input,
                flags=previous.flags | code.flags,
            )
        else:
            runs.append(code)
    return runs
