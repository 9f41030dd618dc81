"""Hidden-fact coverage: what came out, when, and what might have reached the rest.

For a fact that stayed hidden the first matching row of this table names one
kind of move, from the fact's topics and the student's coded turns:

1. the client's trust is known and fell short of the fact's      -> more trust
2. the student probed for it directly ("what are you hiding?")   -> more trust
3. the student touched the topic only with closed questions      -> an open question
4. the student touched the topic (open question or reflection)   -> a complex reflection
   and the client answered without telling                          of the client's answer
5. the client hinted at the topic and the student moved on       -> a complex reflection
                                                                     of the hint
6. it never came up, the fact needs high trust and the student   -> more trust
   reflected less than they asked
7. it never came up                                              -> an open question

A turn touches a topic when it holds every word of it (by stem, so "funerals"
touches "funeral"). Pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from evaluation.results import quote_of
from evaluation.transcript import FactRecord, Turn
from skills import Behaviour, CodedTurn, Metric, QuestionKind, Role, Threshold
from skills.lexicon import FEELING_WORDS, STOPWORDS
from skills.text import normalise, split_sentences, stem, words

__all__ = [
    "COVERAGE_SHARE",
    "HIGH_TRUST",
    "FactCoverage",
    "Move",
    "coverage_metric",
    "fact_coverage",
    "topic_words",
]

#: Share of hidden facts disclosed: half is fair, three in four good. No published
#: benchmark exists; profiles hold 3 to 5 facts, the last usually needing high
#: trust, so a good interview reaches all but about one of them.
COVERAGE_SHARE = Threshold(fair=0.5, good=0.75)
#: Trust (0 to 100) from which a fact is "deep": llm.base.HiddenFact defaults
#: to 50, so 70 is a fact the teacher deliberately set well above the default.
HIGH_TRUST = 70
#: Client words quoted in a suggestion: a short phrase, not the reply.
_HINT_CHARS = 60
_NUMBER_WORDS = frozenset(
    {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
    | {"twenty", "thirty", "years", "months", "weeks", "days"}
)


class Move(StrEnum):
    OPEN_QUESTION = "open_question"
    COMPLEX_REFLECTION = "complex_reflection"
    MORE_TRUST = "more_trust"


@dataclass(frozen=True, slots=True)
class FactCoverage:
    """One hidden fact: disclosed at ``disclosed_seq`` (reached by the student turn
    ``reached_by`` just before it), or not, with the ``move`` that might have reached
    it and a ``suggestion`` in plain words; ``seqs`` are the turns the suggestion cites."""

    index: int
    fact: str
    disclosed_seq: int | None
    reached_by: int | None = None
    move: Move | None = None
    suggestion: str = ""
    seqs: tuple[int, ...] = ()


def fact_coverage(
    turns: Sequence[Turn],
    facts: Sequence[FactRecord],
    coded: Sequence[CodedTurn],
    *,
    trust_reached: int | None = None,
) -> tuple[FactCoverage, ...]:
    """Coverage of every fact, in the profile's order. ``trust_reached`` is the highest
    trust of the session (from its ``client.state`` events) when known."""
    student_seqs = [t.seq for t in turns if t.role is Role.STUDENT]
    out: list[FactCoverage] = []
    for fact in sorted(facts, key=lambda f: f.index):
        if fact.disclosed_seq is not None:
            before = [seq for seq in student_seqs if seq < fact.disclosed_seq]
            reached_by = before[-1] if before else None
            out.append(FactCoverage(fact.index, fact.fact, fact.disclosed_seq, reached_by))
        else:
            move, suggestion, seqs = _suggest(turns, fact, coded, trust_reached)
            out.append(FactCoverage(fact.index, fact.fact, None, None, move, suggestion, seqs))
    return tuple(out)


def coverage_metric(coverage: Sequence[FactCoverage]) -> Metric:
    """Share of facts disclosed, as a skills ``Metric``; seqs are the disclosing replies."""
    seqs = tuple(sorted(c.disclosed_seq for c in coverage if c.disclosed_seq is not None))
    if not coverage:
        return Metric(None, seqs, COVERAGE_SHARE)
    value = len(seqs) / len(coverage)
    return Metric(value, seqs, COVERAGE_SHARE, COVERAGE_SHARE.level(value))


def topic_words(fact: FactRecord) -> tuple[str, ...]:
    """The fact's topics, or when the teacher gave none, its first telling word."""
    if fact.topics:
        return tuple(t.strip() for t in fact.topics if t.strip())
    for word in words(normalise(fact.fact)):
        plain = len(word) >= 4 and word not in STOPWORDS and word not in _NUMBER_WORDS
        if plain and not word.endswith(("ed", "ing")) and not word.isdigit():
            return (word,)
    return ()


