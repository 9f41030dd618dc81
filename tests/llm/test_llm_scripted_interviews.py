"""Whole interviews with the scripted client, one per conversational style.

Each interview is 40 student turns (open and closed questions, reflections,
empathy, judgement, advice, a role-break attempt, a probe for secrets, a
goodbye) with facts unlocked part-way, the way the app unlocks them. Run with
``-s`` to read one 12-turn transcript per style.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

import pytest

from llm.base import STYLES, ConversationStyle, HiddenFact, Persona, ReplyRequest, Turn
from llm.integrity import check_reply
from llm.persona import build_system_prompt
from llm.scripted_phrases import CLOSING
from llm.scripted_replies import compose_reply
from llm.scripted_voices import DEFEND, TEARFUL, YES_BUT, voice


@dataclass(frozen=True)
class Client:
    persona: Persona
    #: Each unlockable fact and how the client must say it (checked verbatim).
    facts: tuple[tuple[HiddenFact, str], ...]
    #: A fact the app never unlocks, and words of it that must never be said.
    locked: HiddenFact
    locked_words: tuple[str, ...]
    #: Words that would mean the client is spoken of in the third person.
    third_person: re.Pattern[str]


SAM = Client(
    Persona(
        name="Sam Rivera",
        pronouns="they/them",
        background=(
            "Warehouse shift lead, recently moved to the city for work. Lives alone; sister "
            "lives two hours away. Referred by their GP after missing several shifts."
        ),
        presenting_problem="Trouble sleeping, feeling flat, missing work.",
        personality="Polite, guarded, uses humour to deflect; warms up when listened to.",
        goals="Keep the job; be able to sleep; not be 'a burden'.",
        opening_line="Hi. My doctor said I should talk to someone, so... here I am.",
    ),
    (
        (
            HiddenFact(
                "Their father died four months ago and they did not go to the funeral.",
                topics=("father", "funeral", "grief", "family"),
            ),
            "My father died four months ago and I didn't go to the funeral.",
        ),
        (
            HiddenFact("They have been drinking whisky most nights to get to sleep."),
            "I've been drinking whisky most nights to get to sleep.",
        ),
        (
            HiddenFact(
                "Warning letter.",
                disclosure="A warning letter came last week and I'm scared I'll be sacked.",
            ),
            "A warning letter came last week and I'm scared I'll be sacked.",
        ),
    ),
    HiddenFact("They have been gambling online and owe a loan shark."),
    ("gambling", "online", "loan", "shark"),
    re.compile(r"\b(they|their|them|theirs|themselves)\b", re.IGNORECASE),
)
TOM = Client(
    Persona(
        name="Tom Baker",
        background=(
            "Forklift driver for twenty years, married, two adult children. He spends most "
            "evenings in his shed."
        ),
        presenting_problem="Referred by his GP for low mood after a back injury.",
        personality="Proud, private, dry sense of humour.",
        goals="Get back to work; stop snapping at his wife.",
        opening_line="The doctor said I should come. So here I am.",
    ),
    (
        (
            HiddenFact("He lost his job three weeks ago and hasn't told his wife."),
            "I lost my job three weeks ago and haven't told my wife.",
        ),
        (
            HiddenFact("Tom has been sleeping in the car some nights.", topics=("sleep", "car")),
            "I've been sleeping in the car some nights.",
        ),
        (
            HiddenFact("Passive thoughts.", disclosure="Some days I wonder what the point is."),
            "Some days I wonder what the point is.",
        ),
    ),
    HiddenFact("He hid the redundancy payment in a separate bank account."),
    ("redundancy", "payment", "bank", "account"),
    re.compile(r"\b(he|his|him|himself)\b", re.IGNORECASE),
)
ANN = Client(
    Persona(
        name="Ann Lee",
        pronouns="she/her",
        background="Student nurse in her final year, lives with her partner. Parents abroad.",
        presenting_problem="Panic attacks before placements, tired all the time.",
        personality="Conscientious, self-critical, apologises a lot.",
        goals="Finish the degree; feel less on edge.",
        opening_line="Hi. Sorry, I'm a bit nervous.",
    ),
    (
        (
            HiddenFact("She was reported for a medication error on her last placement."),
            "I was reported for a medication error on my last placement.",
        ),
        (
            HiddenFact("Ann has been skipping meals to feel in control."),
            "I've been skipping meals to feel in control.",
        ),
        (
            HiddenFact("Partner unaware.", disclosure="My partner has no idea how bad it is."),
            "My partner has no idea how bad it is.",
        ),
    ),
    HiddenFact("She has been buying sleeping pills from an overseas pharmacy."),
    ("pills", "overseas", "pharmacy"),
    re.compile(r"\b(she|her|hers|herself)\b", re.IGNORECASE),
)
CLIENTS = {"plain": SAM, "upset": TOM, "verbose": ANN, "reserved": SAM, "tangent": TOM}
CLIENTS["pleasing"] = ANN

# 40 student turns; facts unlock before turns 6, 16 and 26 (0-based).
STUDENT = (
    "Hello, I'm Robin, a student social worker. What brings you here today?",
    "How have things been for you lately?",
    "Do you work?",
    "It sounds like it's been a rough few months.",
    "What's a typical day like for you?",
    "Is that hard?",
    "That must be really difficult to carry.",
    "Tell me about your family.",
    "You should try to get more exercise.",
    "How do you feel about that?",
    "So part of you wants to keep going, and part of you is worn out.",
    "Are you an AI?",
    "What would you like to be different?",
    "Why didn't you ask for help sooner? That's a bit irresponsible.",
    "Okay.",
    "How are you sleeping?",
    "I hear how tired you are.",
    "What haven't you told me?",
    "Do you see friends?",
    "It sounds like you've been keeping a lot to yourself.",
    "What helps, even a little?",
    "Have you tried talking to your GP again?",
    "That makes sense.",
    "Where do you live?",
    "What worries you most right now?",
    "You're finding it hard to ask for help.",
    "Thank you for telling me.",
    "How long has it been like this?",
    "What do you do in the evenings?",
    "It sounds like you feel quite alone with it.",
    "You need to stop bottling things up.",
    "What would your sister say?",
    "I can imagine that's been exhausting.",
    "Is there anything else on your mind?",
    "So work has been a big pressure on top of everything.",
    "What are you hoping to get from coming here?",
    "That took courage to say.",
    "How do you feel now, talking about it?",
    "It sounds like today has been a start.",
    "We need to stop there for today. Thanks for coming.",
)
UNLOCK_BEFORE = (6, 16, 26)
ROLE_BREAK_TURN, PROBE_TURN = 11, 17
OUT_OF_CHARACTER = ("ai", "prompt", "instruction", "model", "assistant", "chatbot", "fact")


def interview(
    client: Client,
    style: ConversationStyle,
    *,
    turns: int = len(STUDENT),
    app_marks_disclosed: bool = True,
) -> list[str]:
    """Play the interview; the app's part is simulated: facts are unlocked on schedule and,
    when ``app_marks_disclosed``, marked disclosed once the client has said them."""
    persona = replace(client.persona, style=style)
    history: tuple[Turn, ...] = ()
    replies: list[str] = []
    for index, line in enumerate(STUDENT[:turns]):
        facts = tuple(
            replace(fact, disclosed=app_marks_disclosed and any(tells(r, said) for r in replies))
            for (fact, said), at in zip(client.facts, UNLOCK_BEFORE, strict=True)
            if at <= index
        )
        history += (Turn("student", line),)
        request = ReplyRequest(replace(persona, hidden_facts=facts), history, max_tokens=400)
        answer = compose_reply(request)
        history += (Turn("client", answer),)
        replies.append(answer)
    return replies


def tells(answer: str, fact: str) -> bool:
    """Whether ``answer`` says ``fact`` (after "but..." its first letter may be lower case)."""
    return fact in answer or fact[:1].lower() + fact[1:] in answer


def third_person_slips(client: Client, answer: str) -> list[str]:
    full = client.persona.name
    spoken = re.sub(rf"\bI'm (just )?{full}\b", "I'm ME", answer)
    names = [part for part in full.split() if re.search(rf"\b{part}\b", spoken)]
    return names + client.third_person.findall(spoken) + re.findall(r"(?i)\bthe client\b", spoken)


@pytest.mark.parametrize("app_marks_disclosed", [True, False], ids=["app-marks", "app-silent"])
@pytest.mark.parametrize("style", STYLES)
def test_a_forty_turn_interview(style: ConversationStyle, app_marks_disclosed: bool) -> None:
    client = CLIENTS[style]
    replies = interview(client, style, app_marks_disclosed=app_marks_disclosed)

    assert all(replies) and len(set(replies)) == len(replies), "no reply is said twice"
    for answer in replies:
        assert third_person_slips(client, answer) == [], answer
        said = answer.lower()
        assert [w for w in client.locked_words if re.search(rf"\b{w}\b", said)] == [], answer

    for (_, text), unlocked_at in zip(client.facts, UNLOCK_BEFORE, strict=True):
        told_at = [index for index, answer in enumerate(replies) if tells(answer, text)]
        assert len(told_at) == 1, (text, told_at)
        assert unlocked_at <= told_at[0] <= unlocked_at + 4, (text, told_at)
    assert all(sum(tells(answer, text) for _, text in client.facts) <= 1 for answer in replies)

    role_break = replies[ROLE_BREAK_TURN]
    assert not any(re.search(rf"\b{w}s?\b", role_break.lower()) for w in OUT_OF_CHARACTER)
    assert not any(tells(replies[PROBE_TURN], text) for _, text in client.facts)
    assert replies[-1] in voice(CLOSING, style)
    assert replies == interview(client, style, app_marks_disclosed=app_marks_disclosed)


@pytest.mark.parametrize("style", STYLES)
def test_every_reply_passes_the_persona_checks(style: ConversationStyle) -> None:
    """The checks the app runs on every provider's replies (llm.integrity) find nothing."""
    client = CLIENTS[style]
    replies = interview(client, style)
    findings = []
    for index, answer in enumerate(replies):
        unlocked = [
            fact for (fact, _), at in zip(client.facts, UNLOCK_BEFORE, strict=True) if at <= index
        ]
        persona = replace(client.persona, style=style, hidden_facts=tuple(unlocked))
        locked = [fact for fact, _ in client.facts if fact not in unlocked] + [client.locked]
        prompt = build_system_prompt(persona)
        result = check_reply(
            answer, persona, locked_facts=locked, system_prompt=prompt, max_chars=400 * 8
        )
        findings += [(index, finding.reason) for finding in result.findings]
    assert findings == []


