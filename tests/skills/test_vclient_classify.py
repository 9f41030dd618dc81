"""`vclient skills classify FILE` as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

TRANSCRIPT = [
    {"role": "client", "text": "I haven't been sleeping since I lost the job."},
    {"role": "student", "text": "Do you sleep at all?"},
    {"role": "client", "text": "A few hours. I lie there thinking about money."},
    {"role": "student", "text": "So the worry about money keeps you awake at night."},
    {"role": "student", "text": "What has helped you through hard times before?"},
]


def vclient(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_classify_prints_one_line_per_student_turn(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(turn) for turn in TRANSCRIPT) + "\n")
    done = vclient("skills", "classify", str(path), cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["index"], line["behaviour"], line["question"]) for line in lines] == [
        (1, "question", "closed"),
        (3, "reflection", None),
        (4, "question", "open"),
    ]
    assert set(lines[0]) == {
        "index",
        "behaviour",
        "question",
        "reflection",
        "affirmation",
        "summary",
    }


def test_classify_a_100_turn_transcript_quickly(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    turns = [TRANSCRIPT[n % len(TRANSCRIPT)] for n in range(100)]
    path.write_text("\n".join(json.dumps(turn) for turn in turns))
    started = time.perf_counter()
    done = vclient("skills", "classify", str(path), cwd=Path.cwd())
    elapsed = time.perf_counter() - started
    print(f"\n100 turns coded by a fresh vclient process in {elapsed:.2f} s (start-up included)")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 60


@pytest.mark.parametrize(
    "content", ['{"role": "student"}', '{"role": "teacher", "text": "hi"}', "not json"]
)
def test_bad_input_exits_2_naming_the_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(TRANSCRIPT[0]) + "\n" + content + "\n")
    done = vclient("skills", "classify", str(path), cwd=Path.cwd())
    assert done.returncode == 2 and done.stdout == ""
    assert "line 2" in done.stderr
