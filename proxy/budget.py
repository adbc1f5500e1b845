"""The bytes of uploads one proxy process may hold at once, so that a burst of large uploads waits or
is turned away instead of growing the process past its container's memory limit.

An upload is charged before its body is read (its Content-Length, or the upload limit when the
client does not say), and released when its answer is ready. The body is the one copy the proxy
holds: the parts are views of it (proxy/multipart.py) and the TorchServe request is written from
those views (proxy/upstream_body.py). A charge that does not fit waits up to ``wait`` seconds for
others to finish; then the upload gets 503 with Retry-After, its body unread.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

# What a request holds besides its body: aiohttp's read buffers, the parsed headers, the answer.
PER_REQUEST_OVERHEAD = 64 * 1024
# Of the container's memory limit, the share all processes' budgets together may take: the rest is
# each process's own footprint (interpreter, aiohttp, metrics), the supervising parent, and what a
# process holds beyond its charged bytes under load (docs/scaling.md has the arithmetic).
SHARE_OF_MEMORY = 1 / 3


class OverBudget(Exception):
    """The upload did not fit in the budget within the wait."""


class ByteBudget:
    """Plain acquire and release rather than an async context manager: this is on every upload's path,
    and an async generator per request cost the proxy measurable throughput (docs/benchmarks.md)."""

    def __init__(self, limit: int, wait: float) -> None:
        self.limit, self.wait = limit, wait
        self.held = 0
        self._released: asyncio.Event | None = None  # exists while an upload waits for room

    def take(self, size: int) -> int:
        """Holds ``size`` bytes (and the per-request overhead) of the budget if they are free now;
        returns the charge, for release(), or 0. Not a coroutine: the usual case costs no await."""
        charge = self._charge(size)
        if self.held + charge > self.limit:
            return 0
        self.held += charge
        return charge

    async def acquire(self, size: int) -> int:
        """The same, waiting for room; raises OverBudget when there is none within the wait."""
        charge = self._charge(size)
        await self._wait_for_room(charge)
        self.held += charge
        return charge

    def _charge(self, size: int) -> int:
        return min(size + PER_REQUEST_OVERHEAD, self.limit)  # the setting ensures one upload always fits

    def release(self, charge: int) -> None:
        self.held -= charge
        if self._released is not None:  # every waiter looks again
            self._released.set()
            self._released = None

    async def _wait_for_room(self, charge: int) -> None:
        """Returns as soon as ``charge`` fits (at once if it does now)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.wait
        while self.held + charge > self.limit:
            if self._released is None:
                self._released = asyncio.Event()
            try:
                await asyncio.wait_for(self._released.wait(), max(give_up - loop.time(), 0))
            except TimeoutError:
                raise OverBudget from None


def default_budget(processes: int, limit: int | None = None) -> int:
    """Each process's share of a third of the memory this container may use: ``limit``, or its cgroup
    limit, or the machine's memory when it has none."""
    return int((limit or memory_limit()) * SHARE_OF_MEMORY) // processes


def memory_limit(root: Path = Path("/sys/fs/cgroup")) -> int:
    """The cgroup memory limit (v2 memory.max, or v1 memory.limit_in_bytes), or the machine's memory."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            return min(int(text), physical)  # v1 writes a huge number for "no limit"
    return physical
