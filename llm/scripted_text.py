"""Text plumbing for the scripted client: normalising, sentences, content-word stems,
and the contractions that make a rewritten profile sound spoken.

Plain regular expressions over short strings; composing one reply touches a few
hundred words. The MITI coder in ``skills`` has its own, richer version of this:
``llm`` must not import ``skills``, and the client needs far less.
"""

from __future__ import annotations

import re

from textprep import straight_quotes


def word_set(text: str) -> frozenset[str]:
    """The words of ``text``, split on white space: word lists written as one string."""
    return frozenset(text.split())


_EXPAND: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bcan't\b|\bcannot\b", "can not"),
        (r"\bwon't\b", "will not"),
        (r"n't\b", " not"),
        (r"\b(it|that|what|how|there|here|he|she|who|where)'s\b", r"\1 is"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'ll\b", " will"),
        (r"\bi'm\b", "i am"),
        (r"\b(i|you|we|they|he|she)'d\b", r"\1 would"),
    )
)
_CHAT = {"u": "you", "r": "are", "ur": "your", "ok": "okay", "k": "okay", "ya": "you"}
_CHAT_WORD = re.compile(r"\b(" + "|".join(_CHAT) + r")\b")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A sentence ends at . ! ? (or a run of them) before a space; ";" ends a profile clause.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])[\"')\]]*\s+|\s*\n+\s*")
_SUFFIXES = ("ings", "ing", "ied", "ies", "ers", "er", "ed", "es", "ly", "s")
# Irregular forms and near-synonyms folded to one stem, so "job" meets "work".
_ALIASES = {
    "lost": "lose",
    "losing": "lose",
    "felt": "feel",
    "told": "tell",
    "left": "leave",
    "slept": "sleep",
    "drank": "drink",
    "drunk": "drink",
    # Family talk meets any relative: "Tell me about your family" finds "my sister".
    **dict.fromkeys(
        word_set(
            "mother mum mom father dad sister brother parents wife husband partner children kids "
            "son daughter married family"
        ),
        "family",
    ),
    "job": "work",
    "jobs": "work",
    "working": "work",
    "shifts": "work",
    "shift": "work",
    "sleeping": "sleep",
    "asleep": "sleep",
    "nights": "sleep",
    "night": "sleep",
}

STOPWORDS: frozenset[str] = word_set(
    """
    a about above after again against all also am an and any anyone anything are around as at
    back be because been before being below between both but by can could did do does doing done
    down during each either else even ever every everyone everything few for from further get gets
    getting got had has have having he her here hers herself him himself his how i if in into is it
    its itself just kind kinda know like lot lots maybe me might more most much must my myself no
    nor not now of off oh ok okay on once one only or other our ours out over own perhaps pretty
    quite rather really right same she should so some something sort still such than that the their
    theirs them themselves then there these they thing things this those though through to too um
    uh under until up us very was we well were what when where whether which while who whom why
    will with would yeah yes yet you your yours yourself yourselves mm hmm sure thanks thank please
    anyway actually feel feels feeling felt seem seems seemed sound sounds sounded say said tell
    told think thinking mean means go going let make makes made way bit always never hard
    difficult tough lately recently today hear hearing must understand imagine wonder describe
    share talk talking people person week day time new old bring brings brought
    """
)


def normalise(text: str) -> str:
    """Lower-case, straight quotes, contractions spelled out ("don't" -> "do not")."""
    lowered = straight_quotes(text).lower()
    lowered = _CHAT_WORD.sub(lambda match: _CHAT[match.group(1)], lowered)
    for pattern, replacement in _EXPAND:
        lowered = pattern.sub(replacement, lowered)
    return re.sub(r"\s+", " ", lowered).strip()


def words(text: str) -> list[str]:
    """The words of already normalised text."""
    return _WORD.findall(text)


def stem(word: str, *, aliases: bool = True) -> str:
    """A crude suffix stripper: "drinking" and "drinks" meet at "drink"; with ``aliases``,
    near-synonyms meet too ("sister" and "family").

    Over-stemming is harmless: stems are only compared with each other.
    """
    word = (_ALIASES.get(word, word) if aliases else word).replace("'", "")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + ("y" if suffix in ("ied", "ies") else "")
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


def content_stems(text: str, *, aliases: bool = True) -> frozenset[str]:
    """Stems of the words of ``text`` that carry meaning (not function words or fillers)."""
    return frozenset(
        stem(word, aliases=aliases)
        for word in words(normalise(text))
        if word not in STOPWORDS and len(word) > 2
    )


def sentences(text: str) -> list[str]:
    """The sentences (and ";" clauses) of ``text``, each without its end punctuation."""
    pieces = _SENTENCE_BREAK.split(text.strip())
    return [piece.strip().rstrip(".!?;").strip() for piece in pieces if _WORD.search(piece.lower())]


_CONTRACT: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bI am\b", "I'm"),
        (r"\bI have (been|had|got|never|always|just|already|lost|told|stopped)\b", r"I've \1"),
        (r"\bI have not\b", "I haven't"),
        (r"\bI will\b", "I'll"),
        (r"\bcannot\b", "can't"),
        (r"\b([Ww])ill not\b", r"\1on't"),
        (r"\b([Dd]id|[Dd]o|[Dd]oes|[Ii]s|[Ww]as|[Hh]ave|[Hh]as|[Aa]re|[Ww]ere) not\b", r"\1n't"),
        (r"\b([Cc]ould|[Ww]ould|[Ss]hould) not\b", r"\1n't"),
    )
)


def contract(text: str) -> str:
    """Spoken contractions: "I am" -> "I'm", "did not" -> "didn't"."""
    for pattern, replacement in _CONTRACT:
        text = pattern.sub(replacement, text)
    return text


def sentence_case(text: str) -> str:
    """``text`` with a capital first letter and end punctuation."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def said_key(text: str) -> str:
    """How two lines compare for "already said": case, spacing and punctuation ignored."""
    return " ".join(words(normalise(text)))
