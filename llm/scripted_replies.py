"""What the scripted client says: a pure, deterministic function of the request.

Used by :class:`llm.scripted.ScriptedProvider`. No model is involved: replies
come from small phrase pools chosen by the profile's communication style, with
a random generator seeded from a hash of the persona and the history, so the
same request always gets the same reply.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from typing import Literal

from llm.base import Persona, ReplyRequest, Turn

Style = Literal["terse", "guarded", "talkative", "neutral"]

# One hidden fact per this many rapport-building student messages (difficulty 3).
DEFAULT_RAPPORT_PER_FACT = 2

_STYLE_WORDS: tuple[tuple[Style, tuple[str, ...]], ...] = (
    ("guarded", ("guarded", "defensive", "suspicious", "reserved", "closed", "distrust", "wary")),
    ("terse", ("terse", "brief", "short", "few words", "monosyllab", "quiet", "laconic")),
    ("talkative", ("talkative", "chatty", "verbose", "rambl", "lots of detail", "overshar")),
)

_ROLE_BREAK = re.compile(
    r"ignore\b.{0,30}\b(instructions?|prompts?|rules)"
    r"|\b(system|hidden|initial)\s+prompt"
    r"|\byour\s+(instructions|prompt|rules|profile|script|programming)"
    r"|\b(are|r)\s+(you|u)\s+(an?\s+)?(ai|a\.i\.|bot|robot|chatbot|language model|llm|machine"
    r"|computer|program|real person|human)\b"
    r"|\byou(\s+are|'re|re)\s+(an?\s+|just\s+an?\s+)?(ai|bot|chatbot|language model|llm|program)\b"
    r"|\b(jailbreak|developer mode|dan mode|out of character|break character)\b"
    r"|\b(reveal|show|tell|list|print)\b.{0,20}\b(hidden facts?|secrets?|instructions)\b"
    r"|\bpretend\s+(to be|you are)\b",
    re.IGNORECASE,
)

# A direct probe for what the client keeps back ("What haven't you told anyone?"): asking
# for the secret is not rapport, however open the question (10 of 300 such probes leaked a
# fact while they counted).
_SECRET_PROBE = re.compile(
    r"\b(secrets?|hid(e|ing|den)|keep(ing)?\s+(back|from)|holding\s+back|confess)\b"
    r"|\b(not|n't|never)\s+(told|tell|telling|said|say|saying|shared|share|mentioned)\b"
    r"|\b(haven't|hasn't|didn't|don't|won't|wouldn't)\s+(you\s+)?(tell|told|say|said|share|shared)\b"
    r"|\b(nobody|no one|anyone|anybody)\s+(else\s+)?(knows?|else)\b"
    r"|\bwhat\s+(else\s+)?(are|were)\s+you\s+(not|leaving)\b",
    re.IGNORECASE,
)

RAPPORT_PHRASES: tuple[str, ...] = (
    "it sounds like",
    "sounds like",
    "i hear",
    "that must be",
    "that must have been",
    "you feel",
    "you're feeling",
    "you are feeling",
    "you felt",
    "i understand",
    "thank you for sharing",
    "thanks for sharing",
    "thank you for telling",
    "that sounds",
    "i can see",
    "i can imagine",
    "it makes sense",
    "that makes sense",
    "take your time",
    "i'm here",
    "i am here",
    "you seem",
    "it seems like",
)
_OPEN_QUESTION = re.compile(
    r"^\s*(what|how|why|tell me|could you (tell|say|describe)|can you (tell|say|describe)"
    r"|would you (tell|say|describe)|describe|in what way|help me understand)\b",
    re.IGNORECASE,
)

_OPENING_FALLBACK = {
    "terse": "Hi.",
    "guarded": "Hi. I'm not really sure why I'm here.",
    "talkative": "Hi, thanks for seeing me. I wasn't sure what to expect, to be honest.",
    "neutral": "Hello. I'm {name}.",
}
_DEFLECT = {
    "terse": ("What? No.", "Not sure what you mean.", "Weird question."),
    "guarded": (
        "I don't know what you're getting at. I came here to talk, not to play games.",
        "What kind of question is that? I'm not answering that.",
    ),
    "talkative": (
        "Sorry, I'm not really following you there. I'm just {name}, and honestly I'd "
        "rather talk about why I came in today.",
        "Ha, that's a strange thing to ask. I'm {name}, I'm just a person having a rough "
        "time. Can we get back to that?",
    ),
    "neutral": (
        "I'm not sure what you mean by that. I'm {name}. Can we get back to why I'm here?",
        "That's an odd question. I'd rather talk about what's been going on with me.",
    ),
}
_DISCLOSE = {
    "terse": ("Okay. {fact}", "Fine. {fact}"),
    "guarded": (
        "I don't usually tell people this. {fact}",
        "I'm not sure I should say this, but... {fact}",
    ),
    "talkative": (
        "Okay, I think I can tell you something. {fact} It's been on my mind a lot lately.",
        "You know, I haven't really told anyone this, but {fact} There, I said it.",
    ),
    "neutral": ("There's something else. {fact}", "I haven't said this before. {fact}"),
}
_WARM = {
    "terse": ("Yeah.", "I guess so.", "Maybe."),
    "guarded": (
        "Maybe. It's hard to explain.",
        "I suppose that's true.",
        "Yeah. Something like that.",
    ),
    "talkative": (
        "Yes, exactly, that's it. It's been a lot, and it's nice that someone actually listens "
        "for once.",
        "I think so, yes. Every day feels a bit heavier than the one before, you know?",
    ),
    "neutral": ("Yes, I think that's right. It's been hard.", "That's how it feels, yes."),
}
_COOL = {
    "terse": ("Don't know.", "Fine.", "Sure."),
    "guarded": ("I don't really want to get into that.", "Why do you want to know?", "It's fine."),
    "talkative": (
        "Well, it's complicated. There's a lot going on and I'm not sure where to start, "
        "to be honest.",
        "Hmm, I don't know. Things have just been a bit of a mess lately, you know how it is.",
    ),
    "neutral": ("I'm not sure.", "It's complicated.", "I guess it's been okay."),
}
_WIND_DOWN = {
    "terse": "I have to go soon.",
    "guarded": "I should get going soon anyway.",
    "talkative": "Oh, is that the time? I should get going soon, I've got things to sort out.",
    "neutral": "I should get going soon, though.",
}


def style_of(persona: Persona) -> Style:
    """The phrase pool that matches the profile's communication style and personality."""
    described = f"{persona.communication_style} {persona.personality}".lower()
    for style, words in _STYLE_WORDS:
        if any(word in described for word in words):
            return style
    return "neutral"