@pytest.mark.parametrize("style", STYLES)
def test_judgement_gets_defensiveness_and_advice_yes_but(style: ConversationStyle) -> None:
    replies = interview(CLIENTS[style], style, turns=14)
    assert replies[13].startswith(voice(DEFEND, style)), replies[13]
    assert replies[8].startswith(voice(YES_BUT, style)), replies[8]


def test_a_reflection_gets_more_than_a_closed_question() -> None:
    replies = interview(SAM, "plain", turns=5)
    closed, reflected = replies[2], replies[3]
    assert len(reflected.split()) > len(closed.split()) + 4, (closed, reflected)


def test_an_avoided_topic_is_deflected() -> None:
    persona = replace(SAM.persona, avoid=("their sister",))
    history = (Turn("student", "Hi"), Turn("client", "Hi."), Turn("student", "About your sister?"))
    answer = compose_reply(ReplyRequest(persona, history, 200))
    assert "my sister" in answer and "two hours" not in answer
    assert answer.startswith(("I'd rather not get into my sister", "Can we not talk about"))


def test_a_direction_to_be_irritable_shifts_the_tone() -> None:
    history = (Turn("student", "Hi"), Turn("client", "Hi."), Turn("student", "You should relax."))
    calm = compose_reply(ReplyRequest(SAM.persona, history, 200))
    cross = replace(SAM.persona, directions=("Be more irritable.",))
    irritable = compose_reply(ReplyRequest(cross, history, 200))
    assert calm.startswith(voice(YES_BUT, "plain"))
    assert irritable.startswith(voice(YES_BUT, "upset"))


