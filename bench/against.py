"""This tree's ``/classify`` against an earlier commit's, with wrk as the outside client:
``make bench-against`` (``BENCH_AGAINST=<commit>``; ``make bench`` runs it last).

The earlier commit is checked out in a git worktree beside this one, its archive built by its own
scripts, and both trees are served at once (``python -m harness --free-torchserve-ports``, each on
its own proxy port, this tree's virtual environment for both). Then wrk (Debian's package) posts one
MNIST PNG as multipart/form-data, alternating which tree goes first in each round: the machine's
speed drifts by ±10 % over a minute, so only figures of the same run, interleaved, compare. Prints
each round, the medians and the ratios (this tree over the earlier one), and where the CPU time of a
request went in each (the proxy, TorchServe's Java frontend, its Python workers): CPU time varies
less than throughput from one run to the next, and says which part got slower.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil

from evaluation.imaging import png
from harness.launcher import ROOT, free_port
from proxy.multipart import encode_files
from train.data import load_split, prepare_mnist

READY_SECONDS = 180.0
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@contextmanager
def worktree(commit: str) -> Iterator[Path]:
    """``commit`` checked out in a temporary worktree, its model archive built."""
    folder = Path(tempfile.mkdtemp(prefix="goclassify-against-"))
    git("worktree", "add", "--detach", str(folder), commit)
    try:
        subprocess.run([sys.executable, "-m", "scripts.build_mar"], cwd=folder, check=True, capture_output=True)
        yield folder
    finally:
        git("worktree", "remove", "--force", str(folder))
        shutil.rmtree(folder, ignore_errors=True)


PARTS = ("proxy", "frontend", "workers")
BATCH_METRIC = "goclassify_upstream_batch_images"


def batching(url: str) -> tuple[float, float]:
    """(uploads, TorchServe requests) the proxy has sent so far, from its /metrics."""
    with urllib.request.urlopen(url.replace("/classify", "/metrics"), timeout=5) as answer:
        text = answer.read().decode()
    sums = [float(m) for m in re.findall(rf"^{BATCH_METRIC}_sum(?:{{[^}}]*}})? ([\d.e+]+)$", text, re.M)]
    counts = [float(m) for m in re.findall(rf"^{BATCH_METRIC}_count(?:{{[^}}]*}})? ([\d.e+]+)$", text, re.M)]
    return sum(sums), sum(counts)


@contextmanager
def served(tree: Path, port: int) -> Iterator[tuple[str, psutil.Process]]:
    """``tree``'s stack (TorchServe on free ports, the proxy on ``port``) until the block ends: its
    URL and the launcher, whose process tree is the whole stack."""
    env = os.environ | {"GOCLASSIFY_PORT": str(port)}
    # A fresh run directory for each stack: TorchServe appends to the logs it finds there, and a tree's
    # old logs (hundreds of MB after the tests) slowed the stack that had them.
    run_dir = Path(tempfile.mkdtemp(prefix="goclassify-bench-run-"))
    log = open(run_dir / "bench-against.log", "wb")  # noqa: SIM115 - closed below, after the stack stops
    harness = [sys.executable, "-m", "harness", "--run-dir", str(run_dir)]
    stack = subprocess.Popen([*harness, "--free-torchserve-ports"], cwd=tree, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, stack, run_dir)
        yield f"{url}/classify", psutil.Process(stack.pid)
    finally:
        subprocess.run([*harness, "--stop"], cwd=tree, env=env, capture_output=True)
        stack.wait(timeout=60)
        log.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def wait_ready(url: str, stack: subprocess.Popen[bytes], run_dir: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if stack.poll() is not None:
            output = (run_dir / "bench-against.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the stack at {url} exited with {stack.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready in {READY_SECONDS:g} s")


def cpu_seconds(launcher: psutil.Process) -> dict[str, float]:
    """CPU time (user and system) so far of each part of a stack."""
    seconds = dict.fromkeys(PARTS, 0.0)
    for process in launcher.children(recursive=True):
        try:
            command, times = " ".join(process.cmdline()), process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        part = part_of(command)
        if part:
            seconds[part] += times.user + times.system
    return seconds


def part_of(command: str) -> str | None:
    if command.startswith("java"):
        return "frontend"
    if "model_service_worker" in command:
        return "workers"
    return "proxy" if "-m proxy" in command else None


def wrk(url: str, script: Path, connections: int, seconds: int) -> tuple[float, float, int]:
    """(requests per second, p50 latency in ms, requests) of one wrk run."""
    threads = min(connections, 2)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    if re.search(r"Non-2xx or 3xx responses|Socket errors", out):
        raise RuntimeError(f"{url} answered errors under wrk:\n{out}")
    return parse_wrk(out)


def parse_wrk(out: str) -> tuple[float, float, int]:
    """(requests per second, p50 latency in ms, requests) from wrk's report (run with --latency)."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"\s50%\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rate, float(value) * UNITS[unit], requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.against", description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="the earlier commit (a hash, tag or branch)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk; make bench-against installs it)")
    earlier = git("rev-parse", "--short", args.commit)
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        prepare_mnist(ROOT / "data")
        digit = png(load_split(ROOT / "data", train=False).pixels()[0])
        body, content_type = encode_files([("image", digit)], "digit.png", "image/png")
        (Path(scratch) / "body").write_bytes(body)
        script = Path(scratch) / "post.lua"
        script.write_text(LUA.format(content_type=content_type, body=Path(scratch) / "body"))
        old_tree = stack.enter_context(worktree(earlier))
        stacks = {"this tree": stack.enter_context(served(ROOT, free_port()))}
        stacks[earlier] = stack.enter_context(served(old_tree, free_port()))
        figures = measure(stacks, script, args)
    report(figures, earlier, args.connections)
    return 0


