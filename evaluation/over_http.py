"""Concurrent client for ``POST /classify``, shared by the parity test and the benchmark."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

DEFAULT_CONCURRENCY = 16


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float


async def _classify_all(url: str, files: Sequence[bytes], concurrency: int) -> list[Answer]:
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency)

    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def one(data: bytes) -> Answer:
            form = aiohttp.FormData()
            form.add_field("image", data, filename="digit.png", content_type="image/png")
            async with gate:
                started = time.perf_counter()
                async with session.post(url, data=form) as response:
                    body = await response.json()
                    return Answer(response.status, body, time.perf_counter() - started)

        return await asyncio.gather(*(one(data) for data in files))


def classify_all(url: str, files: Sequence[bytes], concurrency: int = DEFAULT_CONCURRENCY) -> list[Answer]:
    """POST every file to ``url`` (the proxy's /classify), ``concurrency`` at a time, answers in order."""
    return asyncio.run(_classify_all(url, files, concurrency))
