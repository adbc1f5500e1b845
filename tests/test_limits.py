"""Every request's cost bounded, on the real stack: a burst of the largest uploads the proxy allows
against a small byte budget (proxy/budget.py), and TorchServe stopped under a short deadline."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from bench.worst_case import encoded, page, status_kb
from evaluation.imaging import png
from harness import launcher as serve
from harness.launcher import Deployment, key_file, process_tree
from model.decode import MAX_PIXELS
from proxy.budget import PER_REQUEST_OVERHEAD, default_budget
from proxy.settings import Settings, smallest_budget
from tests.http_helpers import multipart

MIB = 2**20
BURST = 64
LIMIT = Settings().max_upload_bytes
BUDGET = 2 * (LIMIT + PER_REQUEST_OVERHEAD)  # two of the largest uploads per process
# What a process may hold under a burst beyond the bytes charged to its budget: aiohttp's buffers as
# bodies stream in and are discarded, the allocator's slack (docs/scaling.md, "Memory").
SLACK_MIB = 48
# Resident memory when idle, rounded up: the supervising parent, and each serving process.
IDLE_PARENT_MIB, IDLE_PROCESS_MIB = 40, 36


def proxy_peak_mib(limit: int, processes: int) -> float:
    """The most a proxy with the default budget for memory ``limit`` may use, all processes together,
    if each stays within what the burst test below allows."""
    budget = max(default_budget(processes, limit), smallest_budget(Settings()))
    return IDLE_PARENT_MIB + processes * (IDLE_PROCESS_MIB + SLACK_MIB + budget / MIB)


@contextmanager
def second_proxy(deployment: Deployment, log: Path, *options: str) -> Iterator[tuple[str, list[int]]]:
    """A proxy of two processes with ``options``, in front of the session's TorchServe: its /classify
    URL and its processes' pids. Fails if any of them died meanwhile."""
    ports = dataclasses.replace(deployment.ports, proxy=serve.free_port())
    options = ("--processes", "2", "--access-log", "off", *options)
    proxy = serve.start_proxy(ports, log, *options, keys=key_file(deployment.run_dir))
    try:
        serve.wait_for_listen(ports.proxy, proxy)
        yield f"http://127.0.0.1:{ports.proxy}/classify", [p.pid for p in process_tree(proxy)]
        assert proxy.poll() is None, "a proxy process died"
    finally:
        serve.stop(proxy)


@pytest.fixture
def small_budget_proxy(deployment: Deployment, tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """A budget of two largest uploads for each process."""
    with second_proxy(deployment, tmp_path / "proxy.log", "--memory-budget", str(BUDGET)) as proxy:
        yield proxy


def noisy_jpeg(most_bytes: int) -> bytes:
    """A JPEG of a noisy page (noise does not compress) just under ``most_bytes``."""
    rng = np.random.default_rng(0)
    side = min(math.isqrt(most_bytes * 4), math.isqrt(MAX_PIXELS))  # about a quarter of a byte a pixel
    while True:
        light = np.asarray(page(side, "L"), np.int16)
        data = encoded(
            Image.fromarray(np.clip(light + rng.normal(0, 40, light.shape), 0, 255).astype(np.uint8)),
            "JPEG",
            quality=45,
        )
        if len(data) <= most_bytes:
            return data
        side = side * 97 // 100


def post(url: str, body: bytes, content_type: str) -> int:
    answer = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=120)
    assert answer.headers["Content-Type"].startswith("application/json")
    if answer.status_code == 503:
        assert "Retry-After" in answer.headers
    return answer.status_code


@pytest.mark.parametrize("images", [1, 16])
def test_a_burst_of_the_largest_uploads_never_grows_the_proxy_past_its_budget(small_budget_proxy, images):
    url, pids = small_budget_proxy
    single = noisy_jpeg(LIMIT // images - 4096)
    body, content_type = multipart([("image", (f"{i}.jpg", single, "image/jpeg")) for i in range(images)])
    assert LIMIT * 0.9 < len(body) <= LIMIT
    idle = {pid: status_kb("VmRSS", pid) for pid in pids}
    with ThreadPoolExecutor(BURST) as pool:
        statuses = list(pool.map(lambda _: post(url, body, content_type), range(BURST)))
    print(f"\n{images} image(s) a request, {BURST} at once: statuses {sorted(set(statuses))}")
    for pid in pids:
        rise = (status_kb("VmHWM", pid) - idle[pid]) / 1024
        print(f"proxy process {pid}: peak RSS {idle[pid] / 1024:.0f} MB idle + {rise:.0f} MB")
        assert rise <= BUDGET / MIB + SLACK_MIB
    assert all(status in (200, 400, 422, 503) for status in statuses)
    assert statuses.count(503) < BURST, "nothing got through"


DEADLINE = 2.0
WAITING = 200


def test_with_torchserve_stopped_every_upload_gets_504_within_its_deadline(deployment, tmp_path, mnist_pixels):
    """One deadline per request, queue and TorchServe together: uploads queued behind a TorchServe that
    does not answer are not given a further timeout each time a request is sent."""
    body, content_type = multipart({"image": ("d.png", png(mnist_pixels[0]), "image/png")})

    def timed(url: str) -> tuple[int, float, str]:
        started = time.monotonic()
        answer = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=60)
        return answer.status_code, time.monotonic() - started, answer.json()["error"]

    frozen = process_tree(deployment.children[0])  # TorchServe: its frontend and its workers
    with second_proxy(deployment, tmp_path / "proxy.log", "--deadline", str(DEADLINE)) as (url, _):
        try:
            for process in frozen:
                process.suspend()
            with ThreadPoolExecutor(WAITING) as pool:
                answers = list(pool.map(lambda _: timed(url), range(WAITING)))
        finally:
            for process in frozen:
                process.resume()
    slowest = max(seconds for _, seconds, _ in answers)
    print(f"\n{WAITING} uploads, TorchServe stopped, deadline {DEADLINE:g} s: slowest answer {slowest:.2f} s")
    assert {status for status, _, _ in answers} == {504}
    assert all(f"within {DEADLINE:g} s" in message for _, _, message in answers)
    assert slowest <= DEADLINE + 1
