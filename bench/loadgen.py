"""A lean closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending the next request
as soon as the previous answer is in, for a fixed time.

It shares the machine's 2 cores with the servers it measures, so it is built to cost little: every
request is encoded to bytes once, before the clock starts, and the client is plain asyncio streams
(no HTTP library on the hot path). Its own CPU time is reported with the figures.
"""

from __future__ import annotations

import asyncio
import itertools
import resource
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from proxy.multipart import encode_files

# Not counted, at the start of each run: connections opening, caches filling; a cold JVM takes longer
# (the benchmark warms TorchServe up first).
SETTLE_SECONDS = 3.0
CONNECTION_LOST = 0  # the status recorded for a request whose connection was closed or reset
# Answers about the image, not errors: 422 is "not a digit" (the model's refusal of an MNIST digit it
# is unsure of, 0.46 % of the test set) or "no digit found".
ANSWERED = frozenset({200, 422})


def multipart_request(url: str, data: bytes, headers: dict[str, str] | None = None) -> bytes:
    """A complete POST of ``data`` as multipart field ``image``, ready to write to a socket.

    Encoded once, up front, with the proxy's own encoder rather than ``requests``: the load generator
    shares the 2 cores with the servers it measures, so it sends pre-built bytes and does no encoding
    per request.
    """
    body, content_type = encode_files([("image", data)], "digit.png", "image/png")
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True)
class Result:
    target: str
    concurrency: int
    seconds: float
    requests: int
    errors: int  # answers other than 200, and requests whose connection was lost
    connections_lost: int
    throughput: float  # answered requests per second (errors included)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_percent: float  # the load generator's own CPU use, in % of one core

    def row(self) -> dict[str, object]:
        return asdict(self)


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """Read one HTTP response (Content-Length framed); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise ValueError("chunked answers are not supported by this client")
    await reader.readexactly(length)
    return status


async def _connection(
    url: str, requests: Sequence[bytes], start: int, stop_at: float, latencies: list[float], statuses: list[int]
) -> None:
    """One client: a keep-alive connection, opened again whenever the server closes or resets it (that
    request counts as an error, status CONNECTION_LOST), until ``stop_at``."""
    parts = urlsplit(url)
    writer: asyncio.StreamWriter | None = None
    try:
        for payload in itertools.islice(itertools.cycle(requests), start, None):
            sent = time.perf_counter()
            if sent >= stop_at:
                return
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                writer.write(payload)
                status = await _read_answer(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                status = CONNECTION_LOST
                if writer is not None:
                    writer.close()
                writer = None
            latencies.append((time.perf_counter() - sent, sent))
            statuses.append(status)
    finally:
        if writer is not None:
            writer.close()


async def _run(
    url: str, requests: Sequence[bytes], concurrency: int, seconds: float, settle: float
) -> tuple[list, list]:
    latencies: list[tuple[float, float]] = []
    statuses: list[int] = []
    stop_at = time.perf_counter() + settle + seconds
    step = max(1, len(requests) // concurrency)
    await asyncio.gather(
        *(_connection(url, requests, i * step, stop_at, latencies, statuses) for i in range(concurrency))
    )
    return latencies, statuses


def run_load(
    target: str, url: str, requests: Sequence[bytes], concurrency: int, seconds: float, settle: float = SETTLE_SECONDS
) -> Result:
    """Keep ``concurrency`` requests in flight against ``url`` for ``seconds``, counted after ``settle``."""
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    latencies, statuses = asyncio.run(_run(url, requests, concurrency, seconds, settle))
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    counted_from = started + settle
    kept = [(lat, status) for (lat, sent), status in zip(latencies, statuses, strict=True) if sent >= counted_from]
    times = sorted(lat * 1000 for lat, _ in kept)
    cuts = (
        statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else [times[0] if times else 0.0] * 99
    )
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    wall = time.perf_counter() - started
    return Result(
        target=target,
        concurrency=concurrency,
        seconds=round(seconds, 1),
        requests=len(kept),
        errors=sum(status not in ANSWERED for _, status in kept),
        connections_lost=sum(status == CONNECTION_LOST for _, status in kept),
        throughput=round(len(kept) / seconds, 1),
        p50_ms=round(cuts[49], 2),
        p90_ms=round(cuts[89], 2),
        p99_ms=round(cuts[98], 2),
        max_ms=round(times[-1], 2) if times else 0.0,
        client_cpu_percent=round(100 * cpu / wall, 1),
    )