def is_role_break(text: str) -> bool:
    """Whether ``text`` tries to break the role-play or extract the instructions."""
    return _ROLE_BREAK.search(text) is not None


def is_rapport_signal(text: str) -> bool:
    """Whether a student message reflects, empathises or asks an open question."""
    lowered = text.lower()
    return any(phrase in lowered for phrase in RAPPORT_PHRASES) or bool(_OPEN_QUESTION.search(text))


def is_secret_probe(text: str) -> bool:
    """Whether ``text`` asks straight out for what the client keeps back."""
    return _SECRET_PROBE.search(text) is not None


def builds_rapport(text: str) -> bool:
    """A rapport signal that is neither a role-break nor a probe for secrets."""
    return is_rapport_signal(text) and not is_role_break(text) and not is_secret_probe(text)


def rapport_count(history: Sequence[Turn]) -> int:
    """Student messages that built rapport (at most one per message; role-breaks and
    probes for secrets never count)."""
    return sum(1 for turn in history if turn.speaker == "student" and builds_rapport(turn.text))


def disclosed_count(persona: Persona, history: Sequence[Turn]) -> int:
    """How many hidden facts, in order, the client has already said in ``history``."""
    said = " ".join(turn.text for turn in history if turn.speaker == "client")
    count = 0
    for fact in persona.hidden_facts:
        if fact.fact.strip() not in said:
            break
        count += 1
    return count


def _seeded(request: ReplyRequest) -> random.Random:
    digest = hashlib.sha256(repr((request.persona, request.history)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def compose_reply(request: ReplyRequest, rapport_per_fact: int = DEFAULT_RAPPORT_PER_FACT) -> str:
    """The whole reply text the scripted client gives to ``request``. Never raises.

    Precedence: an in-character deflection of a role-break attempt; the opening
    line for the first reply; the next hidden fact once ``rapport_per_fact``
    more rapport signals have been seen; otherwise a warm or cool answer in the
    profile's style. ``wind_down`` appends a line about having to go soon.
    """
    persona = request.persona
    style = style_of(persona)
    rng = _seeded(request)
    latest = request.history[-1].text if request.history else ""
    first_reply = not any(turn.speaker == "client" for turn in request.history)

    if is_role_break(latest):
        text = rng.choice(_DEFLECT[style]).replace("{name}", persona.name)
    elif first_reply:
        fallback = _OPENING_FALLBACK[style].replace("{name}", persona.name)
        text = persona.opening_line.strip() or fallback
    else:
        disclosed = disclosed_count(persona, request.history)
        earned = rapport_count(request.history) // max(1, rapport_per_fact)
        probing = is_secret_probe(latest)  # a fact is never the answer to a probe
        if disclosed < len(persona.hidden_facts) and earned > disclosed and not probing:
            fact = persona.hidden_facts[disclosed].fact.strip()
            text = rng.choice(_DISCLOSE[style]).format(fact=fact)
        elif builds_rapport(latest):
            text = rng.choice(_WARM[style])
        else:
            text = rng.choice(_COOL[style])
    if request.wind_down:
        text = f"{text} {_WIND_DOWN[style]}"
    return text
