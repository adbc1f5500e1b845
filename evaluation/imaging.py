"""Encoding MNIST arrays as image files, for the evaluation sets, the benchmark and the tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def digit_image(pixels: np.ndarray) -> Image.Image:
    """An MNIST digit (uint8, white on black) as an 8-bit grayscale image."""
    return Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode="L")


def png(pixels: np.ndarray) -> bytes:
    return encode(digit_image(pixels), "PNG")


def cover_with(
    picture: np.ndarray, cover: np.ndarray, colour: tuple[float, float, float], strength: float = 1.0
) -> None:
    """Lays ``colour`` over ``picture`` (rows x cols x 3, float in [0, 1]) where ``cover`` (rows x cols,
    0 to 1) says, ``strength`` of the way, in place: ink, paint or thread over a surface."""
    alpha = (np.clip(cover, 0, 1) * strength)[..., None]
    picture += alpha * (np.asarray(colour, np.float32) - picture)
