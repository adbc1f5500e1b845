"""multipart/form-data, read from and written to bytes with C-speed bytes operations.

The proxy's hot path: aiohttp's streaming multipart reader parses every header through the
``email`` package and costs more CPU per request than the rest of the proxy together (measured with
py-spy; README, benchmark). An upload is at most a few MiB and is read whole under the size limit, so
splitting it on its boundary with ``bytes.find`` is both simpler and several times cheaper.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

# boundary=... in a Content-Type header, quoted or not (RFC 2046: 1 to 70 characters).
BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))', re.IGNORECASE)
# name="..." in a Content-Disposition header, not to be confused with filename="...".
FIELD_NAME = re.compile(rb'(?:^|;)\s*name="((?:[^"\\]|\\.)*)"|(?:^|;)\s*name=([^;\s]+)', re.IGNORECASE)
CRLF = b"\r\n"


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclass(frozen=True)
class Part:
    name: str | None
    data: bytes


def boundary_of(content_type: str) -> bytes:
    if not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError("not multipart/form-data")
    match = BOUNDARY.search(content_type)
    if match is None:
        raise MultipartError("multipart/form-data without a boundary")
    return (match.group(1) or match.group(2)).encode("latin-1")


def parse_parts(body: bytes, boundary: bytes, max_parts: int) -> list[Part]:
    """The parts of a multipart body, in order; at most ``max_parts`` (more is an error)."""
    delimiter = b"--" + boundary
    position = body.find(delimiter)
    if position < 0 or (position > 0 and body[position - 2 : position] != CRLF):
        raise MultipartError("no opening boundary")
    parts: list[Part] = []
    while True:
        position += len(delimiter)
        if body.startswith(b"--", position):
            return parts  # the closing delimiter; anything after it is an epilogue, ignored
        if len(parts) == max_parts:
            raise MultipartError(f"too many form fields (over {max_parts})")
        line_end = body.find(CRLF, position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise MultipartError("malformed boundary line")
        end = body.find(CRLF + delimiter, line_end)
        if end < 0:
            raise MultipartError("no closing boundary: the body is truncated")
        parts.append(_part(body[line_end + 2 : end]))
        position = end + 2


def _part(raw: bytes) -> Part:
    head_end = raw.find(CRLF + CRLF)
    if raw.startswith(CRLF):  # a part with no headers at all
        head, data = b"", raw[2:]
    elif head_end < 0:
        raise MultipartError("a part without the blank line that ends its headers")
    else:
        head, data = raw[:head_end], raw[head_end + 4 :]
    name = None
    for line in head.split(CRLF):
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-disposition":
            match = FIELD_NAME.search(value)
            if match:
                name = (match.group(1) or match.group(2)).decode("utf-8", "replace")
    return Part(name, data)


def encode_files(fields: list[tuple[str, bytes]], filename: str, content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body of files ``(field name, data)`` and its Content-Type header."""
    boundary = secrets.token_hex(16)  # unguessable: an upload cannot contain it on purpose
    chunks = []
    for name, data in fields:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        chunks += [head.encode(), data, CRLF]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
