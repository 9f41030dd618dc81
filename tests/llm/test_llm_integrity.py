"""Persona integrity checks: the labelled replies in ``integrity_replies.jsonl`` and the rules.

Each row is a client reply for one of the five personas below, labelled with the flags it
deserves by the definitions in :mod:`llm.integrity` (an empty list: a good reply). A row's
``unlocked`` lists the persona's facts the app has unlocked (default none): those are in the
prompt and may be told; the others are the locked facts. ``max_chars`` defaults to 1,200.
The system prompt is the real one, :func:`llm.persona.build_system_prompt`.

``split`` marks two batches, each scored once before any rule changed because of it:

* ``dev`` (68 good, 73 bad), written before the checker's code but by its author, with
  hard cases a pattern gets wrong (an in-character "I'm not a robot", reported advice,
  another person with the persona's name, "Will" as a modal). First run: every good reply
  passed, 3 rows missed. Fixes: a quote that shortens "Sam Taylor" to "Sam" is still a
  quote; one label was corrected (Sam's background itself tells his locked fact 0, so
  quoting it also leaks that fact).
* ``blind`` (20 good, 16 bad), written after the checker in a different voice. First run:
  19/20 good replies passed, 11/16 bad ones flagged; recall speaks_as_ai 3/6,
  counsels_student 1/3, leaks_locked_fact 1/3, third_person 5/5. General fixes followed
  (refusal templates, "As Maria, I would say", validation with an adverb, "you might find
  it helpful", "in front of" as a function word). Still missed: a paraphrase of a locked
  fact that shares too few of its words ("lost my licence" for "cautioned for drink-driving").

So no batch is untouched now. The blind first run is the honest estimate of how the checks
do on replies nobody wrote for them: few false alarms, and roughly two bad replies in
three caught, fewest among paraphrased leaks and counselling. Run
``pytest tests/llm/test_llm_integrity.py -q -s`` for the report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from llm.base import HiddenFact, Persona
from llm.integrity import IntegrityFlag, check_reply, content_stems, mentions_fact
from llm.persona import build_system_prompt

LABELS = Path(__file__).with_name("integrity_replies.jsonl")
MAX_CHARS = 1200
PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.9
#: Good replies passed and bad replies flagged, as a share of each.
ACCURACY_FLOOR = 0.95

PERSONAS = {
    "sam": Persona(
        name="Sam Taylor",
        age=34,
        pronouns="he/him",
        background="Works night shifts at a distribution warehouse and has been drinking more "
        "since his father's death.",
        presenting_problem="Sent by his GP about his drinking.",
        personality="Dry humour, defensive when pushed.",
        difficulty=3,
        opening_line="Hi. I'm Sam. I'm not sure what I'm supposed to say, really.",
        hidden_facts=(
            HiddenFact(
                "Their father died four months ago",
                "My dad died in March and I haven't really dealt with it.",
                ("father", "dad", "funeral", "grief"),
                40,
            ),
            HiddenFact(
                "Was cautioned by police for drink-driving last year and has hidden it from "
                "their employer",
                "I got done for drink-driving last year. Work doesn't know.",
                ("police", "driving", "licence", "caution"),
                65,
            ),
        ),
    ),
    "maria": Persona(
        name="Maria Lopez",
        age=52,
        pronouns="she/her",
        background="A ward nurse who lives with her mother.",
        presenting_problem="Struggling to cope with caring for a mother with dementia while "
        "working full time.",
        difficulty=4,
        instructions="Be irritable whenever the student mentions your mother's care home.",
        hidden_facts=(
            HiddenFact(
                "Has been taking her mother's sleeping pills to get through night shifts",
                "I've been taking Mum's sleeping pills to get through my shifts.",
                ("pills", "medication", "sleep"),
                60,
            ),
            HiddenFact(
                "Her brother has not visited in two years and she resents him",
                topics=("brother", "family"),
            ),
        ),
    ),
    "jay": Persona(
        name="Jay",
        age=17,
        pronouns="they/them",
        background="Sixth-form student who has stopped going to school.",
        presenting_problem="School refusal and anxiety.",
        difficulty=3,
        hidden_facts=(
            HiddenFact(
                "Is being bullied online by classmates",
                "Some kids in my class keep posting stuff about me.",
                ("bullying", "online", "phone", "classmates"),
            ),
            HiddenFact(
                "Has not told their parents they failed two exams",
                topics=("exams", "parents", "grades"),
            ),
        ),
    ),
    "grace": Persona(
        name="Grace Okafor",
        age=71,
        pronouns="she/her",
        background="Lost her husband Harold two years ago and lives alone in the family home.",
        presenting_problem="Loneliness; her GP is worried about falls.",
        difficulty=2,
        hidden_facts=(
            HiddenFact(
                "Fell in the bathroom last month and lay on the floor for hours before a "
                "neighbour found her",
                topics=("fall", "bathroom", "neighbour"),
            ),
            HiddenFact(
                "Is afraid her son will put her in a care home",
                "I'm scared my son wants to put me in a home.",
                ("son", "care home"),
            ),
        ),
    ),
    "will": Persona(
        name="Will Baker",
        age=45,
        pronouns="he/him",
        background="Unemployed since the spring; his partner left with the children.",
        presenting_problem="Referred by the family court for anger.",
        difficulty=5,
        hidden_facts=(
            HiddenFact(
                "Punched a wall during an argument with his ex-partner in front of the kids",
                "I put my fist through the wall when she was shouting. The kids were there.",
                ("wall", "argument", "kids", "punch"),
            ),
            HiddenFact(
                "Has been sleeping in his car for two weeks",
                "I've been kipping in the car.",
                ("car", "sleeping", "housing"),
            ),
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class Row:
    persona: str
    reply: str
    flags: frozenset[IntegrityFlag]
    unlocked: tuple[int, ...]
    max_chars: int
    note: str
    split: str


def load_rows() -> list[Row]:
    rows = []
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        rows.append(
            Row(
                raw["persona"],
                raw["reply"],
                frozenset(IntegrityFlag(f) for f in raw["flags"]),
                tuple(raw.get("unlocked", ())),
                raw.get("max_chars", MAX_CHARS),
                raw.get("note", ""),
                raw["split"],
            )
        )
    return rows


def predict(row: Row) -> frozenset[IntegrityFlag]:
    profile = PERSONAS[row.persona]
    unlocked = tuple(f for i, f in enumerate(profile.hidden_facts) if i in row.unlocked)
    locked = tuple(f for i, f in enumerate(profile.hidden_facts) if i not in row.unlocked)
    persona = replace(profile, hidden_facts=unlocked)
    result = check_reply(
        row.reply,
        persona,
        locked_facts=locked,
        system_prompt=build_system_prompt(persona),
        max_chars=row.max_chars,
    )
    assert result.ok == (not result.findings)
    return result.flags


def ratio(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def report(rows: Sequence[Row], predicted: Sequence[frozenset[IntegrityFlag]]) -> str:
    lines = [f"{'flag':20} {'n':>3} {'precision':>9} {'recall':>6}"]
    for flag in IntegrityFlag:
        true_pos = sum(flag in p and flag in r.flags for r, p in zip(rows, predicted, strict=True))
        said = sum(flag in p for p in predicted)
        actual = sum(flag in r.flags for r in rows)
        precision, recall = ratio(true_pos, said), ratio(true_pos, actual)
        lines.append(f"{flag:20} {actual:3} {precision:9.2f} {recall:6.2f}")
    for row, flags in zip(rows, predicted, strict=True):
        if flags != row.flags:
            wrong = f"said {sorted(flags)}, labelled {sorted(row.flags)}"
            lines.append(f"  MISS {row.persona}: {row.reply[:70]!r}: {wrong}")
    return "\n".join(lines)


def test_the_labelled_set_is_big_enough_and_covers_every_flag() -> None:
    rows = load_rows()
    assert sum(not r.flags for r in rows) >= 60
    assert sum(bool(r.flags) for r in rows) >= 60
    for flag in IntegrityFlag:
        assert sum(flag in r.flags for r in rows) >= 3, flag


def test_precision_and_recall_per_flag_on_the_labelled_set() -> None:
    rows = load_rows()
    predicted = [predict(row) for row in rows]
    for split in ("dev", "blind"):
        chosen = [(r, p) for r, p in zip(rows, predicted, strict=True) if r.split == split]
        print(f"\n{split}:\n" + report([r for r, _ in chosen], [p for _, p in chosen]))
    for flag in IntegrityFlag:
        true_pos = sum(flag in p and flag in r.flags for r, p in zip(rows, predicted, strict=True))
        assert ratio(true_pos, sum(flag in p for p in predicted)) >= PRECISION_FLOOR, flag
        assert ratio(true_pos, sum(flag in r.flags for r in rows)) >= RECALL_FLOOR, flag
    good = [bool(p) for r, p in zip(rows, predicted, strict=True) if not r.flags]
    bad = [bool(p) for r, p in zip(rows, predicted, strict=True) if r.flags]
    assert ratio(good.count(False), len(good)) >= ACCURACY_FLOOR
    assert ratio(bad.count(True), len(bad)) >= ACCURACY_FLOOR


SAM = PERSONAS["sam"]


def check(reply: str, *, locked: Sequence[HiddenFact] = (), max_chars: int = MAX_CHARS) -> set[str]:
    persona = replace(SAM, hidden_facts=())
    result = check_reply(
        reply,
        persona,
        locked_facts=locked,
        system_prompt=build_system_prompt(persona),
        max_chars=max_chars,
    )
    return {finding.flag.value for finding in result.findings}


def test_a_good_reply_is_ok_with_no_findings() -> None:
    persona = replace(SAM, hidden_facts=())
    result = check_reply(
        "Nights are long.", persona, locked_facts=(), system_prompt="", max_chars=100
    )
    assert result.ok
    assert result.findings == ()


def test_each_finding_gives_a_reason_naming_what_it_saw() -> None:
    persona = replace(SAM, hidden_facts=())
    result = check_reply(
        "As an AI I can't say. How does that make you feel?",
        persona,
        locked_facts=(),
        system_prompt="",
        max_chars=1000,
    )
    reasons = {f.flag: f.reason for f in result.findings}
    assert "as an ai" in reasons[IntegrityFlag.SPEAKS_AS_AI]
    assert "make you feel" in reasons[IntegrityFlag.COUNSELS_STUDENT]


def test_advice_opening_a_sentence_counsels_only_there() -> None:
    """Advice opening a sentence ("Maybe try ...", "Give yourself ...") counsels (its own
    rule, matched at the sentence's start), and names the words it saw; the same words
    inside a sentence, or advice reported, are not."""
    persona = replace(SAM, hidden_facts=())
    for reply, words in (
        ("Maybe try journaling, it helps with stress.", "maybe try"),
        ("I hear you. Give yourself a break, the stress will pass.", "give yourself"),
    ):
        result = check_reply(reply, persona, locked_facts=(), system_prompt="", max_chars=1000)
        reasons = {f.flag: f.reason for f in result.findings}
        assert words in reasons[IntegrityFlag.COUNSELS_STUDENT], reply
    assert check("I might try journaling again, the stress is bad.") == set()
    assert check("My therapist said maybe try journaling for the stress.") == set()


def test_an_empty_reply_is_only_empty() -> None:
    assert check("") == {"empty"}
    assert check(" ... ") == {"empty"}


def test_length_is_checked_against_max_chars_exactly() -> None:
    assert check("x" * 50, max_chars=50) == set()
    assert check("x" * 51, max_chars=50) == {"too_long"}


def test_a_loop_is_twelve_words_twice_or_six_words_three_times() -> None:
    twelve = "the bus was late and the rain came in through my boots"
    assert check(f"{twelve}, and then {twelve}.", max_chars=1000) == {"repetitive"}
    six = "and the rain came in again"
    assert check(f"{six}, {six}, nothing else.", max_chars=1000) == set()
    assert check(f"{six}, {six}, {six}.", max_chars=1000) == {"repetitive"}
    # Eleven of the twelve words twice is how people talk.
    eleven = twelve.rpartition(" ")[0]
    assert check(f"{eleven} first, then {eleven}.", max_chars=1000) == set()


def test_prompt_quotes_need_eight_words_in_a_row() -> None:
    seven = "works night shifts at a distribution warehouse"  # 7 words of the background
    assert check(f"I mean, {seven}, yeah.") == set()
    assert check(f"I mean, {seven} and, yeah.") == {"quotes_prompt"}


def test_the_opening_line_and_unlocked_facts_may_be_said() -> None:
    persona = SAM  # both facts unlocked: in the prompt, meant to be told
    prompt = build_system_prompt(persona)
    for reply in (SAM.opening_line, SAM.hidden_facts[0].fact, SAM.hidden_facts[1].fact):
        result = check_reply(reply, persona, locked_facts=(), system_prompt=prompt, max_chars=500)
        assert result.ok, (reply, result)


def test_a_locked_fact_is_flagged_and_the_same_reply_is_fine_once_unlocked() -> None:
    reply = "My dad passed away a few months ago."
    assert check(reply, locked=SAM.hidden_facts[:1]) == {"leaks_locked_fact"}
    assert check(reply) == set()


def test_the_persona_may_say_its_own_name_in_the_first_person() -> None:
    assert check("I'm Sam. Sam Taylor, if you need the full thing.") == set()
    assert check("Sam Taylor doesn't talk about his dad.") == {"third_person"}


def test_fact_matching_ignores_person_and_everyday_words_alone() -> None:
    fact = SAM.hidden_facts[0]
    assert content_stems("their father died") == content_stems("my dad died")
    assert mentions_fact(fact, "Dad died. Four months back.")
    assert not mentions_fact(fact, "My dad rang me last month.")  # father and month: everyday
    assert not mentions_fact(fact, "")


@pytest.mark.parametrize(
    "reply",
    [
        "I'm not a robot, you know.",
        "My counsellor said I should try breathing exercises.",
        "You should try working nights for a year.",
        "I will be honest. I don't know. I don't know.",
    ],
)
def test_hard_cases_in_character_pass(reply: str) -> None:
    assert check(reply) == set()


def test_checking_is_deterministic() -> None:
    rows = load_rows()
    assert [predict(r) for r in rows] == [predict(r) for r in rows]