Stacks = dict[str, tuple[str, psutil.Process]]


def measure(stacks: Stacks, script: Path, args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Per stack: throughput, one-connection p50 and each part's CPU µs per request, per round."""
    figures = {name: {key: [] for key in ("rate", "p50", "batch", *PARTS)} for name in stacks}
    names = list(stacks)
    for name in names:  # warm both: the JVM compiles, the first requests load caches
        wrk(stacks[name][0], script, args.connections, 2 * args.seconds)
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            url, launcher = stacks[name]
            before, (uploads, batches) = cpu_seconds(launcher), batching(url)
            rate, _, requests = wrk(url, script, args.connections, args.seconds)
            after, (uploads_after, batches_after) = cpu_seconds(launcher), batching(url)
            figures[name]["batch"].append((uploads_after - uploads) / max(batches_after - batches, 1))
            _, p50, _ = wrk(url, script, 1, max(2, args.seconds // 2))
            figures[name]["rate"].append(rate)
            figures[name]["p50"].append(p50)
            for part in PARTS:
                figures[name][part].append((after[part] - before[part]) / requests * 1e6)
            cpu = ", ".join(f"{part} {figures[name][part][-1]:.0f}" for part in PARTS)
            batch = figures[name]["batch"][-1]
            line = f"round {round_ + 1} {name:>10}: {rate:.0f} req/s, p50 {p50:.2f} ms, {batch:.1f} a batch; {cpu}"
            print(line, flush=True)
    return figures


def report(figures: dict[str, dict[str, list[float]]], earlier: str, connections: int) -> None:
    medians = {name: {key: statistics.median(got) for key, got in kinds.items()} for name, kinds in figures.items()}
    print()
    for name, median in medians.items():
        cpu = ", ".join(f"{part} {median[part]:.0f}" for part in PARTS)
        print(f"median {name:>10}: {median['rate']:6.0f} req/s at {connections} clients, p50 {median['p50']:.2f} ms, "
              f"{median['batch']:.1f} uploads a TorchServe request; CPU µs a request: {cpu}")  # fmt: skip
    this, before = medians["this tree"], medians[earlier]
    rate, p50 = this["rate"] / before["rate"], this["p50"] / before["p50"]
    print(f"this tree / {earlier}: throughput at {connections} connections {rate:.3f}x, one-connection p50 {p50:.3f}x")
    if rate < 0.95 or p50 > 1.05:
        print("SLOWER than the earlier commit beyond the 5 % this machine drifts: look before it lands")


if __name__ == "__main__":
    sys.exit(main())
