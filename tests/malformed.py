"""A seeded corpus of malformed uploads for the fuzz test: whole HTTP requests, each with what it may get.

Every request here must be answered with a 4xx JSON error, except a bit-flipped file, which can
still be a valid image (a flip in pixel data): that one may also be classified (200).
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from evaluation.imaging import digit_image, encode
from tests.http_helpers import multipart

SEED = 5
PER_KIND = 50  # truncations and bit flips per format
RANDOM_FILES = 150
MAGIC_HEADERS = {
    "png": b"\x89PNG\r\n\x1a\n",
    "jpeg": b"\xff\xd8\xff\xe0",
    "gif": b"GIF89a",
    "bmp": b"BM",
    "webp": b"RIFF\x00\x10\x00\x00WEBPVP8 ",
}


@dataclass(frozen=True)
class BadRequest:
    category: str
    body: bytes
    content_type: str
    may_classify: bool = False  # True only where a still-valid image can result

    @classmethod
    def upload(cls, category: str, data: bytes, filename: str = "digit.png", ctype: str = "image/png") -> BadRequest:
        body, content_type = multipart({"image": (filename, data, ctype)})
        return cls(category, body, content_type)


# The first bytes of an iPhone photo: HEIF's file-type box, brand "heic", compatible with mif1 and heic.
HEIC_START = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x01\x00meta"


def bomb_png(side: int = 20000) -> bytes:
    """A valid side x side grayscale PNG of a few hundred kB (400 MP declared at the default size)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return MAGIC_HEADERS["png"] + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def animated(fmt: str, pixels: np.ndarray) -> bytes:
    frames = [digit_image(pixels), digit_image(255 - pixels)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def corpus(pixels: np.ndarray) -> Iterator[BadRequest]:
    """At least 500 malformed requests, in categories; ``pixels`` are MNIST digits to damage."""
    rng = random.Random(SEED)
    samples = {
        "png": encode(digit_image(pixels[0]).resize((280, 280)), "PNG"),
        "jpeg": encode(digit_image(pixels[1]).resize((280, 280)), "JPEG", quality=90),
        "gif": encode(digit_image(pixels[2]).resize((280, 280)), "GIF"),
    }
    for _ in range(RANDOM_FILES):
        yield BadRequest.upload("random bytes", rng.randbytes(rng.randint(1, 20_000)))
    for fmt, magic in MAGIC_HEADERS.items():
        for _ in range(10):
            yield BadRequest.upload("magic header + junk", magic + rng.randbytes(rng.randint(10, 5_000)), f"d.{fmt}")
    for fmt, data in samples.items():
        for _ in range(PER_KIND):
            # Cut inside the image data (the first 90 %): a cut in a trailer can leave a whole image.
            yield BadRequest.upload(f"truncated {fmt}", data[: rng.randint(1, int(len(data) * 0.9))], f"d.{fmt}")
        for _ in range(PER_KIND):
            flipped = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            request = BadRequest.upload(f"bit-flipped {fmt}", bytes(flipped), f"d.{fmt}")
            yield BadRequest(request.category, request.body, request.content_type, may_classify=True)
    yield from special_files(pixels)
    yield from bad_requests(samples["png"])


def special_files(pixels: np.ndarray) -> Iterator[BadRequest]:
    yield BadRequest.upload("decompression bomb", bomb_png())
    for fmt in ("GIF", "PNG", "WEBP"):
        yield BadRequest.upload("animated image", animated(fmt, pixels[3]), f"anim.{fmt.lower()}")
    yield BadRequest.upload("empty file", b"")
    yield BadRequest.upload("text named .png", b"this is not an image\n" * 20)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><text y="20">7</text></svg>'
    yield BadRequest.upload("SVG", svg, "seven.png", "image/svg+xml")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    yield BadRequest.upload("PDF", pdf, "seven.jpg", "image/jpeg")
    tiny_tiff = encode(Image.new("L", (28, 28)), "TIFF")
    yield BadRequest.upload("unsupported format (TIFF)", tiny_tiff, "seven.png")


def bad_requests(valid_png: bytes) -> Iterator[BadRequest]:
    """Requests that are wrong as HTTP, whatever the file."""
    for ctype in ("image/png", "application/json", "text/plain", "application/x-www-form-urlencoded"):
        yield BadRequest("wrong content type", valid_png, ctype)
    yield BadRequest("multipart without boundary", valid_png, "multipart/form-data")
    body, ctype = multipart({"image": ("d.png", valid_png, "image/png")})
    yield BadRequest("boundary mismatch", body, ctype.replace("boundary=", "boundary=x"))
    yield BadRequest("body over the size limit", *multipart({"image": ("big.png", b"\x00" * (11 << 20), "image/png")}))
    fields = {f"field{i}": ("", b"x", "text/plain") for i in range(100)} | {"image": ("d.png", valid_png, "image/png")}
    yield BadRequest("too many fields", *multipart(fields))
    yield BadRequest("no image field", *multipart({"file": ("d.png", valid_png, "image/png")}))
    yield BadRequest("empty body", b"", "multipart/form-data; boundary=abc")
