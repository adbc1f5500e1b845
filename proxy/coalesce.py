"""Coalescing concurrent uploads into fewer TorchServe requests.

On 2 cores, TorchServe's per-request cost (Java frontend, the worker protocol) and the proxy's own
client calls are most of the CPU a prediction takes; the network itself is microseconds. So uploads
that arrive while TorchServe is busy travel together, packed into one request body
(model/image_batch.py), and the handler answers with a list. There is no timer: a request is sent
at once when fewer than ``max_in_flight`` TorchServe calls are running (no added latency when
idle); otherwise it waits for the next free slot, where it joins whatever else has queued up (up to
``max_images`` and ``max_bytes``). The uploads waiting when slots free up are shared out between
those slots, so that each TorchServe worker gets a request. Measured in the README's benchmark.

Uploads asking for an explanation (``?explain=1``) wait in the same queue, under the same bound,
and travel in requests of their own (their answers carry more).

Each upload has a deadline, for the queue and TorchServe together. One task per process looks at the
uploads waiting or being sent every EXPIRY_CHECK seconds while there are any, and fails those past
their deadline with TimeoutError; a timer per upload (asyncio.timeout) cost the proxy a tenth of its
CPU per upload (docs/benchmarks.md). An upload whose deadline has passed, or whose client has gone
(aiohttp cancels its handler, and so its future), is dropped from the queue, not sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from model.image_batch import Buffer

# Before a slot takes its batch, the event loop turns this many times, so that uploads already read
# from their sockets (or being parsed) join this request instead of following in a one-image request
# of their own. A turn costs microseconds when the loop has nothing else to do, so latency at 1 client
# is unchanged; the count was chosen in alternating runs (docs/benchmarks.md).
ARRIVAL_TURNS = 16
# How often expired uploads are looked for: a 504 comes at most this long after its deadline.
EXPIRY_CHECK = 0.25

# What one upload gets back: an HTTP status and the JSON body for its client.
Answer = tuple[int, dict[str, Any]]
# send(images, explain, deadline): one TorchServe request, to be answered by ``deadline`` (loop time).
Send = Callable[[list[Buffer], bool, float], Awaitable[list[Answer]]]
OVERLOADED: Answer = (503, {"error": "overloaded: too many uploads are waiting for the model; retry shortly"})


@dataclass(slots=True)  # not frozen: one is made per upload, and a frozen one is slower to make
class Upload:
    data: Buffer
    explain: bool
    deadline: float  # the event loop's time by which its client must have an answer
    answer: asyncio.Future[Answer]


class Coalescer:
    def __init__(self, send: Send, max_images: int, max_bytes: int, max_in_flight: int, max_waiting: int) -> None:
        self._send = send
        self.max_images, self.max_bytes, self.max_in_flight = max_images, max_bytes, max_in_flight
        self.max_waiting = max_waiting
        self._pending: list[Upload] = []
        self.in_flight = 0  # drain tasks, each holding a slot
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks
        self._batches: list[list[Upload]] = []  # being sent: one per drain task waiting for TorchServe
        self._expiring: asyncio.Task[None] | None = None

    async def classify(self, data: Buffer, explain: bool, deadline: float) -> Answer:
        """The answer for one upload; raises what sending raised (timeouts, connection errors).
        With ``max_waiting`` uploads already waiting, a 503 at once: the client may retry, and the
        uploads in the queue are not delayed further. Past ``deadline`` (the loop's time), TimeoutError;
        cancelled, the upload leaves the queue unsent."""
        if len(self._pending) >= self.max_waiting:
            self._drop_unwanted()  # only here and when taking a batch: a scan per upload would cost at 32 clients
            if len(self._pending) >= self.max_waiting:
                return OVERLOADED
        upload = Upload(data, explain, deadline, asyncio.get_running_loop().create_future())
        self._pending.append(upload)
        if self.in_flight < self.max_in_flight:
            self._start_drain()
        if self._expiring is None:
            self._expiring = self._start(self._expire())
        return await upload.answer

    def _start(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _start_drain(self) -> None:
        self.in_flight += 1
        self._start(self._drain())

    async def _expire(self) -> None:
        """Fails the uploads past their deadline, waiting or being sent, while there are any."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending or self._batches:
                await asyncio.sleep(EXPIRY_CHECK)
                now = loop.time()
                for upload in (upload for uploads in (self._pending, *self._batches) for upload in uploads):
                    if upload.deadline <= now and not upload.answer.done():
                        upload.answer.set_exception(TimeoutError())
        finally:
            self._expiring = None

    async def _drain(self) -> None:
        """Send batches while uploads are waiting; this call holds one of the in-flight slots."""
        try:
            while self._pending:
                for _ in range(ARRIVAL_TURNS):
                    await asyncio.sleep(0)
                if not self._pending:  # another slot took them while this one waited
                    break
                batch = self._take_batch()
                if not batch:
                    break
                if self._pending and self.in_flight < self.max_in_flight:
                    self._start_drain()  # the rest goes out beside this batch, not after it
                self._batches.append(batch)
                try:
                    deadline = max(upload.deadline for upload in batch)
                    answers = await self._send([upload.data for upload in batch], batch[0].explain, deadline)
                except Exception as exc:
                    for upload in batch:
                        if not upload.answer.done():
                            upload.answer.set_exception(exc)
                    continue
                finally:
                    self._batches.remove(batch)
                for upload, answer in zip(batch, answers, strict=True):
                    if not upload.answer.done():  # its client may have gone away meanwhile
                        upload.answer.set_result(answer)
        finally:
            self.in_flight -= 1

    def _take_batch(self) -> list[Upload]:
        """The oldest waiting uploads of the oldest one's kind (explained or not), up to max_images and
        max_bytes (at least one, whatever its size), and no more than this call's fair share of them:
        the waiting uploads are spread over the free slots, so that TorchServe's workers each get a
        request instead of one getting them all. Uploads nobody waits for any more are dropped."""
        self._drop_unwanted()
        if not self._pending:
            return []
        free_slots = self.max_in_flight - len(self._batches)
        limit = min(self.max_images, -(-len(self._pending) // max(free_slots, 1)))
        explain, size = self._pending[0].explain, 0
        batch: list[Upload] = []
        rest: list[Upload] = []
        for upload in self._pending:
            fits = len(batch) < limit and (not batch or size + len(upload.data) <= self.max_bytes)
            if upload.explain == explain and fits:
                batch.append(upload)
                size += len(upload.data)
            else:
                rest.append(upload)
        self._pending = rest
        return batch

    def _drop_unwanted(self) -> None:
        self._pending = [upload for upload in self._pending if not upload.answer.done()]
