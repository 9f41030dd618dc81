"""Persona integrity: does a client reply stay in the role, whichever provider wrote it?

Pure and deterministic (no model, no I/O): :func:`check_reply` looks at one finished reply
and returns an :class:`Integrity` with one :class:`Finding` (flag and reason) per problem.
The flags are evidence for the app (log, count, retry or show to the teacher), not a verdict.

Rules, one per :class:`IntegrityFlag`:

- ``speaks_as_ai``: the reply talks as an AI or assistant ("as an AI", "I'm a language
  model", "How can I assist you", "I cannot help with that") or steps out of the role-play
  ("stay in character", "system prompt", "hidden facts", "simulated client"). Denying it in
  character ("I'm not a robot, you know") or naming an AI product ("I talk to ChatGPT") is fine.
- ``counsels_student``: role reversal. A counsellor's stock phrase aimed at the student
  ("how does that make you feel", "it sounds like you're feeling", "your feelings are
  valid"), or advice to the student ("you should", "have you tried") about their wellbeing
  (journaling, breathing, stress, support). Reported advice ("my therapist said I should try
  journaling", "she keeps telling me 'you need to rest'") and quoted speech do not count.
- ``quotes_prompt``: :data:`PROMPT_QUOTE_WORDS` consecutive words of the system prompt,
  leaving out the opening line and the unlocked facts, which the client is meant to say.
- ``leaks_locked_fact``: the reply tells a fact the app has not unlocked (:func:`mentions_fact`).
- ``third_person``: the persona's name as the subject of a verb ("Sam feels", "Maria sighs",
  "Sam's been"), a script label ("Sam: ..."), or "the client" as a subject. Quoted speech and
  sentences about the name ("Grace was my grandmother's name") are fine, as is "I'm Sam".
- ``empty``: no words at all. ``too_long``: more than ``max_chars`` characters.
- ``repetitive``: a degenerate loop: one word :data:`WORD_RUN_LIMIT` times in a row, one
  sentence :data:`SENTENCE_REPEAT_LIMIT` times, or the same run of words repeated
  (:data:`LOOP_SPANS`).

A locked fact leaks by the rule of :mod:`llm.integrity_facts` (:func:`mentions_fact`), the
same rule by which the live client state marks an unlocked fact disclosed.
Measured on ``tests/llm/integrity_replies.jsonl``: see that test's docstring.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from llm.base import HiddenFact, Persona
from llm.integrity_facts import (
    content_stems,
    match_fact,
    mentions_fact,
    normalise,
    read,
    words,
)
from textprep import straight_quotes
from textprep.prefilter import Prefiltered

__all__ = [
    "Finding",
    "Integrity",
    "IntegrityFlag",
    "check_reply",
    "content_stems",
    "mentions_fact",
]

#: Eight identical words in a row are no coincidence of phrasing: the longest run a
#: first-person paraphrase of a third-person background shares with it is about six.
PROMPT_QUOTE_WORDS = 8
#: "No. No. No." is emphasis; six of one word in a row is a stuck decoder.
WORD_RUN_LIMIT = 6
#: An upset client may say "I don't know" three times; a fourth time is a loop.
SENTENCE_REPEAT_LIMIT = 4
#: (span length in words, occurrences): anaphora repeats three or four words, a loop
#: repeats six words three times or twelve words twice.
LOOP_SPANS = ((6, 3), (12, 2))
_SHORTEST_LOOP = min(length for length, _ in LOOP_SPANS)


class IntegrityFlag(StrEnum):
    SPEAKS_AS_AI = "speaks_as_ai"
    COUNSELS_STUDENT = "counsels_student"
    QUOTES_PROMPT = "quotes_prompt"
    LEAKS_LOCKED_FACT = "leaks_locked_fact"
    THIRD_PERSON = "third_person"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    REPETITIVE = "repetitive"


@dataclass(frozen=True, slots=True)
class Finding:
    flag: IntegrityFlag
    #: For people (logs, the teacher's view): what was found, with the words that show it.
    reason: str


@dataclass(frozen=True, slots=True)
class Integrity:
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def flags(self) -> frozenset[IntegrityFlag]:
        return frozenset(finding.flag for finding in self.findings)


_SENTENCE_END = re.compile(r"[.!?][\"')\]*]*\s+")
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]*]*\s+|[^\S\n]*\n\s*")
# A quoted span: opens at a quote mark not inside a word, closes at one not followed by a letter.
_QUOTED = re.compile(r"\"[^\"]*\"|(?<![A-Za-z])'.*?'(?![A-Za-z])")


def _set_of(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _any(*patterns: str) -> Prefiltered:
    # ASCII: the rules read normalised English, and ASCII word boundaries halve the scan
    # (a 1,875-character reply: _ADVICE_TO_YOU 1.20 -> 0.43 ms, _AI 0.52 -> 0.25 ms).
    # Prefiltered: a reply holding none of the strings a match needs is not scanned at
    # all (_AI 115 -> 27 us, _ADVICE_TO_YOU 32 -> 13 us).
    return Prefiltered("|".join(f"(?:{p})" for p in patterns), re.ASCII)


_AI = _any(
    r"\bas an? (ai|artificial intelligence|(large )?language model|llm|chatbot|bot|virtual "
    r"(client|assistant)|digital assistant|ai \w+)\b",
    r"\bi am (just |only |merely |simply |actually )?(an? )?(ai|artificial intelligence|"
    r"(large )?language model|llm|chatbot|computer program|ai (language )?model|ai assistant|"
    r"virtual assistant|digital assistant)\b",
    r"\b(developed|created|made|built|trained) by (openai|anthropic|google|meta|microsoft)\b",
    r"\b(training data|knowledge cut-?off|programmed to)\b",
    r"\bi do not have (personal experiences|a (physical )?body|the ability to (feel|experience))",
    r"\bhow (can|may) i (help|assist) you\b|\banything else i can (help|assist) (you )?with\b",
    # A person says "I can't help you with that"; a refusal template drops the "you".
    r"\bi (can not|am unable to|am not able to|will not) (help with (that|this)|assist( you)? "
    r"with|provide (that|this|you with))\b|\bmy (guidelines|content policy)\b",
    r"\bpretend to be (a )?(person|human|real)\b",
    r"\bi am (here|happy|glad) to (help|assist)( you)?\s*(practi[cs]e|with|[.!?]|$)",
    r"\brole-?play|\bsystem prompt\b|\bmy (system )?instructions\b|\bhidden facts?\b",
    r"\bclient profile\b|\b(out of|break|breaking|stay|staying|remain) (in )?character\b",
    r"\b(simulated|virtual|fictional) (client|patient|character|persona|scenario)\b",
    r"\bhere is (how|what) \w+ (might|would|could) (respond|reply|answer|say)\b",
)
_COUNSEL = _any(
    r"\bhow (does|did|do) (that|this|it) make you feel\b",
    r"\bit sounds like you (are|have been|were) (feeling|going through|dealing with|"
    r"struggling|carrying|under)\b",
    r"\bi (hear|can hear|can see|sense) (that )?you (are|have been) (feeling|struggling|"
    r"finding|going through|carrying|dealing)\b",
    r"\byour feelings are (valid|understandable|normal|okay)\b",
    r"\bit is (completely |totally |perfectly |very |so )?(okay|ok|alright|normal|natural|"
    r"understandable|valid) (for you to|to feel|that you (feel|are feeling))\b",
    r"\bbe (gentle|kind|patient|easy) (with|on|to) yourself\b|\bdo not be (so |too )?hard on "
    r"yourself\b",
    r"\bcoping (strategies|skills|mechanisms)\b.*\byou\b|\bdo you have (any )?support\b",
    r"\blet us explore\b|\bwhat comes up for you\b|\btake all the time you need\b",
    r"\bwhat would help you (to )?feel\b",
)
_ADVICE_TO_YOU = _any(
    r"\byou (should|could|might want to|may want to|need to|ought to|must|have to)\b",
    r"\bhave you (tried|considered|thought about)\b|\bwhy (do not|not) you\b",
    r"\bi (would |really )?(suggest|recommend|encourage|urge) (that )?you\b",
    r"\bit (might|may|could|would|will) help you\b|\bit is important (for you )?to\b",
    r"\bmake sure (you|to)\b|\bremember to\b",
    r"\byou (might|may|could|will) find it (helpful|useful)\b",
)
# Advice opening the sentence ("Maybe try journaling"), matched at its start only: as a
# branch of _ADVICE_TO_YOU anchored with ``^``, it made re try every branch at every
# position, 0.175 against 0.033 ms for a 1,875-character reply. No branch there can
# match where this one does (their first words differ), so trying it first finds the
# same leftmost advice.
_ADVICE_OPENING = re.compile(r"(maybe |perhaps |just )?(try|give yourself)\b", re.ASCII)
_WELLBEING = re.compile(
    r"\b(journal\w*|mindful\w*|meditat\w*|breath\w*|self-?care|therap\w*|counsell?or|"
    r"counsell?ing|professional help|support\w*|cope|coping|relax\w*|rest|sleep|stress\w*|"
    r"anxi\w*|overwhelm\w*|look after yourself|take care of yourself|reach(ing)? out|"
    r"talk(ing)? to (someone|somebody|a professional|your (tutor|supervisor|lecturer|gp))|"
    r"take a break|your (own )?(feelings|wellbeing|mental health|health))\b",
    re.ASCII,
)
# Advice that the client reports being given is not advice to the student.
_REPORTED = re.compile(
    r"\b(said|says|say|told|tells|telling|suggested|suggests|reckons|keeps saying|used to say)\b",
    re.ASCII,
)
_THIRD_PERSON_WORDS = _set_of(
    """is was has had does did would will can could should might may must is not was not
    never always just really also still then seems seemed feels felt wants wanted thinks
    thought looks looked says said sighs pauses shrugs hesitates nods doesn't isn't wasn't
    hasn't didn't won't can't wouldn't couldn't"""
)
_THE_CLIENT = re.compile(
    r"\bthe client (is|was|seems|seemed|would|will|feels|felt|says|said|has|had|appears|looks|"
    r"pauses|sighs|might|may|does|did|can|could)\b",
    re.IGNORECASE,
)
_NAMING = re.compile(r"\b(name|named|call me|called|calls me|Mrs|Mr|Ms|Miss)\b")


def _sentences(text: str) -> list[str]:
    """``text`` split where a sentence ends: after . ! or ? (and any closing quotes or
    brackets) before a space, or at a line break; each piece keeps its end mark."""
    text = text.strip()
    if "\n" not in text and "." not in text and "!" not in text and "?" not in text:
        return [text] if text else []  # a short chat line, or the benchmark's replies
    # A pattern that starts at the end mark lets re skip to the next . ! or ? (a
    # lookbehind is tried at every position: 112 against 36 us for 1,875 characters);
    # the line-break branch, which may start anywhere, only where a break is.
    breaks = _SENTENCE_END if "\n" not in text else _SENTENCE_BREAK
    pieces, start = [], 0
    for found in breaks.finditer(text):
        cut = found.start() + 1 if text[found.start()] in ".!?" else found.start()
        pieces.append(text[start:cut])
        start = found.end()
    pieces.append(text[start:])
    return [piece for piece in pieces if piece.strip()]


def _unquoted(text: str) -> str:
    """``text`` with its quoted spans blanked out (a scan only where a quote can be)."""
    return _QUOTED.sub(" ", text) if '"' in text or "'" in text else text


@lru_cache(maxsize=256)
def _narrating(first: str) -> Prefiltered:
    """Narrating the persona (first name ``first``, escaped) from outside: "As Maria, I
    would say...", "the character Jay". Made once a name: a prefilter parses it."""
    return Prefiltered(rf"\bas {first},? i (would|might|will)\b|\bthe character (of )?{first}\b")


