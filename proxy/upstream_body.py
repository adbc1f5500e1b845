"""The body of a TorchServe request, written from the uploads where they lie (views of each client's
request body) instead of from a packed copy: the proxy holds each upload once (proxy/budget.py).

Small bodies are joined into one bytes first, so that aiohttp sends them with the request's headers
in one write, as before; only large ones are written chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import payload
from aiohttp.abc import AbstractStreamWriter

from model.image_batch import Buffer, packed_chunks

# Below this a copy costs less than the extra writes (and keeps the one-write request of small uploads).
JOIN_BELOW = 256 * 1024
# Written at most this much at a time, each write drained before the next: what the socket does not
# take at once, the event loop's transport copies into its own buffer, so one big write would copy
# the whole upload again.
WRITE_BYTES = 256 * 1024


class ChunksPayload(payload.Payload):
    """An octet-stream body of known length made of several buffers, written one after the other."""

    def __init__(self, chunks: Sequence[Buffer], size: int) -> None:
        super().__init__(chunks, content_type="application/octet-stream")
        self._size = size

    async def write(self, writer: AbstractStreamWriter) -> None:
        for chunk in self._value:
            view = memoryview(chunk)
            for start in range(0, len(view), WRITE_BYTES):
                await writer.write(view[start : start + WRITE_BYTES])
                await writer.drain()

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return b"".join(self._value).decode(encoding, errors)


def upstream_body(images: Sequence[Buffer], explain: bool) -> bytes | ChunksPayload:
    chunks = packed_chunks(images, explain)
    size = sum(len(chunk) for chunk in chunks)
    return b"".join(chunks) if size < JOIN_BELOW else ChunksPayload(chunks, size)
