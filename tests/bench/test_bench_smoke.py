"""The capacity benchmark end to end on the smallest case: the upstream, the bare baseline
and the load driver as real processes (2 sessions, 6 sockets, a 3 s window)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def capacity(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m bench.capacity ARGS``, which must exit 0."""
    run = subprocess.run(
        [sys.executable, "-m", "bench.capacity", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run


@pytest.mark.slow
@pytest.mark.parametrize("config", ["baseline", "baseline-aiohttp"])
def test_baseline_sweep_step_reports_every_figure_and_loses_nothing(
    tmp_path: Path, config: str
) -> None:
    """The issue's baseline (httpx), and the same on the product's upstream client."""
    out = tmp_path / "result.json"
    tiny = ["--configs", config, "--sessions", "2", "--warmup", "1", "--duration", "3"]
    tiny += ["--drain", "6", "--retries", "0", "--noisy-retries", "0", "--quiet-wait", "0"]
    tiny += ["--refine", "0"]  # one step: a failed one (a busy CI machine) is not probed
    tiny += ["--json", str(out)]
    run = capacity(tiny, timeout=60)
    assert "capacity" in run.stdout and config in run.stdout

    result = json.loads(out.read_text())
    baseline = result["configs"][config]
    client = "aiohttp" if config == "baseline-aiohttp" else "httpx"
    assert baseline["description"] == f"bare Starlette + {client}, in-process fan-out"
    (step,) = baseline["steps"]
    assert step["kind"] == "baseline" and step["sessions"] == 2 and step["sockets"] == 6
    assert step["loss"] == {
        "expected_chunks": step["loss"]["expected_chunks"],
        "missing_chunks": 0,
        "unfinished_replies": 0,
    }
    # Each reply is 50 chunks, at all 3 sockets of its session.
    assert step["replies"] >= 2 and step["loss"]["expected_chunks"] == step["replies"] * 150
    assert step["errors"] == {} and step["closures"] == {} and step["incidents"] == []
    assert step["chunks_per_s"] > 0 and step["latency_ms"]["n"] > 0
    for figure in ("latency_ms", "ttfd_ms", "say_to_upstream_ms"):
        assert set(step[figure]) == {"n", "p50", "p99", "max"}
    assert step["server"]["cpu_ms_per_chunk"] > 0 and step["server"]["rss_mb"] > 0
    assert isinstance(step["passed"], bool) and isinstance(step["noisy"], bool)
    assert baseline["capacity"] in (0, 2)


@pytest.mark.slow
def test_pymemory_counts_the_python_memory_of_idle_sockets() -> None:
    """``bench.pymemory`` on 30 sockets: a figure per socket, and the files behind it
    (the socket endpoint among them: a socket's frames are counted, not the client's)."""
    run = subprocess.run(
        [sys.executable, "-m", "bench.pymemory", "--sockets", "30"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    first, *files = run.stdout.splitlines()
    per_socket = float(first.split(" KiB")[0])
    assert 5 < per_socket < 500, run.stdout
    assert any("realtime/" in line or "server/" in line for line in files), run.stdout


@pytest.mark.slow
def test_idle_memory_is_measured_after_a_warm_up_and_cold_too(tmp_path: Path) -> None:
    """The storm's idle-memory part on the baseline: the server opens and closes a burst of
    sockets first, and the per-socket figure is over the sockets opened after it; the cold
    figure, counting that burst's one-time growth too, is kept beside it."""
    out = tmp_path / "result.json"
    args = ["--no-sweep", "--connect-storm", "--configs", "baseline", "--idle-sockets", "40"]
    args += ["--storm-observers", "10", "--quiet-wait", "0", "--json", str(out)]
    run = capacity(args, timeout=90)
    idle = json.loads(out.read_text())["configs"]["baseline"]["storm"]["idle"]
    assert idle["sockets"] == 40 and idle["warm_sockets"] > 0
    assert idle["rss_cold_mb"] <= idle["rss_before_mb"] < idle["rss_after_mb"]
    assert idle["kb_per_socket"] > 0 and idle["kb_per_socket_cold"] > 0
    assert f"idle socket {idle['kb_per_socket']:>6.1f} KB (cold " in run.stdout