def _speaks_as_ai(said: str, persona: Persona) -> str | None:
    first = re.escape(normalise(persona.name).partition(" ")[0])
    match = _AI.search(said) or (_narrating(first).search(said) if first else None)
    # A client called Ai ("I'm Ai") is introducing herself.
    if match is None or (first and match.group(0).startswith(f"i am {first}")):
        return None
    return f"speaks as an AI or outside the role-play: {match.group(0)!r}"


def _counsels(sentences: Sequence[str]) -> str | None:
    for sentence in sentences:
        said = normalise(_unquoted(sentence))
        if match := _COUNSEL.search(said):
            return f"counsels the student: {match.group(0)!r}"
        advice = _ADVICE_OPENING.match(said) or _ADVICE_TO_YOU.search(said)
        topic = _WELLBEING.search(said) if advice else None
        if advice and topic and not _REPORTED.search(said[: advice.start()]):
            wording = f"{advice.group(0)!r} ... {topic.group(0)!r}"
            return f"advises the student on their wellbeing: {wording}"
    return None


def _quotes_prompt(
    said: str, said_words: Sequence[str], persona: Persona, system_prompt: str
) -> str | None:
    allowed = [persona.opening_line]
    allowed += [text for fact in persona.hidden_facts for text in (fact.fact, fact.disclosure)]
    full = normalise(persona.name)
    first = full.partition(" ")[0]
    spans = _prompt_spans(system_prompt, tuple(allowed), full, first)
    # Split again only when the name is there to shorten.
    tokens = _words_of(said, full, first) if full and full in said else said_words
    for i in range(len(tokens) - PROMPT_QUOTE_WORDS + 1):
        if (span := tuple(tokens[i : i + PROMPT_QUOTE_WORDS])) in spans:
            return f"quotes the system prompt: {' '.join(span)!r}"
    return None


