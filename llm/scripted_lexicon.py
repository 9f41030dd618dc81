"""Word classes the scripted client uses to turn profile notes into first-person speech.

Small closed lists, not a grammar: profile notes use a handful of shapes ("Lives
alone", "Referred by their GP", "Forklift driver, married"), and these lists
name the first words that decide which shape a clause has.
"""

from __future__ import annotations

from llm.scripted_text import word_set as _words

ADVERBS = _words(
    """recently also now still often usually sometimes currently always never increasingly
    mostly rarely frequently occasionally generally just only really mainly already even barely
    hardly constantly regularly"""
)
# The verb after a new "I" in place of he / she / they / the client's name.
AGREEMENT = {
    "is": "am",
    "isn't": "am not",
    "are": "am",
    "aren't": "am not",
    "were": "was",
    "weren't": "wasn't",
    "has": "have",
    "hasn't": "haven't",
    "does": "do",
    "doesn't": "don't",
}
AUXILIARIES = _words(
    """is was has had does did can will would could isn't wasn't hasn't doesn't didn't can't
    won't are were have"""
)
# "Referred by their GP" -> "I was referred by my GP".
PASSIVE = _words(
    """referred diagnosed born raised adopted fired dismissed sacked arrested charged convicted
    sentenced excluded suspended expelled bullied abused assaulted hospitalised hospitalized
    admitted discharged prescribed assessed sent placed evicted signed brought"""
)
# "Married", "tired all the time" -> "I'm married", "I'm tired all the time".
STATES = _words(
    """married divorced separated widowed single retired unemployed employed engaged pregnant
    estranged homeless disabled tired worried stressed depressed isolated exhausted frustrated
    confused scared overwhelmed bored embarrassed ashamed interested concerned annoyed anxious
    lonely afraid angry sad low stuck unhappy nervous new"""
)
IRREGULAR_PAST = _words(
    """lost left had went got took became fell began felt found gave kept met ran said saw sold
    told won broke quit split grew knew thought came did drove spent stood woke hid paid slept
    fought held heard hurt let put set sat built caught drank ate chose forgot threw made"""
)
VERBS = _words(
    """live work have feel want worry drink struggle find miss care enjoy like love hate avoid tend
    use spend get keep need sleep try say think believe hope fear go do cry smoke play study attend
    lack describe report deny seem appear become take make look run own rent share visit call see
    talk speak blame refuse wish wonder prefer lose know manage cope hide eat stay come leave send
    pay owe help mind dislike dread doubt rely depend gamble skip stop start continue regret resent
    notice wake fall joke laugh deflect warm open shut minimise minimize drive walk teach volunteer
    read write cook clean hold carry be finish improve reduce save learn repair fix rebuild
    reconnect return move build sort deal quit cut earn pass complete apply plan tell forgive
    accept grieve heal spend recover remember discover consider"""
)
ROLES = _words(
    """lead nurse student worker mother father parent carer teacher manager driver cleaner
    assistant officer mum dad grandmother grandfather widow widower veteran apprentice graduate
    chef cook soldier engineer builder labourer mechanic receptionist accountant clerk
    volunteer owner tenant son daughter"""
)
ROLE_SUFFIXES = ("er", "or", "ist", "ian", "ant")
# Words ending like a role ("-er", "-or") that are not one: "a warning letter" is not who I am.
NOT_ROLES = _words(
    """letter number paper water dinner winter summer matter order power corner other border
    cancer answer danger anger finger floor door error colour color honour behaviour labour
    favour disorder manner ladder shower flower weather character centre center member"""
)
# A goal starting with one of these is a thing wanted, not an action: "I'd like better sleep".
GOAL_NOUNS = _words(
    """a an the some more less fewer better new good stable steady regular enough own help
    support time peace money space contact access treatment therapy work somewhere"""
)
ADJECTIVE_SUFFIXES = ("ed", "ous", "ful", "ive", "al", "ic", "y", "less", "able", "ible", "ent")
NUMBERS = _words("two three four five six seven eight nine ten several many")
# People a note names without "their": "Sister lives nearby" -> "My sister lives nearby".
KIN = _words(
    """mother father mum dad mom sister brother wife husband partner son daughter children kids
    parents family boss manager gp doctor friend friends grandmother grandfather gran nan aunt
    uncle cousin girlfriend boyfriend landlord flatmate"""
)
# Feelings a reflection may name, which the client echoes back.
FEELINGS = _words(
    """tired exhausted exhausting alone lonely stuck scared frightened worried angry overwhelmed
    overwhelming heavy lost ashamed guilty sad low flat anxious nervous drained hopeless helpless
    frustrated frustrating trapped numb invisible isolated pressure rough hurt upset afraid"""
)
# A comma fragment starting with one of these continues the one before it.
CONTINUATIONS = _words(
    """who which where when but because so although though since after before especially
    including with without even as like until while whose"""
)
# A clause starting with one of these already has its subject.
SUBJECTS = _words(
    """i i'm i've i'd i'll my me he she they his her their it it's this that there we our
    nobody everyone someone both no nothing everything he's she's they're they've self self's
    what"""
)
DETERMINERS = _words("a an the some")
# A word before which a name is the subject ("... and Sam left").
CLAUSE_BOUNDARIES = _words(
    "and but so because when while that although since as if where after before until or"
)
# "her" is the object before these ("told her that"), possessive otherwise ("her mother").
OBJECT_FOLLOWERS = _words(
    """a an the to and or but for with at in on about that this if when because so up out off
    down back again anymore too feel every each all now today yesterday tomorrow twice once
    more less alone there here anything everything something nothing much so very know"""
)


def base_form(verb: str) -> str:
    """The base form of a third-person-singular verb ("worries" -> "worry")."""
    special = {"has": "have", "does": "do", "goes": "go", "is": "am"}
    if verb in special:
        return special[verb]
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if verb.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
        return verb[:-2]
    if verb.endswith("s") and not verb.endswith(("ss", "us", "is")):
        return verb[:-1]
    return verb


def is_verb_form(word: str) -> bool:
    """Whether ``word`` (lower case) can start a note with no subject ("lives", "lost")."""
    return (
        word in VERBS
        or word in AUXILIARIES
        or word in PASSIVE
        or word in STATES
        or word in IRREGULAR_PAST
        or word in ADVERBS
        or word in ("to", "not")
        or word.endswith(("ed", "ing"))
        or (word.endswith("s") and base_form(word) in VERBS)
    )


def has_verb(words: list[str]) -> bool:
    """Whether any of ``words`` (lower case) looks like a finite verb."""
    for word in words:
        if word in AUXILIARIES or word in IRREGULAR_PAST or word.endswith("ed"):
            return True
        if word.endswith("s") and base_form(word) in VERBS:
            return True
    return False
