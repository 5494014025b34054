"""The cost benchmark runs end to end at a tiny size (its figures are not asserted)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

BENCHMARK = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "probe_cost.py"


def test_probe_cost_benchmark_reports_wall_time_rss_and_overhead():
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--spread", "1", "--attempts", "10"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for label in ("wall time", "peak RSS", "class=Healthy", "bare loop", "probe", "ratio"):
        assert label in done.stdout