# The same system prompt is checked against every reply of a session (it changes only when
# a fact unlocks or the teacher directs): its spans, ~500 of them, are made once.
@lru_cache(maxsize=256)
def _prompt_spans(
    system_prompt: str, allowed: tuple[str, ...], full: str, first: str
) -> frozenset[tuple[str, ...]]:
    """The prompt's word spans a reply may not repeat: all but those of what the client
    may say anyway (its opening line, its facts)."""
    n = PROMPT_QUOTE_WORDS
    spans = _spans(_words_of(normalise(system_prompt), full, first), n)
    spans -= {
        span for text in allowed for span in _spans(_words_of(normalise(text), full, first), n)
    }
    return frozenset(spans)


def _words_of(normalised: str, full: str, first: str) -> list[str]:
    # A quote often shortens "Sam Taylor" to "Sam": compare with the first name only.
    return words(normalised.replace(full, first) if full else normalised)


def _spans(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _third_person(reply: str, persona: Persona) -> str | None:
    if match := _THE_CLIENT.search(reply):
        return f"talks about itself in the third person: {match.group(0)!r}"
    first = persona.name.split()[0] if persona.name.strip() else ""
    straight = straight_quotes(reply)
    # Clients seldom say their own name: a reply without it has no sentence to split and
    # scan (0.13 of a 0.60 ms check of a 1,875-character reply). Exact: every match
    # below starts with one of these names, and quoting out only takes text away.
    names = {n for n in (persona.name.strip(), first) if n and n in straight}
    if not names:
        return None
    spelled = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    subject = re.compile(rf"(?<![\w'])(?:{spelled})(?:('s)\b|\s*(:)|\s+([\w']+))")
    for sentence in _sentences(_unquoted(straight)):
        if _NAMING.search(sentence):
            continue
        for match in subject.finditer(sentence):
            possessive, label, after = match.groups()
            label_at_start = label is not None and match.start() == 0
            if possessive or label_at_start or (after is not None and _verb_like(after)):
                return f"talks about itself in the third person: {match.group(0).strip()!r}"
    return None


def _verb_like(word: str) -> bool:
    lowered = word.lower()
    if lowered in _THIRD_PERSON_WORDS:
        return True
    return (
        word.islower()
        and len(word) > 3
        and ((word.endswith("s") and not word.endswith("ss")) or word.endswith("ed"))
    )


def _repetitive(said: str, tokens: Sequence[str]) -> str | None:
    run = 1
    for previous, word in itertools.pairwise(tokens):
        run = run + 1 if word == previous else 1
        if run >= WORD_RUN_LIMIT:
            return f"repeats {word!r} {run} times in a row"
    sentences = Counter(" ".join(words(s)) for s in _sentences(said))
    for sentence, count in sentences.items():
        if sentence and count >= SENTENCE_REPEAT_LIMIT:
            return f"repeats the sentence {sentence!r} {count} times"
    for length, times in LOOP_SPANS:
        # zip builds the spans in C: 5x faster than slicing, for the same spans in order.
        spans = Counter(zip(*(tokens[k:] for k in range(length)), strict=False))
        for span, count in spans.items():
            if count >= times:
                return f"loops: {' '.join(span)!r} {count} times"
        if length == _SHORTEST_LOOP and max(spans.values(), default=0) < 2:
            # A longer span that repeats repeats its first words too: none repeats.
            return None
    return None


def check_reply(
    reply_text: str,
    persona: Persona,
    *,
    locked_facts: Sequence[HiddenFact],
    system_prompt: str,
    max_chars: int,
) -> Integrity:
    """Check one finished reply of ``persona``'s client (the rules in the module docstring).

    ``persona`` is the one the reply was asked for (its ``hidden_facts`` are the unlocked
    ones), ``system_prompt`` the prompt it was given. Never raises.
    """
    # Normalised and split once for every rule (each did it again: ~0.4 ms a time for a
    # 1,875-character reply), and memoised for the disclosure check and the topic window
    # that read the reply next. Spelling contractions out keeps every word a word, so no
    # words here is no words in the reply.
    said, said_words = read(reply_text)
    if not said_words:
        return Integrity((Finding(IntegrityFlag.EMPTY, "the reply has no words"),))
    found: list[Finding] = []

    def note(flag: IntegrityFlag, reason: str | None) -> None:
        if reason is not None:
            found.append(Finding(flag, reason))

    note(IntegrityFlag.SPEAKS_AS_AI, _speaks_as_ai(said, persona))
    note(IntegrityFlag.COUNSELS_STUDENT, _counsels(_sentences(reply_text)))
    note(IntegrityFlag.QUOTES_PROMPT, _quotes_prompt(said, said_words, persona, system_prompt))
    stems = content_stems(reply_text)  # memoised: the disclosure check reads it next
    for fact in locked_facts:
        if match := match_fact(fact, stems):
            shared = ", ".join(sorted(match.shared))
            note(IntegrityFlag.LEAKS_LOCKED_FACT, f"tells a locked fact ({fact.fact!r}): {shared}")
    note(IntegrityFlag.THIRD_PERSON, _third_person(reply_text, persona))
    if len(reply_text) > max_chars:
        note(IntegrityFlag.TOO_LONG, f"{len(reply_text)} characters, over {max_chars}")
    note(IntegrityFlag.REPETITIVE, _repetitive(said, said_words))
    return Integrity(tuple(found))
