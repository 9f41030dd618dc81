"""Accuracy of the coder on the hand-labelled turns in ``labelled_turns.jsonl``.

Each row is a realistic student turn with the client turn before it, labelled
by the MITI 4.2.1 definitions and the turn rule of :mod:`skills.coding` (main
behaviour = last utterance that is not "other"; ``question`` = kind of the
turn's last question; ``reflection`` = complex if any reflection is). Labels
were written before the coder and not changed to suit it.

``split`` marks three batches, each scored once before any rule changed
because of it:

* ``dev`` (144 rows), written first; the rules were built looking at it.
* ``holdout`` (63), written apart. First run: macro-F1 0.88, open/closed
  27/27, simple/complex 14/22. General fixes followed (punctuation in "That's
  fine.", "exercise is" read as an imperative, a stemming slip).
* ``blind`` (45), written last in a messier chat voice. First run: behaviour
  accuracy 38/45 (0.84), macro-F1 0.57 (two rows each of input and other, so
  one miss moves it by 0.1), open/closed 16/18, simple/complex 11/21. General
  fixes followed (chat "isolating how" without "?", scaling questions, "you
  could just walk more", reassurance that denies the client's words).

So no batch is untouched now, and all were written by the rules' author.
The first-run blind numbers are the honest estimate: expect about that on
real, expert-coded sessions (target there: macro-F1 > 0.72, open/closed >
0.85), and least agreement on simple versus complex, where MITI coders also
agree least.

Run ``pytest tests/skills -q -s`` to see the report.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from skills import Behaviour, Flag, InputKind, QuestionKind, ReflectionKind, code_turn

LABELS = Path(__file__).with_name("labelled_turns.jsonl")
MAIN = [b.value for b in Behaviour]
CHECKED_FLAGS = [
    Flag.EMPATHY,
    Flag.JUDGEMENT,
    Flag.ADVICE_WITHOUT_PERMISSION,
    Flag.ASKS_ABOUT_SECRETS,
]

SPLITS = ("dev", "holdout", "blind")
MACRO_F1_FLOOR = 0.80
OPEN_CLOSED_FLOOR = 0.90
FLAG_FLOOR = 0.70


@dataclass(frozen=True, slots=True)
class Row:
    client: str | None
    student: str
    behaviour: str
    question: str | None
    reflection: str | None
    input: str | None
    affirmation: bool
    summary: bool
    flags: frozenset[str]
    split: str


@dataclass(frozen=True, slots=True)
class Predicted:
    behaviour: str
    question: str | None
    reflection: str | None
    input: str | None
    affirmation: bool
    summary: bool
    flags: frozenset[str]


def load_rows() -> list[Row]:
    rows = []
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        rows.append(
            Row(
                client=data["client"],
                student=data["student"],
                behaviour=data["behaviour"],
                question=data["question"],
                reflection=data["reflection"],
                input=data.get("input"),
                affirmation=data["affirmation"],
                summary=data["summary"],
                flags=frozenset(data.get("flags", [])),
                split=data.get("split", "dev"),
            )
        )
    return rows


def coder(row: Row) -> Predicted:
    code = code_turn(row.student, row.client)
    return Predicted(
        behaviour=code.behaviour.value,
        question=code.question.value if code.question else None,
        reflection=code.reflection.value if code.reflection else None,
        input=code.input.value if code.input else None,
        affirmation=code.affirmation,
        summary=code.summary,
        flags=frozenset(flag.value for flag in code.flags),
    )


_WH = re.compile(r"^\W*(what|how|why|when|where|who|which|tell me|describe)\b", re.I)


def keyword_baseline(row: Row) -> Predicted:
    """What a keyword reader does: '?' means question, "you"/"it sounds" means
    reflection, "should"/"try" means advice, the rest is other."""
    text = row.student.strip()
    lower = text.lower()
    question: str | None = None
    reflection: str | None = None
    if text.endswith("?") or _WH.match(text):
        behaviour = "question"
        question = "open" if _WH.match(text) else "closed"
    elif re.search(r"\b(should|try|need to|recommend)\b", lower):
        behaviour = "input"
    elif re.match(r"^\W*(you|it sounds|sounds like|so you)\b", lower):
        behaviour, reflection = "reflection", "simple"
    else:
        behaviour = "other"
    return Predicted(behaviour, question, reflection, None, False, False, frozenset())


@dataclass(frozen=True, slots=True)
class Report:
    per_label: dict[str, tuple[float, float, float, int]]
    macro_f1: float
    accuracy: tuple[int, int]
    open_closed: tuple[int, int]
    simple_complex: tuple[int, int]
    input_kind: tuple[int, int]
    flags: dict[str, tuple[float, float, int]]

    @property
    def open_closed_accuracy(self) -> float:
        right, total = self.open_closed
        return right / total if total else 0.0

    def text(self, title: str) -> str:
        lines = [title]
        for label, (precision, recall, f1, n) in self.per_label.items():
            lines.append(
                f"  {label:<10} precision {precision:.2f}  recall {recall:.2f}  "
                f"F1 {f1:.2f}  (n={n})"
            )
        lines.append(f"  macro-F1 {self.macro_f1:.3f}")
        for name, (right, total) in (
            ("behaviour", self.accuracy),
            ("open/closed", self.open_closed),
            ("simple/complex", self.simple_complex),
            ("input kind", self.input_kind),
        ):
            share = right / total if total else 0.0
            lines.append(f"  {name} accuracy {share:.2f} ({right}/{total})")
        for flag, (precision, recall, n) in self.flags.items():
            lines.append(
                f"  flag {flag:<26} precision {precision:.2f}  recall {recall:.2f}  (n={n})"
            )
        return "\n".join(lines)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _agreement(pairs: Iterable[tuple[str | None, str | None]]) -> tuple[int, int]:
    """Agreement on a sub-kind, over rows where both gold and prediction have one."""
    both = [(gold, got) for gold, got in pairs if gold is not None and got is not None]
    return sum(gold == got for gold, got in both), len(both)


def score(rows: list[Row], predict: Callable[[Row], Predicted]) -> Report:
    predictions = [predict(row) for row in rows]
    confusion = Counter(
        (row.behaviour, got.behaviour) for row, got in zip(rows, predictions, strict=True)
    )
    per_label = {}
    for label in MAIN:
        tp = confusion[(label, label)]
        fp = sum(confusion[(gold, label)] for gold in MAIN if gold != label)
        fn = sum(confusion[(label, got)] for got in MAIN if got != label)
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_label[label] = (precision, recall, f1, tp + fn)
    flags = {}
    for flag in CHECKED_FLAGS:
        gold = [flag.value in row.flags for row in rows]
        got = [flag.value in p.flags for p in predictions]
        tp = sum(g and p for g, p in zip(gold, got, strict=True))
        flags[flag.value] = (_ratio(tp, sum(got)), _ratio(tp, sum(gold)), sum(gold))
    return Report(
        per_label=per_label,
        macro_f1=sum(f1 for _, _, f1, _ in per_label.values()) / len(MAIN),
        accuracy=(sum(confusion[(label, label)] for label in MAIN), len(rows)),
        open_closed=_agreement(
            (r.question, p.question) for r, p in zip(rows, predictions, strict=True)
        ),
        simple_complex=_agreement(
            (r.reflection, p.reflection) for r, p in zip(rows, predictions, strict=True)
        ),
        input_kind=_agreement((r.input, p.input) for r, p in zip(rows, predictions, strict=True)),
        flags=flags,
    )


def test_the_labelled_set_is_well_formed() -> None:
    rows = load_rows()
    assert len(rows) >= 150
    questions, reflections = {k.value for k in QuestionKind}, {k.value for k in ReflectionKind}
    for row in rows:
        assert row.behaviour in MAIN, row
        assert row.question is None or row.question in questions, row
        assert row.reflection is None or row.reflection in reflections, row
        assert row.input is None or row.input in {k.value for k in InputKind}, row
        assert row.flags <= {f.value for f in Flag}, row
        assert row.split in SPLITS, row
        if row.behaviour == "question":
            assert row.question is not None, row
        if row.behaviour == "reflection" or row.summary:
            assert row.reflection is not None, row
        if row.behaviour == "input":
            assert row.input is not None, row
    assert len({(row.client, row.student) for row in rows}) == len(rows), "duplicate rows"


def test_accuracy_on_the_labelled_set() -> None:
    rows = load_rows()
    report = score(rows, coder)
    texts = [report.text(f"coder, all {len(rows)} labelled turns")]
    for split in SPLITS:
        part = [row for row in rows if row.split == split]
        texts.append(score(part, coder).text(f"coder, {split} ({len(part)})"))
    texts.append(score(rows, keyword_baseline).text("keyword baseline, all"))
    message = "\n".join(texts)
    print("\n" + message)
    assert report.macro_f1 >= MACRO_F1_FLOOR, message
    assert report.open_closed_accuracy >= OPEN_CLOSED_FLOOR, message
    assert report.macro_f1 > score(rows, keyword_baseline).macro_f1, message


@pytest.mark.parametrize(
    "flag", ["empathy", "judgement", "asks_about_secrets", "advice_without_permission"]
)
def test_the_flags_trust_depends_on_are_mostly_right(flag: str) -> None:
    """Floors, not targets: judgement misses disbelief and blame phrased as a
    question ("Do you really believe that?"), 3 of its 12 labelled rows."""
    report = score(load_rows(), coder)
    precision, recall, n = report.flags[flag]
    assert n >= 5
    assert precision >= FLAG_FLOOR and recall >= FLAG_FLOOR, report.text("flags")
