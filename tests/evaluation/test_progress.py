"""A student's metric series across sessions, and the SVG line chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from evaluation import SessionRecord, Turn, line_chart_svg, progress_by_student, student_key
from skills import Role, session_metrics

S, C = Role.STUDENT, Role.CLIENT
SVG = "{http://www.w3.org/2000/svg}"

CLOSED = session_metrics(
    [Turn(1, S, "Do you drink?"), Turn(2, C, "Yes."), Turn(3, S, "Every day?"), Turn(4, C, "Yes.")]
)
BETTER = session_metrics(
    [
        Turn(1, C, "I've been drinking every night since I lost my job."),
        Turn(2, S, "What has that been like?"),
        Turn(3, C, "It's the only thing that helps me relax."),
        Turn(4, S, "Part of you knows it isn't helping, and part of you needs it."),
    ]
)


def day(n: int) -> datetime:
    return datetime(2025, 3, n, 10, tzinfo=UTC)


def test_students_are_one_by_email_else_by_name() -> None:
    assert student_key("Ana", " Ana@Example.org ") == student_key("Ana B", "ana@example.org")
    assert student_key("  Ana   Bell ", None) == student_key("ana bell", "")
    assert student_key("Ana", None) != student_key("Ana", "ana@example.org")


def test_series_are_ordered_by_time_with_percent_shares_and_thresholds() -> None:
    records = [
        SessionRecord("s2", day(9), "Ana Bell", "ana@example.org", BETTER.as_dict()),
        SessionRecord("s1", day(2), "Ana", "ANA@example.org", CLOSED),
        SessionRecord("s3", day(5), "Ben", None, CLOSED),
    ]
    ana, ben = progress_by_student(records)
    assert (ana.key, ana.name, ben.key) == ("email:ana@example.org", "Ana Bell", "name:ben")
    open_share, ratio, complex_share = ana.series
    assert open_share.spec.label == "% open questions"
    assert [(p.session_id, p.value) for p in open_share.points] == [("s1", 0.0), ("s2", 100.0)]
    assert open_share.thresholds == {"fair": 50.0, "good": 70.0}
    assert [p.value for p in ratio.points] == [0.0, 1.0]
    assert ratio.thresholds == {"fair": 1.0, "good": 2.0}
    assert [p.value for p in complex_share.points] == [None, 100.0]
    assert complex_share.thresholds == {"fair": 40.0, "good": 50.0}


def test_the_chart_is_valid_svg_with_a_line_points_and_dashed_thresholds() -> None:
    svg = line_chart_svg(
        [("2 Mar", 20.0), ("5 Mar", 45.0), ("9 Mar", None), ("12 Mar", 80.0), ("15 Mar", 75.0)],
        {"fair": 50.0, "good": 70.0},
        480,
        200,
        "% open questions",
    )
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 480 200"
    assert root.get("aria-label") == "% open questions"
    lines = root.findall(f"{SVG}polyline")
    assert [len((line.get("points") or "").split()) for line in lines] == [2, 2]  # None breaks it
    assert len(root.findall(f"{SVG}circle")) == 4
    dashed = [e for e in root.findall(f"{SVG}line") if e.get("stroke-dasharray")]
    assert len(dashed) == 2
    texts = [e.text for e in root.iter(f"{SVG}text")]
    assert "fair 50" in texts and "good 70" in texts and "100" in texts and "15 Mar" in texts
    assert svg == line_chart_svg(
        [("2 Mar", 20.0), ("5 Mar", 45.0), ("9 Mar", None), ("12 Mar", 80.0), ("15 Mar", 75.0)],
        {"fair": 50.0, "good": 70.0},
        480,
        200,
        "% open questions",
    )


def test_every_text_is_escaped() -> None:
    evil = "<script>alert('x')</script> & \"quotes\""
    svg = line_chart_svg([(evil, 1.0), ("b", 2.0)], {evil: 1.5}, 300, 150, evil)
    assert "<script>" not in svg and "</script>" not in svg
    assert "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;quotes&quot;" in svg
    root = ET.fromstring(svg)
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    assert root.get("aria-label") == evil
    assert root.findtext(f"{SVG}title") == evil


def test_a_ratio_chart_scales_to_a_nice_top_and_a_single_point_is_a_dot() -> None:
    svg = line_chart_svg([("only", 2.3)], {"fair": 1.0, "good": 2.0}, 200, 120, "R:Q")
    root = ET.fromstring(svg)
    assert "2.5" in [e.text for e in root.iter(f"{SVG}text")]
    assert not root.findall(f"{SVG}polyline") and len(root.findall(f"{SVG}circle")) == 1
    empty = ET.fromstring(line_chart_svg([], {}, 200, 120, "nothing yet"))
    assert not empty.findall(f"{SVG}circle")


def test_a_chart_too_small_to_read_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 160 x 100"):
        line_chart_svg([], {}, 100, 100, "tiny")
