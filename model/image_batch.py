"""How several image files travel in one TorchServe request: the proxy packs the uploads that arrive
together (proxy/coalesce.py), the handler unpacks them. This module is the whole format, shared by
both sides (the proxy's image copies it; it imports nothing heavy).

A packed body is ``MAGIC`` (or ``EXPLAIN_MAGIC``, when the answers should also say what the model
saw) followed, for each file, by its length (4 bytes, big-endian) and its bytes. It is sent as one
raw ``application/octet-stream`` body. One body instead of one multipart field per file:
TorchServe's frontend and its worker protocol pay per field (the worker reads each field with six
small socket reads); the packed form is measured in docs/benchmarks.md. No image format starts
with ``MAGIC``, so a body is either a packed batch or a single image file.
"""

from __future__ import annotations

from collections.abc import Sequence

from model.errors import ClientError

# An upload as the proxy holds it: bytes, or a view of the request body it came in (not a copy).
Buffer = bytes | memoryview

MAGIC = b"GoClassify images v1\n"
EXPLAIN_MAGIC = b"GoClassify images v1 explain\n"
LENGTH_BYTES = 4
# Most files one request may carry: the proxy's coalescing cap may not exceed it.
MAX_IMAGES_PER_REQUEST = 64


class ImageBatchError(ClientError):
    """A packed body that cannot be unpacked."""


def is_packed(body: bytes | bytearray) -> bool:
    return body.startswith((MAGIC, EXPLAIN_MAGIC))


def wants_explanation(body: bytes | bytearray) -> bool:
    return body.startswith(EXPLAIN_MAGIC)


def pack_images(files: Sequence[Buffer], explain: bool = False) -> bytes:
    return b"".join(packed_chunks(files, explain))


def packed_chunks(files: Sequence[Buffer], explain: bool = False) -> list[Buffer]:
    """A packed body as the chunks that make it up, the files themselves among them (not copied)."""
    if len(files) > MAX_IMAGES_PER_REQUEST:
        raise ValueError(f"at most {MAX_IMAGES_PER_REQUEST} images per request, not {len(files)}")
    chunks: list[Buffer] = [EXPLAIN_MAGIC if explain else MAGIC]
    for data in files:
        chunks += [len(data).to_bytes(LENGTH_BYTES, "big"), data]
    return chunks


def unpack_images(body: bytes | bytearray) -> list[bytes]:
    """The files of a packed body, in order."""
    magic = EXPLAIN_MAGIC if wants_explanation(body) else MAGIC
    view, offset, files = memoryview(body), len(magic), []
    while offset < len(view):
        if len(files) == MAX_IMAGES_PER_REQUEST:
            raise ImageBatchError(f"over {MAX_IMAGES_PER_REQUEST} images in one request", 413)
        if offset + LENGTH_BYTES > len(view):
            raise ImageBatchError("malformed image batch: truncated length")
        length = int.from_bytes(view[offset : offset + LENGTH_BYTES], "big")
        start, offset = offset + LENGTH_BYTES, offset + LENGTH_BYTES + length
        if offset > len(view):
            raise ImageBatchError(f"malformed image batch: file {len(files)} is truncated")
        files.append(bytes(view[start:offset]))
    if not files:
        raise ImageBatchError("malformed image batch: no images")
    return files
