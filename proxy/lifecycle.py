"""Serving the app, and stopping it without dropping a request in flight.

aiohttp's own run_app stops reading from every connection as soon as shutdown begins, so a request
whose body is still arriving (a slow upload) is lost. Here SIGTERM/SIGINT first closes the
listening socket, then waits (up to ``shutdown_timeout``) until the requests in flight have been
answered, and only then runs aiohttp's shutdown, which closes the idle connections.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from proxy.access_log import AccessLogBuffer, access_logger_class

logger = logging.getLogger("goclassify.proxy")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InFlight:
    """Counts the requests being handled; ``drained`` waits until there are none."""

    def __init__(self) -> None:
        self.count = 0
        self.stopping = False
        self._idle = asyncio.Event()
        self._idle.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.count += 1
        self._idle.clear()
        try:
            response = await handler(request)
            if self.stopping:
                response.force_close()  # tell a keep-alive client this connection ends here
            return response
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def drained(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


async def serve(
    app: web.Application,
    in_flight: InFlight,
    host: str,
    port: int,
    shutdown_timeout: float,
    access_log: bool,
    reuse_port: bool = False,
) -> None:
    """Serve ``app`` on host:port until SIGTERM or SIGINT, then stop gracefully."""
    log_buffer = AccessLogBuffer()
    options = {"access_log_class": access_logger_class(log_buffer)} if access_log else {"access_log": None}
    # handler_cancellation: a client that disconnects cancels its request, so its uploads leave the
    # queue unsent (proxy/coalesce.py) and its budget is freed at once.
    runner = web.AppRunner(
        app, handle_signals=False, shutdown_timeout=shutdown_timeout, handler_cancellation=True, **options
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
    await site.start()
    logger.info("listening on http://%s:%s (pid %d)", host, port, os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        in_flight.stopping = True
        await site.stop()  # no new connections from here on
        logger.info("stopping: waiting for %d request(s) in flight", in_flight.count)
        if not await in_flight.drained(shutdown_timeout):
            logger.warning("%d request(s) still in flight after %g s; closing", in_flight.count, shutdown_timeout)
    finally:
        await runner.cleanup()
        log_buffer.flush()
