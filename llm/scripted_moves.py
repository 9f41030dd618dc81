"""What the student just did, as far as the scripted client reacts to it.

A small rule-based reading of one student turn: the role-break and secret-probe
rules, then greeting and closing, then judgement and advice, then reflection,
empathy and the form of the last question. It is much coarser than the MITI
coder in ``skills`` (which ``llm`` must not import): the client only needs to
know how to react, not how to score the student.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from llm.scripted_lexicon import FEELINGS
from llm.scripted_text import content_stems, normalise, word_set, words

Move = Literal[
    "role_break",
    "secret_probe",
    "closing",
    "greeting",
    "judgement",
    "advice",
    "reflection",
    "empathy",
    "open_question",
    "closed_question",
    "statement",
]

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
# A direct probe for what the client keeps back ("What haven't you told anyone?") is
# never answered with a fact, however open or warm its framing (300 probes, 0 leaks).
_SECRET_PROBE = re.compile(
    r"\b(secrets?|hid(e|ing|den)|keep(ing)?\s+(back|from)|holding\s+back|confess)\b"
    r"|\b(not|n't|never)\s+(told|tell|telling|said|say|saying|shared|share|mentioned)\b"
    r"|\b(haven't|hasn't|didn't|don't|won't|wouldn't)\s+(you\s+)?(tell|told|say|said|share|shared)\b"
    r"|\b(nobody|no one|anyone|anybody)\s+(else\s+)?(knows?|else)\b"
    r"|\bwhat\s+(else\s+)?(are|were)\s+you\s+(not|leaving)\b",
    re.IGNORECASE,
)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


# These match normalised text: lower case, "do not" for "don't", "i am" for "I'm".
_CLOSING = _any(
    r"\bwe (need|have|will have|are going|must|should|ought) to (stop|finish|end|wrap)",
    r"\b(that is|it is) (all|about all) (the time|we have|for today)\b|\bout of time\b",
    r"\btime is (up|nearly up)\b|\blet us (stop|end|finish|wrap)\b|\bwe will (stop|leave it)\b",
    r"\b(good)?bye\b|\bsee you (next|soon|again|then|later)\b|\buntil next time\b",
    r"\btake care\b\W*$|\bend (the|our) session\b",
)
_GREETING = re.compile(
    r"^(hi|hello|hey|hiya|good (morning|afternoon|evening))\b|\bnice to (meet|see) you\b"
)
_JUDGEMENT = _any(
    r"\byou (should|ought to|could) (not )?have\b|\bwhy (did|could) not you\b",
    r"\bhow could you\b|\bwhat did you expect\b|\byour (own )?fault\b|\bin denial\b",
    r"\b(that|this|it) (is|was) (really |so |very |pretty |just |a bit |kind of )?(wrong|stupid|"
    r"ridiculous|selfish|irresponsible|silly|pathetic|childish|lazy|not (okay|normal|an excuse))",
    r"\byou are (being |just |so |really )*(lazy|selfish|in denial|irresponsible|ridiculous|"
    r"dramatic|overreacting|lying|stubborn|childish|weak|pathetic|exaggerating)\b",
    r"\bmak(e|es|ing) excuses\b|\bno excuse\b|\bget over it\b|\bsnap out of it\b|\bgrow up\b",
    r"\bit is not (that|so|really) (bad|hard|big a deal)\b|\b(just|simply) (stop|get on)\b",
)
_ADVICE = _any(
    r"\byou (really |just |definitely |probably )?(should|ought to|need to|have to|must)\b",
    r"\byou (might|could|may) (just |maybe |also )?(want to|try|consider|think about|talk|speak|"
    r"ask|call|go|join|start|stop|get|see|write|take|make)\b",
    r"\bi (would |really )?(suggest|recommend|advise)\b|\bmy advice\b|\bif i were you\b",
    r"\b(have you|did you) (tried|thought about|considered)\b|^(why do not you|why not)\b",
    r"\bhow about (you )?(try|trying)\b|\b(it|that) (might|could|would) (help|be good)\b",
    r"^(maybe |perhaps )?(try|stop|start|talk to|go to|get some)\b",
)
# "You feel you should be fine": an obligation the client feels is not advice.
_REPORTED = re.compile(
    r"\b(feel|think|believe|worry|told|expect|like)\w* (that )?you (should|need|have to|must|ought)"
)
_REFLECTION = _any(
    r"\b(sounds|sounded|seems|seemed|looks) (like|as (if|though)|that)\b",
    r"\bwhat i am hearing\b|\bi hear (that|how|what|you saying)\b|\byou are (saying|telling me)\b",
    r"\bpart of you\b|\bon (the )?one hand\b|\bi (get|have) the (sense|feeling|impression)\b",
    r"\byou (feel|felt|are feeling|have been feeling|were feeling|are finding|are worried)\b",
    r"^so (you|it|things|work|the)\b|\bto sum up\b|\bso far you\b",
    r"\bif i have got (this|it) right\b",
    r"^you (are|have been|were|do not|want|miss|wish|care|worry|had|lost)\b",
    r"^(it|this|that) (is|has been|was) (like|a lot|really|so|hard|tough)\b",
)
_EMPATHY = _any(
    r"\bi am (so |really |very )?sorry\b|\bi can (only )?imagine\b|\bi can (see|understand) why\b",
    r"\b(that|it) makes (a lot of )?sense\b|\bno wonder\b|\bi hear you\b|\bi am here\b",
    r"\b(that|it|this) (sounds|must be|must have been|must feel|seems) (so |really |very )?"
    r"(hard|tough|difficult|rough|awful|horrible|heavy|overwhelming|exhausting|lonely|painful)",
    r"\bthank you for (sharing|telling|being)\b|\bthanks for (sharing|telling)\b",
    r"\btake your time\b|\b(that|it) took (a lot of |real )?courage\b|\bwell done\b",
    r"\bi (really )?appreciate\b|\byou (have been|are) (really |so )?(brave|strong|honest)\b",
)
_OPEN = _any(
    r"^(what|how|why)\b(?! (many|much|long|often|old|time|age|year|day)\b)",
    r"^(tell me|talk me|walk me|describe|help me understand|say more|i am curious|i wonder)\b",
    r"^(can|could|would|will) you (\w+ ){0,2}?(tell|describe|explain|talk|say|share|walk)\b",
    r"^in what way\b|^i would (like|love) to (hear|know|understand)\b",
)
_CLOSED = _any(
    r"^(do|does|did|are|is|was|were|have|has|had|can|could|would|will|should|am)\b",
    r"^(when|where|which|who|whom|whose)\b|^how (many|much|long|often|old)\b",
    r"^(what) (time|age|year|day)\b",
)
_LEAD_INS = re.compile(
    r"^((okay|ok|alright|right|so|and|but|well|now|then|um|hmm|oh|yeah|i see)[,.]? )+"
)
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_STUDENT_NAME = re.compile(r"\b(?:I'm|I am|my name is|my name's)\s+([A-Z][a-z]{1,20})\b")
_NOT_NAMES = word_set(
    "Sorry Glad Here Just Not So Really Happy Sure Afraid Going Trying Curious Wondering "
    "Interested Listening Still Only Also Fine Okay Good"
)


@dataclass(frozen=True, slots=True)
class StudentTurn:
    """One student message as the scripted client reads it."""

    text: str
    move: Move
    #: The turn also reflects or empathises (a warm lead-in before a question).
    warm: bool
    stems: frozenset[str]
    #: The turn opens with a greeting ("Hi Sam, ...").
    greeted: bool = False
    #: The name the student introduced themselves with ("Hi, I'm Robin"), if any.
    student_name: str = ""
    #: The last feeling word of the turn ("you feel quite alone" -> "alone"), if any.
    feeling: str = ""


def is_role_break(text: str) -> bool:
    """Whether ``text`` tries to break the role-play or extract the instructions."""
    return _ROLE_BREAK.search(text) is not None


def is_secret_probe(text: str) -> bool:
    """Whether ``text`` asks straight out for what the client keeps back."""
    return _SECRET_PROBE.search(text) is not None


def read_turn(text: str) -> StudentTurn:
    """How the client reads the student's ``text``. Never raises."""
    normal = normalise(text)
    name_match = _STUDENT_NAME.search(text)
    name = name_match.group(1) if name_match and name_match.group(1) not in _NOT_NAMES else ""
    statements = [s for s in _SENTENCE.findall(normal) if _question_body(s) is None]
    warm = any(_REFLECTION.search(s) or _EMPATHY.search(s) for s in statements)
    greeted = _GREETING.search(normal) is not None
    feeling = next((word for word in reversed(words(normal)) if word in FEELINGS), "")
    move = _move(text, normal)
    return StudentTurn(text, move, warm, content_stems(text), greeted, name, feeling)


