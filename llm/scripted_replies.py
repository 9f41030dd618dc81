"""What the scripted client says: a pure, deterministic function of the request.

Used by :class:`llm.scripted.ScriptedProvider`. No model is involved. The reply
to the student's latest turn is planned from what the student did
(:mod:`llm.scripted_moves`), the profile said in the first person
(:mod:`llm.scripted_profile`), the unlocked facts in the request, and the
style's voice (:mod:`llm.scripted_voices`, :mod:`llm.scripted_phrases`); then
worded by :func:`llm.scripted_pick.pick`, which never says a whole reply twice.
The random choices are seeded from the persona and the history, so the same
conversation always gets the same replies.

Precedence: a role-break attempt gets an in-character refusal; the first reply is
a greeting and the opening line; a probe for secrets, a goodbye or a topic the
client avoids gets its own answer and never a fact; judgement gets
defensiveness, advice "yes, but"; otherwise at most one unlocked fact, else an
answer from the profile (a closed question a short one, a reflection more
detail). ``wind_down`` adds a line about having to go soon.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from dataclasses import dataclass

from llm.base import Persona, ReplyRequest
from llm.scripted_moves import StudentTurn, is_role_break, is_secret_probe, read_turn
from llm.scripted_person import Referent, first_person, referent_of
from llm.scripted_phrases import (
    AVOID,
    CLOSING,
    GREET,
    OPENING,
    PROBE,
    REGREET,
    ROLE_BREAK,
    WIND_DOWN,
)
from llm.scripted_pick import Memory, Slot, join, pick
from llm.scripted_profile import (
    Line,
    fact_to_tell,
    is_about,
    open_facts,
    profile_lines,
    ranked,
    relevant,
)
from llm.scripted_text import content_stems, normalise
from llm.scripted_tone import Tone, tone_of
from llm.scripted_voices import (
    AGREE,
    BRIDGE,
    CALLBACKS,
    CONFIDE,
    CONFIDED,
    DEFEND,
    ECHO,
    MORE,
    MUSINGS,
    NOT_SURE,
    OPEN,
    SHORT,
    SIDE_TOPICS,
    TAIL,
    TEARFUL,
    UNSURE,
    YES_BUT,
    Pool,
    voice,
)

__all__ = ["compose_reply", "is_role_break", "is_secret_probe"]

# A closed question asking for a fact, not a yes or no ("How long...?", "Where...?").
_ASKS_WHICH = re.compile(r"\b(how (long|many|much|often|old)|when|where|which|who)\b")
_GREETING_START = re.compile(r"^(hi|hello|hey|hiya|good (morning|afternoon|evening))\b", re.I)
# Profile lines in one answer by style; reflections get one more, difficulty shifts it.
_LINES = {"plain": 1, "upset": 1, "verbose": 2, "reserved": 1, "tangent": 1, "pleasing": 1}


@dataclass(frozen=True, slots=True)
class _Context:
    persona: Persona
    tone: Tone
    who: Referent
    turn: StudentTurn
    memory: Memory
    rng: random.Random

    def pool(self, pool: Pool) -> tuple[str, ...]:
        """The style's alternatives, with the names filled in."""
        alternatives = voice(pool, self.tone.style)
        if not self.turn.student_name:
            alternatives = tuple(a for a in alternatives if "{student}" not in a) or ("",)
        return tuple(
            a.replace("{name}", self.persona.name).replace("{student}", self.turn.student_name)
            for a in alternatives
        )

    def optional(self, pool: Pool) -> Slot:
        return Slot(("", *self.pool(pool)))


def compose_reply(request: ReplyRequest) -> str:
    """The whole reply text the scripted client gives to ``request``. Never raises."""
    persona = request.persona
    client_turns = [turn.text for turn in request.history if turn.speaker == "client"]
    latest = next((t.text for t in reversed(request.history) if t.speaker == "student"), "")
    context = _Context(
        persona,
        tone_of(persona),
        referent_of(persona),
        read_turn(latest),
        Memory.of(client_turns),
        _seeded(request),
    )
    slots = _reply(context) if client_turns else _first_reply(context)
    if request.wind_down and context.turn.move != "closing":
        slots.append(Slot(context.pool(WIND_DOWN)))
    return pick(slots, context.memory, context.rng)


