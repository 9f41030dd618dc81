"""The capacity sweep's bookkeeping and its bisection between the last passed and the first
failed S (pure: a fake ``measure`` stands for the servers and the driver), and the report
lines when configurations were measured at different S."""

from __future__ import annotations

from typing import Any

import pytest

from bench.capacity import DEFAULT_SWEEP, next_probe, parse_args, sweep_capacity
from bench.report import capacity_lines, cpu_lines


def test_a_probe_is_the_midpoint_on_a_multiple_of_5_while_the_gap_allows() -> None:
    assert next_probe(200, 250) == 225
    assert next_probe(150, 200) == 175
    assert next_probe(200, 225) == 210  # 212.5: ties go down
    assert next_probe(225, 250) == 235  # 237.5
    assert next_probe(0, 10) == 5
    assert next_probe(0, 25) == 10  # 12.5


def test_a_small_gap_is_split_at_its_midpoint_rounded_down_until_nothing_is_between() -> None:
    assert next_probe(5, 10) == 7
    assert next_probe(7, 10) == 8
    assert next_probe(0, 2) == 1
    assert next_probe(9, 10) is None
    assert next_probe(10, 10) is None
    assert next_probe(0, 1) is None


def test_every_probe_lies_strictly_inside_its_gap() -> None:
    for passed in range(0, 320):
        for failed in range(passed + 1, 330):
            probe = next_probe(passed, failed)
            if failed - passed < 2:
                assert probe is None
                continue
            assert probe is not None and passed < probe < failed, (passed, failed)
            if failed - passed >= 10:
                assert probe % 5 == 0, (passed, failed)
            # Bisection: neither side keeps much more than half of the gap.
            assert max(probe - passed, failed - probe) <= (failed - passed) / 2 + 2.5


class FakeServers:
    """A ``measure`` whose configurations carry up to a fixed S; it records every call."""

    def __init__(self, carries: dict[str, int]) -> None:
        self.carries = carries
        self.calls: list[tuple[str, int]] = []

    def __call__(self, name: str, sessions: int) -> dict[str, Any]:
        self.calls.append((name, sessions))
        return {"sessions": sessions, "passed": sessions <= self.carries[name]}


def measured(result: dict[str, Any]) -> list[tuple[int, bool, bool]]:
    return [(s["sessions"], s["passed"], s["refine_probe"]) for s in result["steps"]]


def test_a_configuration_is_refined_as_soon_as_it_fails_before_the_next_one_runs() -> None:
    servers = FakeServers({"baseline": 230, "memory-1w": 160})
    results = sweep_capacity(["baseline", "memory-1w"], DEFAULT_SWEEP, 2, servers)

    grid_to_150 = [(name, s) for s in DEFAULT_SWEEP[:6] for name in ("baseline", "memory-1w")]
    assert servers.calls == [
        *grid_to_150,
        ("baseline", 200),
        ("memory-1w", 200),
        ("memory-1w", 175),
        ("memory-1w", 160),
        ("baseline", 250),
        ("baseline", 225),
        ("baseline", 235),
    ]
    base, product = results["baseline"], results["memory-1w"]
    assert (base["capacity"], base["smallest_failed_s"], base["capped"]) == (225, 235, False)
    assert (product["capacity"], product["smallest_failed_s"]) == (160, 175)
    assert measured(product)[-3:] == [(200, False, False), (175, False, True), (160, True, True)]
    assert len(base["steps"]) == 10 and len(product["steps"]) == 9


def test_without_refinement_the_capacity_is_the_grid_step() -> None:
    servers = FakeServers({"baseline": 230, "memory-1w": 160})
    results = sweep_capacity(["baseline", "memory-1w"], DEFAULT_SWEEP, 0, servers)
    assert results["baseline"]["capacity"] == 200 and results["memory-1w"]["capacity"] == 150
    assert results["memory-1w"]["smallest_failed_s"] == 200
    assert not any(step["refine_probe"] for r in results.values() for step in r["steps"])


def test_refinement_stops_when_no_whole_number_is_left_between() -> None:
    servers = FakeServers({"baseline": 7})
    result = sweep_capacity(["baseline"], (5, 10), 5, servers)["baseline"]
    assert measured(result) == [
        (5, True, False),
        (10, False, False),
        (7, True, True),
        (8, False, True),  # 7 | 8: two probes of the five
    ]
    result = sweep_capacity(["baseline"], (5, 10), 5, FakeServers({"baseline": 8}))["baseline"]
    assert [s for s, *_ in measured(result)] == [5, 10, 7, 8, 9]
    assert (result["capacity"], result["smallest_failed_s"]) == (8, 9)


def test_a_configuration_failing_its_first_step_is_probed_down_from_0() -> None:
    result = sweep_capacity(["redis-1w"], (10, 25), 3, FakeServers({"redis-1w": 1}))["redis-1w"]
    assert [s for s, *_ in measured(result)] == [10, 5, 2, 1]
    assert (result["capacity"], result["smallest_failed_s"], result["first_s"]) == (1, 2, 10)


def test_a_configuration_passing_every_step_is_capped_and_never_probed() -> None:
    servers = FakeServers({"baseline": 1000})
    result = sweep_capacity(["baseline"], (10, 25), 2, servers)["baseline"]
    assert servers.calls == [("baseline", 10), ("baseline", 25)]
    assert (result["capacity"], result["capped"], result["smallest_failed_s"]) == (25, True, None)
    assert sweep_capacity(["baseline"], (), 2, servers)["baseline"]["capped"] is False


def test_quick_runs_refine_nothing_unless_asked() -> None:
    assert parse_args([]).refine == 2
    assert parse_args(["--quick"]).refine == 0
    assert parse_args(["--quick", "--refine", "1"]).refine == 1
    assert parse_args(["--refine", "0"]).refine == 0


@pytest.mark.parametrize(
    "argv", [["--refine", "-1"], ["--sessions", "50,25"], ["--sessions", "0,10"]]
)
def test_arguments_bisection_cannot_use_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)


def step(sessions: int, cpu_s: float, *, passed: bool = True) -> dict[str, Any]:
    return {"sessions": sessions, "passed": passed, "duration_s": 20.0, "server": {"cpu_s": cpu_s}}


def test_cpu_lines_compare_only_the_configurations_measured_at_each_s() -> None:
    configs: dict[str, dict[str, Any]] = {
        "baseline": {"steps": [step(150, 6.0), step(200, 8.0), step(250, 10.0, passed=False)]},
        "memory-1w": {"steps": [step(150, 12.0), step(200, 16.0, passed=False), step(175, 14.0)]},
    }
    lines = cpu_lines(configs)
    assert [line.split()[0] for line in lines] == ["S=150", "S=175", "S=200", "S=250"]
    assert lines[0] == "  S=150  baseline 2.0 ms ~500 max   memory-1w 4.0 ms (2.0x) ~250 max"
    assert lines[1] == "  S=175  memory-1w 4.0 ms ~250 max"
    assert lines[3] == "  S=250  baseline 2.0 ms ~500 max"


def test_a_capacity_of_0_is_bounded_by_the_smallest_s_that_failed() -> None:
    refined = {"capacity": 0, "first_s": 10, "smallest_failed_s": 2, "steps": [{}]}
    before_refinement = {"capacity": 0, "first_s": 10, "steps": [{}]}
    configs = {
        name: {**result, "description": "d"}
        for name, result in (("a", refined), ("b", before_refinement))
    }
    assert [line.split()[1:4] for line in capacity_lines(configs)] == [
        ["<", "2", "sessions"],
        ["<", "10", "sessions"],
    ]
