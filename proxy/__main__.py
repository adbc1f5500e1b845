"""Run the proxy: ``python -m proxy [--port 8000] [--inference-url http://127.0.0.1:8080] ...``."""

from __future__ import annotations

import logging

from aiohttp import web

from proxy.app import create_app
from proxy.settings import parse_settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = parse_settings()
    # run_app handles SIGINT and SIGTERM: it stops accepting, lets in-flight requests finish (up to
    # shutdown_timeout), then closes the client session.
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout,
        print=lambda line: logging.getLogger("goclassify.proxy").info("%s", line.strip()),
    )


if __name__ == "__main__":
    main()