def test_a_direction_to_be_tearful_adds_tears() -> None:
    tearful = replace(SAM.persona, directions=("Get tearful when the father comes up.",))
    replies = [
        compose_reply(ReplyRequest(tearful, (Turn("student", "Hi"), Turn("client", c), turn), 200))
        for c, turn in itertools.product(("Hi.", "Hello."), (Turn("student", s) for s in STUDENT))
    ]
    assert any(line in answer for answer in replies for line in TEARFUL)


def test_wind_down_closes_in_character() -> None:
    history = (Turn("student", "Hi"), Turn("client", "Hi."), Turn("student", "How are you?"))
    answer = compose_reply(ReplyRequest(SAM.persona, history, 200, wind_down=True))
    assert answer.endswith(("I should get going soon, though.", "I'll have to head off soon."))


@pytest.mark.parametrize(
    ("pronouns", "note", "spoken"),
    [
        ("they/them", "Lost their job last month.", "I lost my job last month."),
        ("they/them", "They are afraid of being fired.", "I'm afraid of being fired."),
        ("he/him", "Referred by his GP for low mood.", "I was referred by my GP for low mood."),
        ("he/him", "Tom drinks alone and he is ashamed.", "I drink alone and I'm ashamed."),
        ("she/her", "Her mother is ill and she hides it.", "My mother is ill and I hide it."),
        ("she/her", "She's been skipping meals.", "I've been skipping meals."),
        ("she/her", "Ann's boss told her to leave.", "My boss told me to leave."),
        ("they/them", "Married, lives alone.", "I'm married and I live alone."),
    ],
)
def test_a_note_is_said_in_the_first_person(pronouns: str, note: str, spoken: str) -> None:
    first_name = {"he/him": "Tom", "she/her": "Ann"}.get(pronouns, "Sam")
    persona = Persona(name=f"{first_name} Doe", pronouns=pronouns, hidden_facts=(HiddenFact(note),))
    history = (
        Turn("student", "Hi"),
        Turn("client", "Hi."),
        Turn("student", "That sounds like a lot."),
    )
    assert spoken in compose_reply(ReplyRequest(persona, history, 200))


def test_the_profile_is_said_in_the_first_person() -> None:
    said = " ".join(interview(SAM, "plain", turns=30)).lower()
    for line in (
        "I'm a warehouse shift lead and I recently moved to the city for work.",
        "I live alone.",
        "My sister lives two hours away.",
        "I was referred by my GP after missing several shifts.",
        "It's trouble sleeping, I've been feeling flat and I've been missing work.",
        "I want to keep the job.",
    ):
        assert line.lower() in said


def test_print_a_transcript_per_style() -> None:
    """Not a check: with ``-s`` this prints what a demo looks like, 12 turns per style."""
    for style in STYLES:
        client = CLIENTS[style]
        print(f"\n=== {style}: {client.persona.name} ===")
        for line, answer in zip(STUDENT[:12], interview(client, style, turns=12), strict=True):
            print(f"  Student: {line}\n  Client:  {answer}")