def _move(text: str, normal: str) -> Move:
    if is_role_break(text):
        return "role_break"
    if is_secret_probe(text):
        return "secret_probe"
    if _CLOSING.search(normal):
        return "closing"
    if _JUDGEMENT.search(normal):
        return "judgement"
    if _ADVICE.search(normal) and not _REPORTED.search(normal):
        return "advice"
    bodies = [_question_body(s) for s in _SENTENCE.findall(normal) if s.strip()]
    question = next((body for body in reversed(bodies) if body is not None), None)
    if question is not None:
        return "open_question" if _OPEN.search(question) else "closed_question"
    if _REFLECTION.search(normal):
        return "reflection"
    if _EMPATHY.search(normal):
        return "empathy"
    if _GREETING.search(normal):
        return "greeting"
    return "statement"


def _question_body(sentence: str) -> str | None:
    """The question in ``sentence`` without greeting and lead-ins, or None if none."""
    body = _LEAD_INS.sub("", _GREETING.sub("", sentence.strip()).lstrip(" ,.!"))
    body = re.sub(r"^\w+, ", "", body) if _GREETING.match(sentence.strip()) else body
    for candidate in (body, re.sub(r"^\w+, ", "", body)):
        if _OPEN.search(candidate) and not re.match(r"^how (awful|hard|sad|terrible)\b", candidate):
            return candidate
        if _CLOSED.search(candidate) and len(candidate.split()) > 2:
            return candidate
    return body if body.rstrip().endswith("?") else None
