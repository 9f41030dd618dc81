"""Pure arithmetic of the benchmark: percentiles, summaries, and the pass rule."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["Criteria", "judge", "percentile", "summary_ms"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of already sorted values, nearest rank; NaN if none."""
    if not ordered:
        return math.nan
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p99 and max of durations in seconds, in milliseconds (None when empty)."""
    ordered = sorted(seconds)
    if not ordered:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    return {
        "n": len(ordered),
        "p50": round(percentile(ordered, 50) * 1000, 2),
        "p99": round(percentile(ordered, 99) * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


class Criteria:
    """A step passes when chunk latency p99 is at most ``max_p99_ms``, say → model p99 at
    most ``max_say_p99_ms`` (a session whose replies wait to start is not carried, however
    smoothly the others stream), no chunk of a reply is missing at any socket, no say was
    refused and no socket was closed on us.

    It is *noisy* when processes not ours used more than ``max_noise_percent`` of a core
    during the window: its latencies say as much about them as about the server."""

    def __init__(
        self,
        max_p99_ms: float = 50.0,
        max_noise_percent: float = 25.0,
        max_say_p99_ms: float = 500.0,
    ) -> None:
        self.max_p99_ms = max_p99_ms
        self.max_say_p99_ms = max_say_p99_ms
        self.max_noise_percent = max_noise_percent

    def noisy(self, step: dict[str, Any]) -> bool:
        return bool(step["others"]["cpu_percent"] > self.max_noise_percent)

    def failures(self, step: dict[str, Any]) -> list[str]:
        reasons = []
        p99 = step["latency_ms"]["p99"]
        if p99 is None:
            reasons.append("no chunk arrived")
        elif p99 > self.max_p99_ms:
            reasons.append(f"p99 {p99:.0f} ms > {self.max_p99_ms:g} ms")
        say = step["say_to_upstream_ms"]["p99"]
        if say is not None and say > self.max_say_p99_ms:
            reasons.append(f"say>up p99 {say:.0f} ms > {self.max_say_p99_ms:g} ms")
        if step["loss"]["missing_chunks"]:
            reasons.append(f"lost {step['loss']['missing_chunks']} chunks")
        if step["loss"]["unfinished_replies"]:
            reasons.append(f"{step['loss']['unfinished_replies']} replies unfinished")
        if errors := sum(step["errors"].values()):
            reasons.append(f"{errors} errors")
        if closures := sum(step["closures"].values()):
            reasons.append(f"{closures} sockets closed")
        return reasons


def judge(step: dict[str, Any], criteria: Criteria) -> dict[str, Any]:
    """``step`` with ``passed``, ``why`` (the failed rules) and ``noisy`` added."""
    reasons = criteria.failures(step)
    return {**step, "passed": not reasons, "why": reasons, "noisy": criteria.noisy(step)}
