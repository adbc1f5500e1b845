"""Run the proxy: ``python -m proxy [--port 8000] [--inference-url http://127.0.0.1:8080] ...``."""

from __future__ import annotations

import asyncio
import logging

import uvloop

from proxy.app import IN_FLIGHT_KEY, create_app
from proxy.lifecycle import serve
from proxy.settings import parse_settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = parse_settings()
    app = create_app(settings)
    # SIGINT and SIGTERM stop it gracefully: requests in flight are answered first (proxy/lifecycle.py).
    running = serve(
        app,
        app[IN_FLIGHT_KEY],
        settings.host,
        settings.port,
        settings.shutdown_timeout,
        access_log=settings.access_log == "on",
    )
    if settings.event_loop == "uvloop":
        uvloop.run(running)
    else:
        asyncio.run(running)


if __name__ == "__main__":
    main()
