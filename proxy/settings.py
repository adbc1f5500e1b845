"""Proxy settings: every knob has a default here, an environment variable, and a CLI flag."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields

from model.image_batch import MAX_IMAGES_PER_REQUEST
from proxy.cors import parse_origins

ENV_PREFIX = "GOCLASSIFY_"
EVENT_LOOPS = ("uvloop", "asyncio")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    inference_url: str = "http://127.0.0.1:8080"  # TorchServe inference API
    management_url: str = "http://127.0.0.1:8081"  # TorchServe management API, read for /healthz
    model_name: str = "mnist"
    max_upload_bytes: int = 10 * 1024 * 1024  # 10 MiB; larger uploads get 413
    upstream_timeout: float = 30.0  # seconds for a whole prediction round trip
    connect_timeout: float = 2.0  # seconds to reach TorchServe before answering 503
    # Concurrent uploads travel to TorchServe together (proxy/coalesce.py): at most this many
    # TorchServe requests at once (one per TorchServe worker: config.properties has 2), each with at
    # most this many images. Chosen by bench/tune.py.
    upstream_concurrency: int = 2
    coalesce_max_images: int = 32
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
    if settings.upstream_concurrency < 1:
        parser.error("--upstream-concurrency must be at least 1")
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
    return settings
