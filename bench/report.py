"""The capacity run's table and summary lines (pure formatting of the JSON results).

CPU columns are percent of one core over the window: ``srv`` the server's process tree,
``drv`` the load driver, ``svc`` the machine's Redis and PostgreSQL (whoever uses them),
``oth`` everything else on the machine: noise that delays chunks like our own work does.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "capacity_lines",
    "cpu_lines",
    "render",
    "row",
    "storm_lines",
    "summary",
    "table_header",
]

_COLUMNS = (
    ("config", 10),
    ("S", 4),
    ("ok", 3),
    ("chunks/s", 8),
    ("lat p50", 7),
    ("p99", 7),
    ("max", 7),
    ("ttfd p50", 8),
    ("say>up p50", 10),
    ("p99", 7),
    ("cpu ms/ch", 9),
    ("srv cpu%", 8),
    ("rss MB", 6),
    ("loss", 5),
    ("drv cpu%", 8),
    ("svc cpu%", 8),
    ("oth cpu%", 8),
)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table_header() -> str:
    head = " ".join(name.rjust(width) for name, width in _COLUMNS)
    return head + "  why"


def row(config: str, step: dict[str, Any]) -> str:
    if "error" in step:
        return f"{config:>10} {step['sessions']:>4}  no  error: {step['error'][:160]}"
    lat, ttfd, up = step["latency_ms"], step["ttfd_ms"], step["say_to_upstream_ms"]
    values = (
        config,
        step["sessions"],
        "yes" if step["passed"] else "no",
        _fmt(step["chunks_per_s"], 0),
        _fmt(lat["p50"]),
        _fmt(lat["p99"]),
        _fmt(lat["max"], 0),
        _fmt(ttfd["p50"]),
        _fmt(up["p50"]),
        _fmt(up["p99"]),
        _fmt(step["server"]["cpu_ms_per_chunk"], 3),
        _fmt(step["server"]["cpu_percent"], 0),
        _fmt(step["server"]["rss_mb"], 0),
        step["loss"]["missing_chunks"],
        _fmt(step["driver"]["cpu_percent"], 0),
        _fmt(step["services"]["cpu_percent"], 0),
        _fmt(step["others"]["cpu_percent"], 0),
    )
    line = " ".join(str(v).rjust(width) for v, (_, width) in zip(values, _COLUMNS, strict=True))
    notes = [*(step.get("why") or ()), *(["noisy"] if step.get("noisy") else [])]
    return line + "  " + "; ".join(notes)


def capacity_lines(configs: dict[str, dict[str, Any]]) -> list[str]:
    """Each configuration's capacity, and the product's as a ratio of the baseline's."""
    base = configs.get("baseline", {}).get("capacity")
    lines = []
    for name, result in configs.items():
        if not result["steps"]:
            continue  # a storm-only run
        cap = result["capacity"]
        # A capacity of 0 is bounded by the smallest S that failed: below the sweep's first
        # S when refinement probed there (runs before refinement did not record it).
        below = result.get("smallest_failed_s") or result["first_s"]
        shown = f"{cap} sessions" if cap else f"< {below} sessions"
        if result.get("capped"):
            shown = f">= {cap} sessions (the sweep's largest S passed)"
        line = f"  {name:<10} {shown:<44} {result['description']}"
        if name != "baseline" and base:
            # A capped sweep only bounds a capacity: the ratio is then a bound too, or
            # nothing at all when both sweeps were capped.
            capped = (bool(result.get("capped")), bool(configs["baseline"].get("capped")))
            bound = {(True, False): ">= ", (False, True): "<= ", (True, True): "?~ "}
            line += f"   ratio to baseline {bound.get(capped, '')}{cap / base:.2f}"
        if noisy := sum(bool(step.get("noisy")) for step in result["steps"]):
            line += f"   ({noisy} noisy steps)"
        lines.append(line)
    return lines


def storm_lines(configs: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, result in configs.items():
        storm = result.get("storm")
        if not storm:
            continue
        if "error" in storm:
            lines.append(f"  {name:<10} error: {storm['error'][:200]}")
            continue
        idle, herd = storm["idle"], storm["storm"]
        settled = herd["presence_settled_s"]
        cold = idle.get("kb_per_socket_cold")  # runs before 2026-12-04 measured cold only
        lines.append(
            f"  {name:<10} idle socket {idle['kb_per_socket']:>6.1f} KB"
            f"{'' if cold is None else f' (cold {cold:.1f})'}   "
            f"{herd['connected']}/{herd['observers']} observers welcomed in "
            f"{herd['all_welcomed_s']:.1f} s (p50 {_fmt(herd['welcome_ms']['p50'], 0)} ms), "
            f"presence settled {'never' if settled is None else f'in {settled:.1f} s'}, "
            f"server CPU {herd['server_cpu_s']:.1f} s, failures {herd['failures']}"
        )
    return lines


def _cpu_per_session_ms(step: dict[str, Any]) -> float | None:
    """Server CPU ms per second of one live session during the window."""
    if "error" in step or not step.get("server") or not step["sessions"]:
        return None
    return float(step["server"]["cpu_s"]) * 1000 / float(step["duration_s"]) / int(step["sessions"])


def cpu_lines(configs: dict[str, dict[str, Any]]) -> list[str]:
    """Server CPU per live session at each S, and the ceiling it implies on one core: CPU
    time is what noise disturbs least, so these ratios hold when latencies do not."""
    by_s: dict[int, dict[str, float]] = {}
    for name, result in configs.items():
        for step in result["steps"]:
            # The last attempt: the passing one when there is one.
            if (cost := _cpu_per_session_ms(step)) is not None:
                by_s.setdefault(step["sessions"], {})[name] = cost
    lines = []
    for sessions in sorted(by_s):
        costs = by_s[sessions]
        base = costs.get("baseline")
        parts = []
        for name, cost in costs.items():
            ratio = f" ({cost / base:.1f}x)" if base and name != "baseline" else ""
            parts.append(f"{name} {cost:.1f} ms{ratio} ~{1000 / cost:.0f} max")
        lines.append(f"  S={sessions:<4} " + "   ".join(parts))
    return lines


def render(results: dict[str, Any]) -> str:
    """The whole report of a run's JSON: the table (every attempt), then :func:`summary`."""
    out = [table_header()]
    for name, result in results["configs"].items():
        for step in result["steps"]:
            out += [row(name, attempt) for attempt in step.get("failed_attempts", ())]
            out.append(row(name, step))
    return "\n".join(out) + "\n" + summary(results)


def summary(results: dict[str, Any]) -> str:
    """Capacities and ratios, CPU per session and its ceilings, idle memory and storms."""
    configs = results["configs"]
    out = ["", "capacity (largest S within the latency limits and nothing lost):"]
    out += capacity_lines(configs)
    out += ["", "server CPU ms per second of a live session, and the sessions one core could"]
    out += ["carry at that cost (noise-robust; ratio to the baseline at the same S):"]
    out += cpu_lines(configs)
    if storms := storm_lines(configs):
        out += ["", "idle memory and connect storm:", *storms]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.report [results.json]``: print a run's report again."""
    import json
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else Path(__file__).parent / "results" / "latest.json"
    print(render(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
