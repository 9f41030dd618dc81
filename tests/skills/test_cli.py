"""``classify FILE``: JSON lines in, one JSON line per student turn out, exit 2 on bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from skills.cli import classify_main


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "transcript.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def turn(role: str, text: str) -> str:
    return json.dumps({"role": role, "text": text})


def run(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = classify_main(argv, stdout, stderr)
    return status, stdout.getvalue(), stderr.getvalue()


def test_prints_one_exact_line_per_student_turn_in_order(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        turn("student", "Hi, thanks for coming."),
        turn("client", "I've been drinking every night since I lost my job."),
        "",
        turn("student", "You've been drinking every night since losing your job."),
        turn("student", "What's that been like?"),
    )
    status, out, err = run([str(path)])
    assert (status, err) == (0, "")
    assert out == (
        '{"index": 0, "behaviour": "other", "question": null, "reflection": null, '
        '"affirmation": false, "summary": false}\n'
        '{"index": 3, "behaviour": "reflection", "question": null, "reflection": "simple", '
        '"affirmation": false, "summary": false}\n'
        '{"index": 4, "behaviour": "question", "question": "open", "reflection": null, '
        '"affirmation": false, "summary": false}\n'
    )


def test_extra_keys_are_ignored_and_flags_are_reported(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        json.dumps({"role": "client", "text": "I finally called the helpline.", "at": 3}),
        turn("student", "That took a lot of courage."),
    )
    status, out, _ = run([str(path)])
    assert status == 0
    assert json.loads(out)["affirmation"] is True


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('["student", "hi"]', "line 2: expected a JSON object"),
        ('{"role": "therapist", "text": "hi"}', "line 2: unknown role 'therapist'"),
        ('{"text": "hi"}', "line 2: unknown role None"),
        ('{"role": "student"}', 'line 2: missing "text"'),
        ('{"role": "student", "text": 3}', 'line 2: "text" must be a string'),
        ('{"role": ["student"], "text": "hi"}', "line 2: unknown role ['student']"),
    ],
)
def test_bad_input_exits_2_naming_the_line(tmp_path: Path, bad_line: str, expected: str) -> None:
    path = write_lines(tmp_path, turn("student", "Hello."), bad_line, turn("client", "Hi."))
    status, out, err = run([str(path)])
    assert status == 2
    assert out == ""
    assert expected in err
    assert str(path) in err


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    status, out, err = run([str(tmp_path / "absent.jsonl")])
    assert (status, out) == (2, "")
    assert "cannot read" in err


def test_usage(tmp_path: Path) -> None:
    assert run([])[0] == 2
    assert run(["a", "b"])[0] == 2
    status, out, _ = run(["--help"])
    assert status == 0 and out.startswith("usage: classify FILE")


def test_errors_go_to_sys_stderr_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(tmp_path, "{")
    assert classify_main([str(path)], io.StringIO()) == 2
    assert "line 1: not valid JSON" in capsys.readouterr().err


def test_a_hundred_turn_file(tmp_path: Path) -> None:
    lines = []
    for i in range(50):
        lines.append(turn("client", f"I had {i} drinks last week and I feel awful about it."))
        lines.append(turn("student", "You feel awful about it. What would you like to change?"))
    status, out, _ = run([str(write_lines(tmp_path, *lines))])
    rows = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert [row["index"] for row in rows] == list(range(1, 100, 2))
    assert {row["behaviour"] for row in rows} == {"question"}
    assert {row["reflection"] for row in rows} == {"simple"}
