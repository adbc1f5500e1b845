"""Several proxy processes on one port, and overload (docs/scaling.md): the real TorchServe behind a
proxy run with two processes and a small waiting limit, so that 128 clients overload it."""

from __future__ import annotations

import asyncio
import http.client
import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from evaluation.imaging import png
from harness import launcher as serve
from harness.launcher import Deployment
from proxy.settings import usable_cores
from tests.conftest import READY_TIMEOUT
from tests.http_helpers import multipart

PROCESSES = 2
MAX_WAITING = 4  # uploads waiting per proxy process before it answers 503 (default 1024)
CLIENTS = 128
REQUESTS_PER_CLIENT = 4


@pytest.fixture(scope="module")
def two_proxies(model_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    options = ("--processes", str(PROCESSES), "--max-waiting", str(MAX_WAITING))
    run_dir = tmp_path_factory.mktemp("two-proxies")
    with serve.running_deployment(model_store, run_dir, timeout=READY_TIMEOUT, proxy_options=options) as running:
        yield running


def test_connections_are_spread_over_the_proxy_processes(two_proxies: Deployment, mnist_pixels, mnist_test):
    """Each process binds the port (SO_REUSEPORT) and the kernel deals out the connections; the
    Prometheus counters are summed over the processes, whichever one answers /metrics."""
    body, content_type = multipart({"image": ("d.png", png(mnist_pixels[0]), "image/png")})
    connections = [http.client.HTTPConnection("127.0.0.1", two_proxies.ports.proxy, timeout=30) for _ in range(16)]
    try:
        for connection in connections:  # kept open: each stays with the process that accepted it
            connection.request("POST", "/classify", body, {"Content-Type": content_type})
            answer = connection.getresponse()
            assert answer.status == 200 and b'"predicted_digit": %d' % mnist_test.labels[0] in answer.read()
        supervisor = psutil.Process(two_proxies.children[1].pid)
        workers = supervisor.children()
        assert len(workers) == PROCESSES
        held = {process.pid: accepted(process, two_proxies.ports.proxy) for process in workers}
        assert sum(held.values()) == 16 and all(held.values()), held
    finally:
        for connection in connections:
            connection.close()
    with urllib.request.urlopen(f"{two_proxies.proxy}/metrics", timeout=10) as answer:
        metrics = answer.read().decode()
    counted = [line for line in metrics.splitlines() if line.startswith('goclassify_requests_total{route="/classify"')]
    assert any('status="200"' in line and float(line.split()[-1]) >= 16 for line in counted), counted


def accepted(process: psutil.Process, port: int) -> int:
    """The connections to ``port`` that ``process`` holds (its listening socket not counted)."""
    return sum(c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED for c in process.net_connections())


async def overload(url: str, data: bytes) -> list[tuple[int, dict, str | None] | BaseException]:
    """CLIENTS clients at once, each sending REQUESTS_PER_CLIENT uploads one after another."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:

        async def one() -> tuple[int, dict, str | None]:
            form = aiohttp.FormData()
            form.add_field("image", data, filename="d.png", content_type="image/png")
            async with session.post(url, data=form) as answer:
                return answer.status, await answer.json(), answer.headers.get("Retry-After")

        async def client() -> list:
            return [await one() for _ in range(REQUESTS_PER_CLIENT)]

        per_client = await asyncio.gather(*(client() for _ in range(CLIENTS)), return_exceptions=True)
    return [item for outcome in per_client for item in (outcome if isinstance(outcome, list) else [outcome])]


def test_overload_is_answered_with_200_or_a_clear_503_never_a_hang_or_a_reset(
    two_proxies: Deployment, mnist_pixels, mnist_test
):
    outcomes = asyncio.run(asyncio.wait_for(overload(f"{two_proxies.proxy}/classify", png(mnist_pixels[3])), 120))
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert failures == [], f"{len(failures)} requests failed outright, e.g. {failures[0]!r}"
    statuses = Counter(status for status, _, _ in outcomes)
    assert set(statuses) == {200, 503}, statuses  # both: the test did overload the stack
    for status, body, retry_after in outcomes:
        if status == 200:
            assert body["predicted_digit"] == int(mnist_test.labels[3])
        else:
            assert "overloaded" in body["error"] and retry_after == "1"
    print(f"\n{CLIENTS} clients x {REQUESTS_PER_CLIENT}: {dict(statuses)}")
    assert serve.process_tree(two_proxies.children[1])  # the proxy is still there


def test_torchserve_follows_the_machine_and_runs_no_metrics_collector(two_proxies: Deployment):
    """One worker per usable core and TorchServe's default Netty threads (config.properties sets
    neither), and no system-metrics collector: on a GPU machine it would import the missing nvgpu."""
    log = (two_proxies.run_dir / "logs" / "ts_log.log").read_text()
    assert f"Default workers per model: {usable_cores()}" in log and "Netty threads: 0" in log
    assert "MetricCollector" not in log + (two_proxies.run_dir / "torchserve.log").read_text()
    assert not any("metric_collector" in " ".join(p.cmdline()) for p in serve.process_tree(two_proxies.children[0]))


def test_the_worker_count_the_pod_sets_reaches_torchserve(model_store: Path, tmp_path: Path, monkeypatch):
    """deploy/kubernetes sets TorchServe's workers with TS_DEFAULT_WORKERS_PER_MODEL (config.properties
    allows TS_* variables): TorchServe 0.12 must honour it."""
    monkeypatch.setenv("TS_DEFAULT_WORKERS_PER_MODEL", "1")
    with (
        serve.running_deployment(model_store, tmp_path, timeout=READY_TIMEOUT) as running,
        urllib.request.urlopen(f"{running.proxy}/healthz", timeout=10) as answer,
    ):
        assert json.loads(answer.read())["workers"] == 1
