"""Benchmark the HTTP path: 10,000 MNIST test PNGs through ``POST /classify`` (``make bench``).

Starts TorchServe + proxy on free loopback ports from a freshly built archive (or uses ``--url``),
and prints: time to ready, HTTP-path accuracy, wall time and throughput for all requests, latency
percentiles, and the resident memory of the serving processes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import psutil

from evaluation.client import DEFAULT_CONCURRENCY, Answer, classify_all
from evaluation.imaging import png
from scripts.serve import ROOT, serving_current_sources
from train.data import load_split, prepare_mnist


def report(answers: list[Answer], labels: list[int], seconds: float) -> None:
    ok = [a for a in answers if a.status == 200]
    correct = sum(
        a.body["predicted_digit"] == label for a, label in zip(answers, labels, strict=True) if a.status == 200
    )
    latencies = sorted(a.seconds * 1000 for a in answers)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"requests:       {len(answers)} ({len(ok)} answered 200)")
    print(f"accuracy:       {100 * correct / len(answers):.2f}% over HTTP")
    print(f"wall time:      {seconds:.1f} s  ({len(answers) / seconds:.0f} requests/s)")
    print(f"latency (ms):   p50 {cuts[49]:.1f}  p95 {cuts[94]:.1f}  p99 {cuts[98]:.1f}  max {latencies[-1]:.1f}")


def serving_memory_mb(proxy_port: int) -> float:
    """Resident memory of every process serving on our ports' process groups (Java, workers, proxy)."""
    total = 0
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if (
            "model_service_worker" in cmdline
            or "org.pytorch.serve.ModelServer" in cmdline
            or ("-m proxy" in cmdline and str(proxy_port) in cmdline)
        ):
            total += process.memory_info().rss
    return total / 2**20


def run(url: str, files: list[bytes], labels: list[int], concurrency: int) -> None:
    started = time.perf_counter()
    answers = classify_all(url, files, concurrency)
    report(answers, labels, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running proxy's /classify (default: start one on free ports)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    args = parser.parse_args(argv)
    prepare_mnist(args.data_dir)
    test = load_split(args.data_dir, train=False)
    files, labels = [png(p) for p in test.pixels()], test.labels.tolist()
    print(f"{len(files)} MNIST test images as PNG, {args.concurrency} concurrent requests")
    if args.url:
        run(args.url, files, labels, args.concurrency)
        return 0
    with serving_current_sources() as running:
        print(f"time to ready:  {running.ready_seconds:.1f} s (TorchServe + proxy start to /healthz 200)")
        print(f"memory idle:    {serving_memory_mb(running.ports.proxy):.0f} MB RSS (frontend, workers, proxy)")
        run(f"{running.proxy}/classify", files, labels, args.concurrency)
        print(f"memory loaded:  {serving_memory_mb(running.ports.proxy):.0f} MB RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
