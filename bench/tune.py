"""One change at a time: how each serving setting moves throughput and latency (``make tune``).

Each variant starts the stack from the working tree with one setting changed from the shipped
configuration (config.properties and the proxy's defaults), warms it up, then measures /classify
and TorchServe directly at 32 clients. First, the handler's own per-request cost, in-process.
About 6 minutes; the figures vary by about ±10 % from run to run on this shared 2-core machine.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

from bench.__main__ import DIRECT_CLIENT_BATCHING, RATIO_CONCURRENCY, encode_requests, models_line, warm_up
from bench.loadgen import run_load
from bench.preprocess import timings as preprocess_timings
from evaluation.imaging import png
from harness import launcher as serve
from harness.launcher import ROOT
from model.network import load_model
from model.preprocess import preprocess_upload
from scripts.build_mar import WEIGHTS
from train.data import load_split, prepare_mnist

SECONDS = 4.0
WARM_UP = 3.0


TORCHSERVE_BATCHING = models_line(**DIRECT_CLIENT_BATCHING)  # what the bench's direct target runs with
# (name, config.properties overrides, proxy flags, environment for TorchServe's workers)
VARIANTS: list[tuple[str, dict[str, str], tuple[str, ...], dict[str, str]]] = [
    ("shipped configuration", {}, (), {}),
    ("1 worker", models_line(minWorkers=1, maxWorkers=1), ("--upstream-concurrency", "1"), {}),
    ("3 workers", models_line(minWorkers=3, maxWorkers=3), ("--upstream-concurrency", "3"), {}),
    ("TorchServe batching too (batchSize 8, 1 ms)", TORCHSERVE_BATCHING, (), {}),
    ("TorchServe batching, 4 proxy requests", TORCHSERVE_BATCHING, ("--upstream-concurrency", "4"), {}),
    ("1 Netty thread (the earlier setting)", {"number_of_netty_threads": "1"}, (), {}),
    ("job_queue_size 1000", {"job_queue_size": "1000"}, (), {}),
    ("2 torch threads per worker", {}, (), {"GOCLASSIFY_TORCH_THREADS": "2"}),
    ("proxy: 1 process", {}, ("--processes", "1"), {}),
    ("proxy: standard asyncio loop", {}, ("--event-loop", "asyncio"), {}),
    ("proxy: no coalescing", {}, ("--coalesce-max-images", "1", "--upstream-concurrency", "64"), {}),
    ("proxy: 4 upstream requests at once", {}, ("--upstream-concurrency", "4"), {}),
    ("proxy: at most 8 images per request", {}, ("--coalesce-max-images", "8"), {}),
    ("proxy: access log off", {}, ("--access-log", "off"), {}),
]


def handler_costs(files: list[bytes], digit: np.ndarray) -> None:
    """Per-request work inside a worker, without any serving around it."""
    for name, seconds in preprocess_timings(digit).items():
        print(f"decode + preprocess, {name}: median {1e6 * seconds:.0f} µs")
    model, tensors = load_model(str(WEIGHTS)), [preprocess_upload(d).tensors[0] for d in files[:16]]
    torch.set_num_threads(1)
    with torch.inference_mode():
        for size in (1, 8, 16):
            batch, started = torch.stack(tensors[:size]), time.perf_counter()
            for _ in range(200):
                model(batch).softmax(dim=1)
            print(f"forward + softmax, batch of {size}: {1e6 * (time.perf_counter() - started) / 200:.0f} µs")


def measure(files: list[bytes], properties: dict[str, str], proxy: tuple[str, ...]) -> dict[str, float]:
    figures = {}
    with serve.serving_current_sources(properties=properties, proxy_options=proxy) as running:
        targets = {"classify": (f"{running.proxy}/classify", None)}
        targets["torchserve"] = (f"{running.inference}/predictions/mnist", running.auth("inference"))
        requests = {target: encode_requests(url, headers, files) for target, (url, headers) in targets.items()}
        warm_up(targets["classify"][0], requests["classify"], WARM_UP)
        for target, (url, _) in targets.items():
            result = run_load(target, url, requests[target], RATIO_CONCURRENCY, SECONDS)
            figures |= {target: result.throughput, f"{target}_p99": result.p99_ms, f"{target}_errors": result.errors}
    return figures


def main() -> int:
    prepare_mnist(ROOT / "data")
    pixels = load_split(ROOT / "data", train=False).pixels()[:2000]
    files = [png(digit) for digit in pixels]
    handler_costs(files, pixels[0])
    print(f"\n{'variant (one change from the shipped settings)':<42}{'/classify req/s':>16}{'p99 ms':>8}", end="")
    print(f"{'TorchServe req/s':>18}{'p99 ms':>8}")
    for name, properties, proxy, environment in VARIANTS:
        saved = dict(os.environ)
        os.environ.update(environment)  # inherited by TorchServe and so by its workers
        try:
            f = measure(files, properties, proxy)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        print(f"{name:<42}{f['classify']:>16.0f}{f['classify_p99']:>8.1f}", end="")
        print(f"{f['torchserve']:>18.0f}{f['torchserve_p99']:>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
