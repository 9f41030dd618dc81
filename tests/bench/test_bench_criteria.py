"""The capacity sweep's pass rule (pure): a step whose says wait to reach the model fails,
however smoothly its chunks stream (a product that queues replies past a slot limit
keeps chunk latency low while sessions wait)."""

from __future__ import annotations

from typing import Any

from bench.stats import Criteria, judge


def step(*, chunk_p99: float | None = 10.0, say_p99: float | None = 20.0) -> dict[str, Any]:
    return {
        "latency_ms": {"p99": chunk_p99},
        "say_to_upstream_ms": {"p99": say_p99},
        "loss": {"missing_chunks": 0, "unfinished_replies": 0},
        "errors": {},
        "closures": {},
        "others": {"cpu_percent": 0.0},
    }


def test_a_step_passes_with_its_chunks_and_says_within_the_limits() -> None:
    assert judge(step(), Criteria())["passed"]
    assert judge(step(say_p99=None), Criteria())["passed"]  # no say reached the model yet


def test_says_waiting_for_the_model_fail_a_step_whose_chunks_stream_smoothly() -> None:
    judged = judge(step(chunk_p99=12.7, say_p99=1127.3), Criteria())
    assert not judged["passed"]
    assert judged["why"] == ["say>up p99 1127 ms > 500 ms"]
    assert judge(step(say_p99=1127.3), Criteria(max_say_p99_ms=2000))["passed"]


def test_both_rules_report_together() -> None:
    judged = judge(step(chunk_p99=80.0, say_p99=900.0), Criteria())
    assert judged["why"] == ["p99 80 ms > 50 ms", "say>up p99 900 ms > 500 ms"]
