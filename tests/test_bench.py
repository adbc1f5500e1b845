"""The benchmark's smoke run: every target, every step, a fraction of a second each, so it cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys

from scripts.serve import ROOT


def test_bench_smoke_run_measures_all_three_targets(tmp_path):
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads(report.read_text())
    assert {row["target"] for row in figures["results"]} == {"classify", "torchserve", "baseline"}
    for row in figures["results"]:
        assert row["requests"] > 0 and row["errors"] == 0 and row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert figures["stack_rss_mb"] > 0 and figures["ready_seconds"] > 0
    assert {row["target"] for row in figures["ratio_rounds"]} == {"classify", "torchserve", "baseline"}
    assert set(figures["ratios"]) == {"classify_p99_over_p50", "classify_over_torchserve", "classify_over_baseline"}
