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


def placed(
    digit: np.ndarray, rows: int, cols: int, rng: np.random.Generator, spread: tuple[float, float]
) -> np.ndarray:
    """A rows x cols plane holding ``digit`` (a square of coverage), its top and then its left drawn
    at random between ``spread`` of the room the plane leaves it: near the middle, not at it."""
    side = digit.shape[0]
    plane = np.zeros((rows, cols), np.float32)
    top = round((rows - side) * rng.uniform(*spread))
    left = round((cols - side) * rng.uniform(*spread))
    plane[top : top + side, left : left + side] = digit
    return plane
