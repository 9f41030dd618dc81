"""A student's skills across sessions, and a small SVG line chart for the review page.

Students are told apart by email (case-insensitive), else by name (case and
spacing ignored), since a teacher may open sessions without an email. Each
student gets three series, ordered by session time, beside their fidelity
thresholds: % open questions, reflection-to-question ratio, % complex reflections.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from skills import (
    COMPLEX_REFLECTION_SHARE,
    OPEN_QUESTION_SHARE,
    REFLECTION_TO_QUESTION,
    SessionMetrics,
    Threshold,
)

__all__ = [
    "SERIES",
    "Point",
    "SeriesSpec",
    "SessionRecord",
    "StudentProgress",
    "StudentSeries",
    "line_chart_svg",
    "progress_by_student",
    "student_key",
]

MetricsData = SessionMetrics | Mapping[str, Mapping[str, object]]


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    metric: str
    label: str
    #: 100 for a share shown as a percentage, 1 for a ratio.
    scale: float
    threshold: Threshold


SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec("open_question_share", "% open questions", 100, OPEN_QUESTION_SHARE),
    SeriesSpec("reflection_to_question", "reflections per question", 1, REFLECTION_TO_QUESTION),
    SeriesSpec("complex_reflection_share", "% complex reflections", 100, COMPLEX_REFLECTION_SHARE),
)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One evaluated session; ``metrics`` as ``SessionMetrics`` or its ``as_dict()``
    (the ``metrics`` object of a stored evaluation)."""

    session_id: str
    at: datetime
    student_name: str
    student_email: str | None
    metrics: MetricsData


@dataclass(frozen=True, slots=True)
class Point:
    session_id: str
    at: datetime
    #: None when the session had nothing to divide by (no questions, no reflections).
    value: float | None


@dataclass(frozen=True, slots=True)
class StudentSeries:
    spec: SeriesSpec
    points: tuple[Point, ...]

    @property
    def thresholds(self) -> dict[str, float]:
        t, s = self.spec.threshold, self.spec.scale
        return {"fair": t.fair * s, "good": t.good * s}


@dataclass(frozen=True, slots=True)
class StudentProgress:
    key: str
    #: the name on the student's latest session.
    name: str
    email: str | None
    series: tuple[StudentSeries, ...]


def student_key(name: str, email: str | None) -> str:
    if email and email.strip():
        return "email:" + email.strip().casefold()
    return "name:" + " ".join(name.split()).casefold()


def progress_by_student(records: Sequence[SessionRecord]) -> tuple[StudentProgress, ...]:
    """Every student's series, students ordered by key, sessions by time then id."""
    groups: dict[str, list[SessionRecord]] = {}
    for record in records:
        groups.setdefault(student_key(record.student_name, record.student_email), []).append(record)
    out = []
    for key in sorted(groups):
        sessions = sorted(groups[key], key=lambda r: (r.at, r.session_id))
        series = tuple(
            StudentSeries(
                spec,
                tuple(Point(r.session_id, r.at, _value(r.metrics, spec)) for r in sessions),
            )
            for spec in SERIES
        )
        latest = sessions[-1]
        out.append(StudentProgress(key, latest.student_name, latest.student_email, series))
    return tuple(out)


def _value(metrics: MetricsData, spec: SeriesSpec) -> float | None:
    if isinstance(metrics, SessionMetrics):
        raw: object = getattr(metrics, spec.metric).value
    else:
        raw = metrics.get(spec.metric, {}).get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        return None
    return float(raw) * spec.scale


# Chart geometry in px: room for y labels on the left, x labels below, the title above.
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 28, 28
MIN_WIDTH, MIN_HEIGHT = 160, 100
#: x labels drawn at most; beyond this every n-th one, so labels never overlap.
MAX_X_LABELS = 8
_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)


def line_chart_svg(
    points: Sequence[tuple[str, float | None]],
    thresholds: Mapping[str, float],
    width: int,
    height: int,
    title: str,
) -> str:
    """A self-contained SVG line chart: ``points`` are (x label, value) in order, a None
    value breaks the line; each threshold is a dashed line with its name. Every text
    is XML-escaped. Raises ``ValueError`` below 160 x 100 px."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(f"a chart needs at least {MIN_WIDTH} x {MIN_HEIGHT} px")
    values = [v for _, v in points if v is not None and math.isfinite(v)]
    lines = sorted(((n, v) for n, v in thresholds.items() if math.isfinite(v)), key=lambda t: t[1])
    top = _nice_ceiling(max([*values, *(v for _, v in lines), 0.0]))
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0

    def x(i: int) -> float:
        return _LEFT + (i * step if len(points) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return _TOP + plot_h * (1 - max(0.0, min(value, top)) / top)

    label = _text(title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}">',
        f"<title>{label}</title>",
        f'<text x="{_LEFT}" y="16" font-size="13" font-weight="bold">{label}</text>',
        _line(_LEFT, _TOP, _LEFT, _TOP + plot_h, 'stroke="#888"'),
        _line(_LEFT, _TOP + plot_h, _LEFT + plot_w, _TOP + plot_h, 'stroke="#888"'),
    ]
    for tick in (0.0, top / 2, top):
        parts.append(
            f'<text x="{_LEFT - 4}" y="{y(tick) + 4:.1f}" font-size="10" '
            f'text-anchor="end">{_text(_number(tick))}</text>'
        )
    for name, value in lines:
        parts.append(_line(_LEFT, y(value), _LEFT + plot_w, y(value), _THRESHOLD_STYLE))
        parts.append(
            f'<text x="{_LEFT + plot_w}" y="{y(value) - 3:.1f}" font-size="10" '
            f'text-anchor="end" fill="#666">{_text(f"{name} {_number(value)}")}</text>'
        )
    for run in _runs(points):
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in run)
        parts.append(f'<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{coords}"/>')
    every = max(1, math.ceil(len(points) / MAX_X_LABELS))
    for i, (x_label, point) in enumerate(points):
        if point is not None and math.isfinite(point):
            tip = _text(f"{x_label}: {_number(point)}")
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(point):.1f}" r="3" fill="#1f5fa8">'
                f"<title>{tip}</title></circle>"
            )
        if i % every == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 8}" font-size="10" '
                f'text-anchor="middle">{_text(x_label)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


_THRESHOLD_STYLE = 'stroke="#999" stroke-dasharray="4 3"'


def _runs(points: Sequence[tuple[str, float | None]]) -> list[list[tuple[int, float]]]:
    runs: list[list[tuple[int, float]]] = [[]]
    for i, (_, value) in enumerate(points):
        if value is None or not math.isfinite(value):
            runs.append([])
        else:
            runs[-1].append((i, value))
    return [run for run in runs if len(run) > 1]


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(n * power for n in _NICE if n * power >= value * (1 - 1e-9))


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) or abs(value) >= 10 else f"{value:.2g}"


def _line(x1: float, y1: float, x2: float, y2: float, style: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}/>'


def _text(text: str) -> str:
    """Escaped for element text and for double- or single-quoted attributes alike."""
    return escape(text, {'"': "&quot;", "'": "&apos;"})
