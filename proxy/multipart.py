"""multipart/form-data uploads, parsed by python-multipart (the parser Starlette and FastAPI use).

The body is read whole under the size limit, then fed to the parser at once. The parser faces
untrusted input, so it is a well-kept library, not code of ours. A hand-written splitter on
``bytes.find`` was 4 % faster on ``/classify`` at 32 clients (the median of three paired runs:
docs/benchmarks.md, "Multipart"), which is under the 5 % that would have justified keeping our own.

What the proxy adds: a part limit, the field name from each part's Content-Disposition, and an
error for a body that ends before its closing boundary (python-multipart stops quietly there), and
parts that are views of the body rather than copies of it, so an upload is held once (proxy/budget.py).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from model.image_batch import Buffer

FORM_DATA = b"multipart/form-data"
CRLF = b"\r\n"
# python-multipart logs each malformed body as a warning; the client's 400 says it already, and a
# client must not be able to fill the server's log.
logging.getLogger("python_multipart.multipart").setLevel(logging.ERROR)


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclass(frozen=True)
class Part:
    name: str | None
    data: Buffer  # a view of the body where the part lies in one piece (as it does unless split)


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type (RFC 2046: 1 to 70 characters)."""
    kind, options = parse_options_header(content_type)
    if kind != FORM_DATA:
        raise MultipartError("not multipart/form-data")
    boundary = options.get(b"boundary", b"")
    if not 1 <= len(boundary) <= 70:
        raise MultipartError("multipart/form-data without a boundary")
    return boundary


class _Collector:
    """python-multipart's callbacks, collecting the parts of one body."""

    def __init__(self, body: bytes | bytearray, max_parts: int) -> None:
        self.body, self.max_parts = body, max_parts
        self._view = memoryview(body)
        self.parts: list[Part] = []
        self.ended = False
        self._chunks: list[Buffer] = []
        self._headers: dict[bytes, bytes] = {}
        self._field, self._value = bytearray(), bytearray()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.part_begin,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self.header_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        if len(self.parts) == self.max_parts:
            raise MultipartError(f"too many form fields (over {self.max_parts})")
        self._chunks, self._headers = [], {}

    def part_data(self, data: bytes | bytearray, start: int, end: int) -> None:
        # The parser hands out slices of the body it was given, or of its own look-behind buffer
        # where a part's data ends in something that looked like the start of a boundary.
        self._chunks.append(self._view[start:end] if data is self.body else bytes(data[start:end]))

    def header_end(self) -> None:
        self._headers[bytes(self._field).strip().lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def part_end(self) -> None:
        name = parse_options_header(self._headers.get(b"content-disposition", b""))[1].get(b"name")
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self.parts.append(Part(None if name is None else name.decode("utf-8", "replace"), data))

    def end(self) -> None:
        self.ended = True


def parse_parts(body: bytes | bytearray, boundary: bytes, max_parts: int) -> list[Part]:
    """The parts of a multipart body, in order; at most ``max_parts`` (more is an error). The body
    must not change while its parts are in use."""
    collector = _Collector(body, max_parts)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise MultipartError(str(exc)) from exc
    if not collector.ended:
        raise MultipartError("no closing boundary: the body is truncated")
    return collector.parts


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