def _seeded(request: ReplyRequest) -> random.Random:
    digest = hashlib.sha256(repr((request.persona, request.history)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _first_reply(c: _Context) -> list[Slot]:
    if c.turn.move == "role_break":
        return [Slot(c.pool(ROLE_BREAK))]
    opening = c.persona.opening_line.strip()
    slots = []
    if c.turn.greeted and not _GREETING_START.match(opening):
        slots.append(Slot(c.pool(GREET)))
    if opening:
        return [*slots, Slot((opening,))]
    slots.append(Slot(c.pool(OPENING)))
    problem = [line.text for line in _lines(c) if line.field == "problem"]
    if problem and c.tone.style in ("plain", "verbose", "pleasing"):
        slots.append(Slot((problem[0],)))
    return slots


def _reply(c: _Context) -> list[Slot]:
    move = c.turn.move
    if move == "role_break":
        return [Slot(c.pool(ROLE_BREAK))]
    if move == "secret_probe":  # never a fact, however the probe is framed
        return [Slot(c.pool(PROBE)), c.optional(TAIL)]
    if move == "closing":
        return [Slot(c.pool(CLOSING))]
    topic = _avoided_topic(c)
    if topic:
        return [Slot(tuple(a.replace("{topic}", topic) for a in c.pool(AVOID))), c.optional(TAIL)]
    if move == "greeting":
        return [Slot(c.pool(REGREET))]
    lines = _lines(c)
    if move in ("judgement", "advice"):
        reaction = Slot(c.pool(DEFEND if move == "judgement" else YES_BUT))
        if c.tone.style == "reserved" or not lines:
            return [reaction]
        related = [line for line in lines if relevant(line, c.turn)]
        return [reaction, _content(c, related, 1, optional=True)]
    fact = fact_to_tell(open_facts(c.persona, c.who, c.memory.text), c.turn, c.tone.difficulty)
    if fact is not None:
        return _confide(c, fact)
    if move == "closed_question":
        return _short_answer(c, lines)
    return _answer(c, lines)


def _lines(c: _Context) -> list[Line]:
    return ranked(profile_lines(c.persona, c.who), c.turn, c.memory.sentences)


def _avoided_topic(c: _Context) -> str:
    """The avoided topic the turn raises, as the client names it ("my sister"), or ""."""
    said = content_stems(c.turn.text, aliases=False)
    for topic in c.persona.avoid:
        if content_stems(topic, aliases=False) & said:
            spoken = first_person(topic, c.who, "topic").rstrip(".!?")
            return spoken if spoken.startswith(("I ", "I'")) else spoken[:1].lower() + spoken[1:]
    return ""


def _confide(c: _Context, fact: str) -> list[Slot]:
    tearful = Slot(("", *TEARFUL)) if c.tone.tearful else Slot(("",))
    if c.tone.style == "reserved":
        return [Slot(c.pool(CONFIDE)), Slot((fact,)), tearful]
    warm = c.turn.warm or c.turn.move in ("reflection", "empathy")
    lead = c.optional(AGREE if warm else OPEN)
    return [lead, Slot(c.pool(CONFIDE)), Slot((fact,)), Slot(c.pool(CONFIDED)), tearful]


def _short_answer(c: _Context, lines: list[Line]) -> list[Slot]:
    matching = [line for line in lines if relevant(line, c.turn)]
    if not matching:
        talkative = c.tone.style in ("verbose", "pleasing", "upset")
        unsure = NOT_SURE if _ASKS_WHICH.search(normalise(c.turn.text)) else UNSURE
        return [Slot(c.pool(unsure)), *([c.optional(TAIL)] if talkative else [])]
    if c.tone.style == "reserved" and c.tone.difficulty >= 4:
        return [Slot(c.pool(SHORT))]
    return [Slot(c.pool(SHORT)), _content(c, matching, 1, brief=True)]


def _answer(c: _Context, lines: list[Line]) -> list[Slot]:
    move, style = c.turn.move, c.tone.style
    warm = c.turn.warm or move in ("reflection", "empathy", "statement")
    leads = c.pool(AGREE if warm else OPEN)
    if c.turn.feeling and move in ("reflection", "empathy"):
        word = c.turn.feeling
        echoes = (e.replace("{Word}", word.capitalize()).replace("{word}", word) for e in ECHO)
        leads = (*echoes, *leads[:2])
    if c.tone.difficulty >= 4:
        leads += ("I don't know.", "Hm.")
    slots = [Slot(leads)]
    count = _LINES[style] + (1 if warm and style != "reserved" else 0)
    count += -1 if c.tone.difficulty >= 4 else (1 if c.tone.difficulty <= 2 else 0)
    count = max(1, min(3, count if style != "reserved" else 1))
    slots.append(_content(c, lines, count))
    if style == "tangent" and c.rng.random() < 0.7:
        slots.append(_side_topic(c, lines, count))
    slots.append(c.optional(TAIL) if style in ("plain", "reserved") else Slot(c.pool(TAIL)))
    if c.tone.tearful:
        slots.append(Slot(("", *TEARFUL)))
    return slots


def _content(
    c: _Context, lines: list[Line], count: int, *, optional: bool = False, brief: bool = False
) -> Slot:
    """What to say about the profile, best first: groups of up to ``count`` of the top
    lines (at most one said before, at most one on a subject the turn did not raise),
    single lines, then musings for when the profile has nothing new to say."""
    spoken = []
    for line in lines[:5]:
        said = _spoken(c, line, brief)
        if said is not None:
            spoken.append((*said, is_about(line, c.turn)))
    # A callback to something unrelated to the turn comes after the musings.
    singles = [text for text, callback, about in spoken if about or not callback]
    unrelated = [text for text, callback, about in spoken if callback and not about]
    musings = [text for text in MUSINGS if not c.memory.stale(text)]
    c.rng.shuffle(musings)
    groups = []
    connectors = [a for a in c.pool(MORE) if a] or [""]
    for size in range(min(count, len(spoken)), 1, -1):
        for group in itertools.combinations(spoken, size):
            callbacks = sum(callback for _, callback, _ in group)
            new_subjects = sum(not about for _, _, about in group)
            if callbacks <= 1 and new_subjects <= 1:
                texts = [text for text, _, _ in group]
                groups.append(join([texts[0], c.rng.choice(connectors), *texts[1:]]))
    if count > 1 and not groups and singles and musings:
        groups.append(join([singles[0], musings[0]]))
    optional_part = [""] if optional else []
    alternatives = (*groups, *singles, *musings[:2], *unrelated, *optional_part)
    return Slot(alternatives, ranked=True)


def _spoken(c: _Context, line: Line, brief: bool) -> tuple[str, bool] | None:
    """A line as said now, and whether it is a callback ("Like I said, ...").

    One clause for a short answer or a reserved or hard client (the clause the turn
    is about). A line said before comes back once as a callback, then never.
    """
    text = line.text
    if brief or c.tone.style == "reserved" or c.tone.difficulty >= 4:
        about = [part for part in line.parts if content_stems(part) & c.turn.stems]
        text = (about or list(line.parts) or [text])[0]
    said = c.memory.times_said(text)
    if not said:
        return text, False
    if said > 2 or (said == 2 and not is_about(line, c.turn)):
        return None
    start = text if text.startswith(("I ", "I'")) else text[:1].lower() + text[1:]
    callbacks = [f"{callback} {start}" for callback in CALLBACKS]
    c.rng.shuffle(callbacks)
    return next((cb for cb in callbacks if not c.memory.stale(cb)), callbacks[0]), True


def _side_topic(c: _Context, lines: list[Line], count: int) -> Slot:
    """Tangent: a bridge and a background line unrelated to the question, else small
    talk; nothing once every side topic has been told."""
    used = {line.text for line in lines[:count]}
    background = [
        line.text
        for line in lines
        if line.field == "background" and line.text not in used and not relevant(line, c.turn)
    ]
    fresh = [text for text in (*background, *SIDE_TOPICS) if not c.memory.times_said(text)]
    bridges = list(BRIDGE)
    c.rng.shuffle(bridges)
    told = [f"{bridge} {text}" for bridge, text in zip(itertools.cycle(bridges), fresh)]
    return Slot((*told, ""), ranked=True)
