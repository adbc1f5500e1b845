"""The benchmark's smoke run: every target, every step, a fraction of a second each, so it cannot rot."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys

import pytest

from bench import loadgen
from bench.against import parse_wrk
from harness.launcher import ROOT


def test_bench_smoke_run_measures_all_three_targets(tmp_path):
    """With two proxy processes, as `--proxies` sets them on a bigger machine."""
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--proxies", "2", "--json", str(report)],
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
    assert "2 proxy processes" in figures["scale"]
    for point in figures["cpu"]:
        assert {"client", "machine_busy"} <= set(point["cores"])
        if point["target"] == "classify":
            assert point["cores"]["proxy"] > 0 and point["cores"]["workers"] > 0 and point["cores"]["frontend"] > 0


def test_the_load_generator_reconnects_when_the_server_closes_and_counts_an_error():
    """TorchServe closes a connection after a 503 when its queue is full: one lost request, not a crash."""
    answered = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                answered += 1
                if answered % 3 == 0:
                    break  # close without an answer
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        writer.close()

    async def main() -> tuple[list, list]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/classify"
        async with server:
            return await loadgen._run(url, [loadgen.multipart_request(url, b"x")], 4, 0.5, 0.0)

    latencies, statuses = asyncio.run(main())
    assert loadgen.CONNECTION_LOST in statuses and statuses.count(200) > statuses.count(loadgen.CONNECTION_LOST) > 0
    assert len(latencies) == len(statuses)


WRK_REPORT = """Running 2s test @ http://127.0.0.1:8000/classify
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.95ms  512.31us   9.87ms   85.12%
    Req/Sec   340.12     20.11   380.00     70.00%
  Latency Distribution
     50%  {p50}
     75%    3.10ms
     90%    3.50ms
     99%    5.20ms
  680 requests in 2.00s, 310.12KB read
Requests/sec:    339.80
Transfer/sec:    155.06KB
"""


@pytest.mark.parametrize(("p50", "ms"), [("2.87ms", 2.87), ("870.00us", 0.87), ("1.20s", 1200.0)])
def test_bench_against_reads_wrks_report(p50, ms):
    """make bench-against compares medians of these three figures (bench/against.py)."""
    rate, latency, requests = parse_wrk(WRK_REPORT.format(p50=p50))
    assert (rate, requests) == (339.80, 680) and latency == pytest.approx(ms)
