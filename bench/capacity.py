"""How many live sessions one server carries: the product against a bare baseline.

    python -m bench.capacity [--quick] [--configs baseline,memory-1w,redis-1w,redis-2w]
        [--sessions 10,25,50,75,100,150,200,250,300,350,400] [--warmup 4] [--duration 20]
        [--refine 2] [--max-p99-ms 50] [--max-say-p99-ms 500] [--connect-storm] [--no-pin]
        [--json bench/results/latest.json]

Starts an upstream model (``bench.upstream``: 150 tokens a reply, 3 a chunk, a chunk every
50 ms, each stamped with its emit time), then sweeps the number of sessions S upwards,
running every configuration at each S in turn on a fresh server, each step measured by
the load driver (``bench.driver``, its own process). A configuration drops out at its
first step whose chunk latency p99 passes the limit, whose says wait more than half a
second for the model at p99 (replies queued: sessions not carried), or that loses
anything (after one re-run, as noise can fail a window). Right then, before the next
configuration runs, up to ``--refine`` probes (2; 0 with ``--quick``) bisect the gap between
its last passed S and that failed one (:func:`next_probe`); its capacity is the largest S
that passed. The server is pinned to core 0, the upstream and the driver to core 1
(Redis and PostgreSQL are not ours to pin). Prints a table, the capacities with the
product/baseline ratio, and writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.deploy import (
    CONFIGS,
    DEFAULT_CONFIGS,
    Config,
    Deployment,
    Server,
    deployed,
    services_reachable,
)
from bench.procs import ROOT, Children, free_port, machine_busy_seconds, wait_http
from bench.report import row, summary, table_header
from bench.stats import Criteria, judge
from bench.wire import Pace

#: 250 between 200 and 300: capacities there are compared with the baseline's at 85%,
#: and with 300 the next step a product that carried 250 read as 200 (0.67 of 300). 350
#: and 400: on a faster VM (2026-12-05) the baseline carried 300, the grid's end.
DEFAULT_SWEEP = (10, 25, 50, 75, 100, 150, 200, 250, 300, 350, 400)
QUICK_SWEEP = (5, 10)
#: Bisection probes after a configuration's first failed step, each a step's time: two
#: resolve a 50-session gap of the grid to 10 or 15 (200 | 250: 225, then 210 or 235).
DEFAULT_REFINE = 2
#: Probes land on multiples of 5, as the grid does, while the gap is at least 10: a
#: midpoint at least 5 from either end, moved by at most 2.5, stays strictly inside.
PROBE_ROUNDING = 5
#: ``measure(configuration name, S)``: one judged step (``passed``), re-runs included.
Measure = Callable[[str, int], dict[str, Any]]
#: A driver that has not reported within setup + window + this is stuck.
DRIVER_GRACE_S = 180.0
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def run_driver(
    children: Children,
    deployment: Deployment,
    server: Server,
    upstream: tuple[str, int],
    extra: list[str],
    budget_s: float,
) -> dict[str, Any]:
    """Run one ``bench.driver`` on core 1 and return its JSON (or ``{"error": ...}``)."""
    out = children.log_dir / f"driver-{deployment.config.name}-{time.monotonic_ns()}.json"
    args = ["-m", "bench.driver", "--url", server.url, "--upstream", upstream[0]]
    args += [*server.driver_args, "--server-pids", str(server.root_pid)]
    args += ["--upstream-pid", str(upstream[1]), "--json-out", str(out), *extra]
    driver = children.spawn(out.stem, args, core=1)
    try:
        driver.process.wait(timeout=budget_s)
    except Exception:
        children.stop(driver)
        return {"error": f"driver did not finish within {budget_s:.0f} s"}
    children.stop(driver)
    if not out.exists():
        return {"error": f"driver wrote nothing:\n{driver.log()[-2000:]}"}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def wait_for_quiet(limit_s: float, max_percent: float) -> float:
    """Wait (at most ``limit_s``) until the machine spends under ``max_percent`` of a core
    in one second (only our idle upstream runs between steps); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        before = machine_busy_seconds()
        time.sleep(1.0)  # sampling the machine's load over one second
        if 100 * (machine_busy_seconds() - before) < max_percent:
            break
    return round(time.monotonic() - started, 1)


