"""Run the proxy: ``python -m proxy [--port 8000] [--processes 0] [--inference-url ...] ...``."""

from __future__ import annotations

import asyncio
import logging
import sys

import uvloop

from proxy.processes import supervise
from proxy.settings import Settings, parse_settings


def run(settings: Settings, reuse_port: bool = False) -> None:
    """One proxy process, until SIGTERM or SIGINT; requests in flight are answered first."""
    from proxy.app import IN_FLIGHT_KEY, create_app  # imported late: after supervise() set up metrics
    from proxy.lifecycle import serve

    app = create_app(settings)
    running = serve(
        app,
        app[IN_FLIGHT_KEY],
        settings.host,
        settings.port,
        settings.shutdown_timeout,
        access_log=settings.access_log == "on",
        reuse_port=reuse_port,
    )
    if settings.event_loop == "uvloop":
        uvloop.run(running)
    else:
        asyncio.run(running)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = parse_settings()
    if settings.processes == 1:
        run(settings)
    else:
        sys.exit(supervise(settings, run))


if __name__ == "__main__":
    main()
