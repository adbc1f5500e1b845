"""The proxy's access log: one line per request, written in batches, as nginx's ``access_log ...
buffer=... flush=...`` does.

aiohttp's default access logger builds a ``logging`` record and writes it out for every request,
a measurable share of ``/classify``'s throughput (docs/benchmarks.md).
Here a request costs a string format and a list append, and the lines are written together, at most
``FLUSH_SECONDS`` after the first of them (or as soon as ``FLUSH_BYTES`` have gathered).

The format is the Combined Log Format, with the seconds taken appended; the size is the bytes sent,
headers included (aiohttp's ``%b``, nginx's ``$bytes_sent``):
``127.0.0.1 - - [25/Nov/2026:18:47:13 +0000] "POST /classify HTTP/1.1" 200 312 "-" "curl/8.5.0" 0.004211``

A probe that passes (``/healthz``, ``/livez``) is not logged: Docker and Kubernetes send one every few seconds.
"""

from __future__ import annotations

import asyncio
import select
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

FLUSH_SECONDS = 1.0
# Probes of these paths (readiness, liveness) that pass are not logged; one that fails is.
PROBE_PATHS = frozenset({"/healthz", "/livez"})
FLUSH_BYTES = 64 * 1024
# Several proxy processes share one stdout (a pipe, under Docker or systemd): a write of at most
# PIPE_BUF bytes reaches it whole, so each write is whole lines within that size and no two
# processes' lines interleave mid-line.
ATOMIC_WRITE = select.PIPE_BUF
LOG_ENCODING = "utf-8"  # the widest encoding a console uses for these characters: sizes are counted in it


class AccessLogBuffer:
    """Lines waiting to be written to ``stream``; :meth:`flush` writes them in one call."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lines: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def add(self, line: str) -> None:
        self._lines.append(line)
        self._size += len(line)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            stream = self.stream or sys.stdout  # looked up late: tests and tools may swap sys.stdout
            for chunk in whole_line_chunks(self._lines, ATOMIC_WRITE):
                stream.write(chunk)
                stream.flush()
            self._lines.clear()
            self._size = 0

    def timestamp(self) -> str:
        """The current time as ``[25/Nov/2026:18:47:13 +0000]``, formatted once per second."""
        now = int(time.time())
        if now != self._second:
            self._second, self._stamp = now, time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(now))
        return self._stamp


def whole_line_chunks(lines: list[str], limit: int) -> Iterator[str]:
    """``lines`` joined into chunks of at most ``limit`` bytes once encoded (a longer line alone), never
    splitting a line. Bytes, not characters: PIPE_BUF counts bytes, and a client's User-Agent may hold
    characters of several bytes each."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode(LOG_ENCODING, errors="replace"))
        if chunk and size + length > limit:
            yield "".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += length
    if chunk:
        yield "".join(chunk)


def access_logger_class(buffer: AccessLogBuffer) -> type[AbstractAccessLogger]:
    """An aiohttp access logger class writing into ``buffer`` (aiohttp instantiates the class itself)."""

    class BufferedAccessLogger(AbstractAccessLogger):
        def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
            if response.status == 200 and request.path in PROBE_PATHS:
                return  # a passing probe, every few seconds from Docker or Kubernetes
            headers = request.headers
            major, minor = request.version
            buffer.add(
                f'{request.remote or "-"} - - {buffer.timestamp()} "{request.method} {request.path_qs} '
                f'HTTP/{major}.{minor}" {response.status} {response.body_length} '
                f'"{_quoted(headers.get("Referer", "-"))}" "{_quoted(headers.get("User-Agent", "-"))}" {time:.6f}\n'
            )

    return BufferedAccessLogger


def _quoted(value: str) -> str:
    """A client-chosen header made safe inside the line's double quotes (as nginx does)."""
    return value.replace("\\", "\\x5C").replace('"', "\\x22")
