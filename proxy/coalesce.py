"""Coalescing concurrent uploads into fewer TorchServe requests.

On 2 cores, TorchServe's per-request cost (Java frontend, the worker protocol) and the proxy's own
client calls are most of the CPU a prediction takes; the network itself is microseconds. So uploads
that arrive while TorchServe is busy travel together, packed into one request body
(model/image_batch.py), and the handler answers with a list. There is no timer: a request is sent
at once when fewer than ``max_in_flight`` TorchServe calls are running (no added latency when
idle); otherwise it waits for the next free slot, where it joins whatever else has queued up (up to
``max_images`` and ``max_bytes``). The uploads waiting when slots free up are shared out between
those slots, so that each TorchServe worker gets a request. Measured in the README's benchmark.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

# Before a slot takes its batch, the event loop turns this many times, so that uploads already read
# from their sockets (or being parsed) join this request instead of following in a one-image request
# of their own. A turn costs microseconds when the loop has nothing else to do, so latency at 1 client
# is unchanged; the count was chosen in alternating runs (docs/benchmarks.md).
ARRIVAL_TURNS = 16

# What one upload gets back: an HTTP status and the JSON body for its client.
Answer = tuple[int, dict[str, Any]]
Send = Callable[[list[bytes]], Awaitable[list[Answer]]]
OVERLOADED: Answer = (503, {"error": "overloaded: too many uploads are waiting for the model; retry shortly"})


class Coalescer:
    def __init__(self, send: Send, max_images: int, max_bytes: int, max_in_flight: int, max_waiting: int) -> None:
        self._send = send
        self.max_images, self.max_bytes, self.max_in_flight = max_images, max_bytes, max_in_flight
        self.max_waiting = max_waiting
        self._pending: list[tuple[bytes, asyncio.Future[Answer]]] = []
        self.in_flight = 0  # drain tasks, each holding a slot
        self.sending = 0  # of which are waiting for TorchServe's answer
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    async def classify(self, data: bytes) -> Answer:
        """The answer for one upload; raises what sending raised (timeouts, connection errors).
        With ``max_waiting`` uploads already waiting, a 503 at once: the client may retry, and the
        uploads in the queue are not delayed further."""
        if len(self._pending) >= self.max_waiting:
            return OVERLOADED
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((data, future))
        if self.in_flight < self.max_in_flight:
            self._start_drain()
        return await future

    def _start_drain(self) -> None:
        self.in_flight += 1
        task = asyncio.create_task(self._drain())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        """Send batches while uploads are waiting; this call holds one of the in-flight slots."""
        try:
            while self._pending:
                for _ in range(ARRIVAL_TURNS):
                    await asyncio.sleep(0)
                if not self._pending:  # another slot took them while this one waited
                    break
                batch = self._take_batch()
                if self._pending and self.in_flight < self.max_in_flight:
                    self._start_drain()  # the rest goes out beside this batch, not after it
                self.sending += 1
                try:
                    answers = await self._send([data for data, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                finally:
                    self.sending -= 1
                for (_, future), answer in zip(batch, answers, strict=True):
                    if not future.done():  # its client may have gone away meanwhile
                        future.set_result(answer)
        finally:
            self.in_flight -= 1

    def _take_batch(self) -> list[tuple[bytes, asyncio.Future[Answer]]]:
        """The oldest waiting uploads, up to max_images and max_bytes (at least one, whatever its size),
        and no more than this call's fair share of them: the waiting uploads are spread over the
        free slots, so that TorchServe's workers each get a request instead of one getting them all."""
        free_slots = self.max_in_flight - self.sending
        limit = min(self.max_images, -(-len(self._pending) // max(free_slots, 1)))
        taken, size = 0, 0
        for data, _ in self._pending:
            if taken and (taken == limit or size + len(data) > self.max_bytes):
                break
            taken, size = taken + 1, size + len(data)
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        return batch
