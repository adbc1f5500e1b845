"""Proxy settings: every knob has a default here, an environment variable, and a CLI flag."""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from model.image_batch import MAX_IMAGES_PER_REQUEST
from proxy.budget import PER_REQUEST_OVERHEAD, default_budget
from proxy.cors import parse_origins

ENV_PREFIX = "GOCLASSIFY_"
# One proxy process per this many cores, and never fewer than MIN_PROCESSES: one event loop chains
# parsing, coalescing and waiting, and leaves cores idle even on 2 cores (docs/scaling.md).
CORES_PER_PROCESS = 2
MIN_PROCESSES = 2
EVENT_LOOPS = ("uvloop", "asyncio")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    inference_url: str = "http://127.0.0.1:8080"  # TorchServe inference API
    management_url: str = "http://127.0.0.1:8081"  # TorchServe management API, read for /healthz
    model_name: str = "mnist"
    max_upload_bytes: int = 10 * 1024 * 1024  # 10 MiB; larger uploads get 413
    # Seconds from an upload's arrival (its body read) to its answer, queue and TorchServe together;
    # past it, 504.
    deadline: float = 30.0
    connect_timeout: float = 2.0  # seconds to reach TorchServe before answering 503
    # Processes serving the port (SO_REUSEPORT: the kernel spreads connections over them).
    # 0: one per 2 usable cores, at least 2 (docs/scaling.md).
    processes: int = 0
    # Concurrent uploads travel to TorchServe together (proxy/coalesce.py): at most this many
    # TorchServe requests at once, all processes together, shared out between them (one per
    # TorchServe worker), each with at most coalesce_max_images images. 0: one per usable core, which
    # is TorchServe's own default worker count on the same machine (config.properties sets none).
    upstream_concurrency: int = 0
    coalesce_max_images: int = 32
    # Uploads waiting for a TorchServe request, per process; past it an upload gets 503 at once
    # (back-pressure instead of an ever longer queue; docs/scaling.md).
    max_waiting: int = 1024
    # Bytes of uploads each process may hold at once (proxy/budget.py); an upload past it waits up to
    # budget_wait seconds, then gets 503. 0: each process's share of a third of the container's memory limit.
    memory_budget: int = 0
    budget_wait: float = 1.0
    health_timeout: float = 2.0  # seconds for the readiness probe
    # TorchServe's key_file.json (token authorization); empty: TorchServe runs without it.
    torchserve_key_file: str = ""
    # Origins (comma-separated, exact) whose browsers may call the API; empty: same origin only.
    cors_origins: str = ""
    # On SIGTERM/SIGINT, in-flight requests get this long to finish before the proxy exits.
    shutdown_timeout: float = 10.0
    # "uvloop" (libuv, in C) or "asyncio" (the standard loop); see the README's benchmark for why.
    event_loop: str = "uvloop"
    # One line per request on stdout ("on"/"off"), passing readiness probes left out (proxy/access_log.py).
    access_log: str = "on"

    def resolved(self) -> Settings:
        """These settings with every 0 ("follow the machine") replaced by the figure it stands for."""
        cores = usable_cores()
        processes = self.processes or max(MIN_PROCESSES, cores // CORES_PER_PROCESS)
        return replace(
            self,
            processes=processes,
            upstream_concurrency=self.upstream_concurrency or cores,
            memory_budget=self.memory_budget or max(default_budget(processes), smallest_budget(self)),
        )

    @property
    def process_concurrency(self) -> int:
        """Each process's share of ``upstream_concurrency`` (resolved settings), rounded up."""
        return -(-self.upstream_concurrency // self.processes)


def smallest_budget(settings: Settings) -> int:
    """A budget that holds one upload of the largest size allowed."""
    return settings.max_upload_bytes + PER_REQUEST_OVERHEAD


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (a container's
    CPU limit), as Java's availableProcessors() counts them for TorchServe."""
    cores = len(os.sched_getaffinity(0))
    quota = _cgroup_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota in cores (cgroup v2 cpu.max, or v1 cfs_quota_us/cfs_period_us); None when unlimited."""
    try:
        if (root / "cpu.max").exists():
            quota, period = (root / "cpu.max").read_text().split()
        else:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
    except (OSError, ValueError):
        return None
    if quota in ("max", "-1"):
        return None
    return int(quota) / int(period)


def parse_settings(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Flags win over ``GOCLASSIFY_<NAME>`` environment variables, which win over the defaults."""
    environ = dict(os.environ) if environ is None else environ
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m proxy",
        description="GoClassify HTTP proxy",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for field in fields(Settings):
        kind = type(getattr(defaults, field.name))
        env_name = ENV_PREFIX + field.name.upper()
        default = kind(environ[env_name]) if env_name in environ else getattr(defaults, field.name)
        parser.add_argument("--" + field.name.replace("_", "-"), type=kind, default=default, help=f"env {env_name}")
    args = parser.parse_args(argv)
    settings = Settings(**vars(args))
    if settings.max_upload_bytes <= 0:
        parser.error("--max-upload-bytes must be positive")
    if settings.processes < 0 or settings.upstream_concurrency < 0:
        parser.error("--processes and --upstream-concurrency must be positive, or 0 for one per core")
    if settings.memory_budget and settings.memory_budget < smallest_budget(settings):
        parser.error(f"--memory-budget must hold one largest upload: at least {smallest_budget(settings)}")
    if settings.deadline <= 0 or settings.budget_wait < 0:
        parser.error("--deadline must be positive and --budget-wait not negative")
    if settings.max_waiting < 1:
        parser.error("--max-waiting must be at least 1")
    if not 1 <= settings.coalesce_max_images <= MAX_IMAGES_PER_REQUEST:
        parser.error(f"--coalesce-max-images must be 1 to {MAX_IMAGES_PER_REQUEST} (the handler's limit)")
    if settings.access_log not in ("on", "off"):
        parser.error("--access-log must be on or off")
    if settings.event_loop not in EVENT_LOOPS:
        parser.error(f"--event-loop must be one of {', '.join(EVENT_LOOPS)}")
    try:
        parse_origins(settings.cors_origins)
    except ValueError as exc:
        parser.error(f"--cors-origins: {exc}")
    return settings.resolved()
