"""Prometheus metrics of the proxy (``GET /metrics``); TorchServe's own stay on its metrics port.

Each app gets its own registry, so several apps in one process (tests) never collide.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from proxy.processes import METRICS_DIR_VARIABLE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UPSTREAM_ERROR_KINDS = ("unreachable", "timeout", "unavailable", "refused_key", "unexpected")
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ProxyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "goclassify_requests", "HTTP requests answered, by route and status", ["route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "goclassify_request_duration_seconds", "Time to answer, by route", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.batch_images = Histogram(
            "goclassify_upstream_batch_images", "Uploads carried by one TorchServe request (coalescing)",
            buckets=BATCH_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.upstream_errors = Counter(
            "goclassify_upstream_errors",
            "TorchServe calls that failed: " + ", ".join(UPSTREAM_ERROR_KINDS),
            ["kind"],
            registry=self.registry,
        )
        for kind in UPSTREAM_ERROR_KINDS:  # at 0 from the start: a rate() needs the series before the first error
            self.upstream_errors.labels(kind)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        response = await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        self.requests.labels(route, str(response.status)).inc()
        self.latency.labels(route).observe(time.perf_counter() - started)
        return response

    async def handler(self, _: web.Request) -> web.Response:
        registry = self.registry
        if METRICS_DIR_VARIABLE in os.environ:  # several processes (proxy/processes.py): their sum
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        response = web.Response(body=generate_latest(registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