def measure(
    children: Children,
    deployment: Deployment,
    upstream: tuple[str, int],
    sessions: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One sweep step on a fresh server, judged. A failed step is run again up to
    ``--retries`` times, and up to ``--noisy-retries`` more while the failures were noisy
    (another process took our cores); every attempt is kept."""
    attempts: list[dict[str, Any]] = []
    extra = ["--sessions", str(sessions), "--warmup", str(args.warmup)]
    extra += ["--duration", str(args.duration), "--drain", str(args.drain)]
    budget = args.warmup + args.duration + args.drain + sessions + DRIVER_GRACE_S
    criteria = Criteria(args.max_p99_ms, args.max_noise_percent, args.max_say_p99_ms)
    while True:
        waited = wait_for_quiet(args.quiet_wait, args.max_noise_percent)
        with deployment.serving() as server:
            step = run_driver(children, deployment, server, upstream, extra, budget)
        step["sessions"] = sessions
        step["waited_for_quiet_s"] = waited
        step = judge(step, criteria) if "error" not in step else step
        step.setdefault("passed", False)
        print(row(deployment.config.name, step), flush=True)
        attempts.append(step)
        allowed = 1 + args.retries + (args.noisy_retries if step.get("noisy") else 0)
        if step["passed"] or len(attempts) >= allowed:
            break
    return {**attempts[-1], "attempts": len(attempts), "failed_attempts": attempts[:-1]}


def next_probe(passed: int, failed: int) -> int | None:
    """The S to measure between a configuration's largest passed S (0 if none) and its
    smallest failed one: their midpoint, on the nearest multiple of :data:`PROBE_ROUNDING`
    (ties down) while they are at least twice that apart, else rounded down; None when no
    whole number lies strictly between them."""
    if failed - passed < 2:
        return None
    if failed - passed < 2 * PROBE_ROUNDING:
        return (passed + failed) // 2
    return PROBE_ROUNDING * ((passed + failed + PROBE_ROUNDING - 1) // (2 * PROBE_ROUNDING))


def sweep_capacity(
    names: Sequence[str], grid: Sequence[int], refine: int, measure: Measure
) -> dict[str, dict[str, Any]]:
    """Every configuration at each S of ``grid`` in turn (so all of them see the same
    stretch of machine noise), each dropping out at its first failed step; right then,
    before the next configuration runs, up to ``refine`` probes (:func:`next_probe`)
    bisect the gap between its largest passed S and that one. Every step is kept in the
    order measured, the probes marked ``refine_probe``; the capacity is the largest S that
    passed, ``smallest_failed_s`` the bound above it (None for a configuration that
    passed every S: ``capped``)."""
    results: dict[str, dict[str, Any]] = {
        name: {
            "capacity": 0,
            "first_s": grid[0] if grid else None,
            "smallest_failed_s": None,
            "capped": False,
            "steps": [],
        }
        for name in names
    }
    alive = list(names) if grid else []
    for sessions in grid:
        for name in list(alive):
            result = results[name]
            step = measure(name, sessions)
            result["steps"].append({**step, "refine_probe": False})
            if step["passed"]:
                result["capacity"] = sessions
                continue
            alive.remove(name)
            failed = sessions
            for _ in range(refine):
                if (probe := next_probe(result["capacity"], failed)) is None:
                    break
                step = measure(name, probe)
                result["steps"].append({**step, "refine_probe": True})
                if step["passed"]:
                    result["capacity"] = probe
                else:
                    failed = probe
            result["smallest_failed_s"] = failed
    for name in alive:
        results[name]["capped"] = True
    return results


def sweep(
    children: Children,
    deployments: list[Deployment],
    upstream: tuple[str, int],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """:func:`sweep_capacity` over the deployments, then the connect storm if asked."""
    by_name = {d.config.name: d for d in deployments}

    def measure_step(name: str, sessions: int) -> dict[str, Any]:
        return measure(children, by_name[name], upstream, sessions, args)

    found = sweep_capacity(list(by_name), args.sessions, args.refine, measure_step)
    results = {
        name: {"description": d.config.description, **found[name]} for name, d in by_name.items()
    }
    if args.connect_storm:
        extra = ["--storm", "--idle-sockets", str(args.idle_sockets)]
        extra += ["--storm-observers", str(args.storm_observers)]
        for deployment in deployments:
            with deployment.serving() as server:
                storm = run_driver(
                    children, deployment, server, upstream, extra, 3 * DRIVER_GRACE_S
                )
            results[deployment.config.name]["storm"] = storm
    return results


def machine(pinned: bool) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "code": code_version(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
        "pinning": "server on core 0; upstream and driver on core 1; Redis and PostgreSQL unpinned"
        if pinned
        else "none",
    }


def code_version() -> dict[str, Any]:
    """The commit measured, and how many files differed from it (a shared checkout)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.decode(errors="replace").strip()

    changed = [line for line in git("status", "--porcelain").splitlines() if line]
    return {"commit": git("rev-parse", "HEAD"), "files_changed_or_new": len(changed)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configs: list[Config] = [CONFIGS[name] for name in args.configs]
    if any(c.backend == "redis" for c in configs) and (why := services_reachable()):
        print(f"Redis or PostgreSQL unreachable ({why}); skipping the redis configurations")
        configs = [c for c in configs if c.backend != "redis"]
    pinned = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    workdir = Path(tempfile.mkdtemp(prefix="vcbench-"))
    children = Children(workdir, frozenset({0, 1}) if pinned else None)
    pace = Pace()
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(pinned),
        "pace": {
            "reply_tokens": pace.reply_tokens,
            "tokens_per_chunk": pace.tokens_per_chunk,
            "chunk_interval_ms": pace.chunk_interval_s * 1000,
        },
        "method": {
            "sessions": args.sessions,
            "retries_of_a_failed_step": args.retries,
            "more_retries_while_noisy": args.noisy_retries,
            "refine_probes": args.refine,
            "refine_rule": "after a configuration's first failed step, up to refine_probes "
            "steps at the midpoint of its largest passed S and smallest failed S (a multiple "
            f"of {PROBE_ROUNDING} when they are {2 * PROBE_ROUNDING} or more apart); "
            "capacity is the largest S that passed",
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "sockets_per_session": 3,
            "pass_rule": f"chunk latency p99 <= {args.max_p99_ms:g} ms, say to model p99 "
            f"<= {args.max_say_p99_ms:g} ms, no loss, "
            "no errors, no closed sockets",
            "noisy_rule": f"other processes used > {args.max_noise_percent:g}% of a core",
            "quiet_wait_s": args.quiet_wait,
        },
        "configs": {},
    }
    print(f"logs in {workdir}; {results['machine']['pinning']}")
    ok = False
    try:
        port = free_port()
        upstream = children.spawn("upstream", ["-m", "bench.upstream", "--port", str(port)], core=1)
        url = f"http://127.0.0.1:{port}"
        wait_http(upstream, url + "/healthz")
        print(table_header(), flush=True)
        with ExitStack() as stack:
            deployments = [
                stack.enter_context(deployed(config, children, url + "/v1")) for config in configs
            ]
            results["configs"] = sweep(children, deployments, (url, upstream.pid), args)
        ok = True
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every child process")
    finally:
        children.stop_all()
    print(summary(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nJSON: {args.json}")
    if ok and not args.keep_logs:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="S=5,10, 2 s warm-up, 4 s window, --refine 0"
    )
    parser.add_argument(
        "--configs", default=",".join(DEFAULT_CONFIGS), help=f"of {', '.join(CONFIGS)}"
    )
    parser.add_argument("--sessions", help="comma-separated S values, increasing")
    parser.add_argument(
        "--refine",
        type=int,
        help="bisection probes between a configuration's last passed and first failed S "
        f"(default {DEFAULT_REFINE}, 0 with --quick)",
    )
    parser.add_argument("--warmup", type=float)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--drain", type=float, default=10.0)
    parser.add_argument("--max-p99-ms", type=float, default=50.0)
    parser.add_argument(
        "--max-say-p99-ms", type=float, default=500.0, help="say to model p99 above: not carried"
    )
    parser.add_argument("--retries", type=int, default=1, help="re-runs of a failed step")
    parser.add_argument(
        "--noisy-retries", type=int, default=2, help="more re-runs while failures are noisy"
    )
    parser.add_argument(
        "--max-noise-percent",
        type=float,
        default=25.0,
        help="other processes' CPU (%% of a core) above which a step is flagged noisy",
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=30.0, help="seconds to wait for a quiet machine"
    )
    parser.add_argument("--connect-storm", action="store_true")
    parser.add_argument("--no-sweep", action="store_true", help="only the --connect-storm part")
    parser.add_argument("--idle-sockets", type=int, default=500)
    parser.add_argument("--storm-observers", type=int, default=1000)
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    if unknown := [name for name in args.configs if name not in CONFIGS]:
        parser.error(f"unknown configurations {unknown}; known: {', '.join(CONFIGS)}")
    sweep_default = QUICK_SWEEP if args.quick else DEFAULT_SWEEP
    args.sessions = (
        [int(s) for s in args.sessions.split(",")] if args.sessions else list(sweep_default)
    )
    if any(s <= 0 for s in args.sessions) or args.sessions != sorted(set(args.sessions)):
        parser.error("--sessions must be positive and increasing")
    if args.refine is None:
        args.refine = 0 if args.quick else DEFAULT_REFINE
    if args.refine < 0:
        parser.error("--refine must be 0 or more")
    if args.no_sweep:
        if not args.connect_storm:
            parser.error("--no-sweep measures nothing without --connect-storm")
        args.sessions = []
    if args.warmup is None:
        args.warmup = 2.0 if args.quick else 4.0
    if args.duration is None:
        args.duration = 4.0 if args.quick else 20.0
    return args


if __name__ == "__main__":
    raise SystemExit(main())