def _suggest(
    turns: Sequence[Turn],
    fact: FactRecord,
    coded: Sequence[CodedTurn],
    trust_reached: int | None,
) -> tuple[Move, str, tuple[int, ...]]:
    topics = topic_words(fact)
    about = _either(topics) or "what the client has not said yet"
    trust_advice = "More trust first: reflections and affirmations before asking about " + about
    if trust_reached is not None and trust_reached < fact.trust_needed:
        reason = f"it needed trust {fact.trust_needed} and the session reached {trust_reached}."
        return Move.MORE_TRUST, f"{trust_advice}; {reason}", ()
    touches = [c for c in coded if _touches(c.text, topics)]
    probes = [c.seq for c in touches if c.code.asks_about_secrets]
    if probes:
        reason = f"the direct probe at seq {probes[0]} makes a client more guarded."
        return Move.MORE_TRUST, f"{trust_advice}; {reason}", (probes[0],)
    questions = [c for c in touches if c.code.behaviour is Behaviour.QUESTION]
    if touches and questions == touches and all(_closed(c) for c in questions):
        return (
            Move.OPEN_QUESTION,
            f"An open question about {about}: the closed question at seq {questions[-1].seq} "
            "could be answered with a yes or a no.",
            (questions[-1].seq,),
        )
    feeling = next((t for t in topics if t.lower() in FEELING_WORDS), "feeling")
    if touches:
        answer = _next_client(turns, touches[-1].seq)
        if answer is not None:
            return (
                Move.COMPLEX_REFLECTION,
                f'A complex reflection of the {feeling} under "{_hint(answer.text, topics)}" '
                f"(seq {answer.seq}): say what the client may feel but has not said.",
                (touches[-1].seq, answer.seq),
            )
    hint = next((t for t in turns if t.role is Role.CLIENT and _touches(t.text, topics)), None)
    if hint is not None:
        return (
            Move.COMPLEX_REFLECTION,
            f'A complex reflection of the {feeling} under "{_hint(hint.text, topics)}" '
            f"(seq {hint.seq}): "
            "the client touched on it and the conversation moved on.",
            (hint.seq,),
        )
    asked = sum(1 for c in coded for u in c.code.utterances if u.behaviour is Behaviour.QUESTION)
    reflected = sum(
        1 for c in coded for u in c.code.utterances if u.behaviour is Behaviour.REFLECTION
    )
    if fact.trust_needed >= HIGH_TRUST and reflected < asked:
        reason = (
            f"this needs high trust ({fact.trust_needed}) and the session had "
            f"{_count(reflected, 'reflection')} for {_count(asked, 'question')}."
        )
        return Move.MORE_TRUST, f"{trust_advice}; {reason}", ()
    return Move.OPEN_QUESTION, f"An open question about {about}: it never came up.", ()


def _touches(text: str, topics: Sequence[str]) -> bool:
    said = {stem(word) for word in words(normalise(text))}
    for topic in topics:
        needed = {stem(word) for word in words(normalise(topic))}
        if needed and needed <= said:
            return True
    return False


def _closed(turn: CodedTurn) -> bool:
    return all(
        u.question is QuestionKind.CLOSED
        for u in turn.code.utterances
        if u.behaviour is Behaviour.QUESTION
    )


def _next_client(turns: Sequence[Turn], after: int) -> Turn | None:
    return next((t for t in turns if t.seq > after and t.role is Role.CLIENT), None)


def _hint(text: str, topics: Sequence[str]) -> str:
    """The client's sentence on the topic, else their longest, the last of equals
    ("No. I'm fine. Really." -> "I'm fine.")."""
    sentences = split_sentences(text) or [text]
    on_topic = [s for s in sentences if _touches(s, topics)]
    if on_topic:
        return quote_of(on_topic[-1], _HINT_CHARS)
    longest = max(reversed(sentences), key=lambda s: len(words(normalise(s))))
    return quote_of(longest, _HINT_CHARS)


def _either(topics: Sequence[str]) -> str:
    shown = list(topics[:3])
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
