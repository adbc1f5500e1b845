"""A second held-out set of everyday conditions, written and frozen before any change it could measure.

The first held-out set (evaluation/heldout_conditions.py) has been read more than once, so it no
longer measures what a change generalises to. This one is new code with conditions that neither
earlier set has, from MNIST validation digits (55,000-59,999) and its own seed. Each image is one
clearly written digit that a person reads at a glance:

- **receipt**: written on a till receipt, between printed lines of items and prices;
- **crossed-out**: beside a first attempt struck through with a scribble;
- **highlighter**: over a stripe of yellow, green or pink highlighter;
- **flash-glare**: a phone flash's bright spot on glossy paper near the digit;
- **kraft-paper**: on brown kraft paper with its fibres, the ink a little darker than the paper;
- **hard-shadow**: a shadow with a sharp edge (a hand, a phone) across the page and the digit.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode
from evaluation.photos import installed_fonts

SEED = 31337
FIRST_DIGIT = 55_000
DIGITS_USED = 5_000
ITEMS = ("COFFEE", "BAGEL", "TEA", "WATER", "SOUP", "SALAD", "MUFFIN", "JUICE", "TAX", "TOTAL")


def _page(height: int, width: int, colour: tuple[float, float, float]) -> np.ndarray:
    return np.broadcast_to(np.asarray(colour, np.float32), (height, width, 3)).copy()


def _write(page: np.ndarray, pixels: np.ndarray, side: int, x: float, y: float, ink: tuple[float, ...]) -> None:
    """The digit's ink, its 28 px frame ``side`` pixels wide, centred at (x, y), over ``page`` in place."""
    cover = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    top, left = int(y - side / 2), int(x - side / 2)
    area = page[top : top + side, left : left + side]
    area += cover[: area.shape[0], : area.shape[1], None] * (np.asarray(ink, np.float32) - area)


def _camera(page: np.ndarray, rng: np.random.Generator) -> bytes:
    """Focus blur, sensor noise, JPEG: what every phone photo adds."""
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.5, 1.2))
    page = page + rng.normal(0, rng.uniform(0.008, 0.02), size=page.shape).astype(np.float32)
    return encode(
        Image.fromarray(cv2.convertScaleAbs(page, alpha=255.0), "RGB"), "JPEG", quality=int(rng.integers(70, 93))
    )


def _frame(rng: np.random.Generator) -> tuple[int, int, int]:
    """Page height and width, and the digit frame's side (the digit's 20 px box is 20-40 % of the width)."""
    width = int(rng.integers(600, 1300))
    height = int(width * rng.uniform(0.75, 1.35))
    return height, width, int(width * rng.uniform(0.2, 0.4) * 28 / 20)


def _text(page: np.ndarray, words: str, x: int, y: int, size: int, font_path: str, ink: float) -> None:
    """Printed text in ``page`` (in place), its top left at (x, y)."""
    mask = Image.new("L", (page.shape[1], page.shape[0]), 0)
    ImageDraw.Draw(mask).text((x, y), words, fill=255, font=ImageFont.truetype(font_path, size))
    cover = np.asarray(mask, np.float32)[..., None] / 255
    page += cover * (ink - page)


def receipt(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width, side = _frame(rng)
    page = _page(height, width, (0.93, 0.93, 0.9))
    fonts = installed_fonts()
    font = str(fonts[int(rng.integers(len(fonts)))])
    size, line = max(12, width // 28), max(16, width // 20)
    digit_y = height * rng.uniform(0.4, 0.6)
    for y in range(line, height - line, line):
        if abs(y + size / 2 - digit_y) < side * 0.6:
            continue
        item = ITEMS[int(rng.integers(len(ITEMS)))]
        _text(page, f"{item:<10}{rng.uniform(1, 30):>8.2f}", width // 12, y, size, font, 0.25)
    _write(page, pixels, side, width * rng.uniform(0.35, 0.65), digit_y, (0.1, 0.1, 0.35))
    return _camera(page, rng)


def crossed_out(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width, side = _frame(rng)
    side = int(side * 0.8)
    page = _page(height, width, (0.92, 0.92, 0.93))
    ink = (0.12, 0.12, 0.2)
    first_x, answer_x = width * 0.28, width * rng.uniform(0.62, 0.72)
    y = height * rng.uniform(0.4, 0.6)
    scribble = np.zeros((height, width), np.float32)
    points = [(first_x + rng.uniform(-0.4, 0.4) * side, y + rng.uniform(-0.35, 0.35) * side) for _ in range(9)]
    cv2.polylines(scribble, [np.round(points).astype(np.int32)], False, 1.0, max(3, side // 14), cv2.LINE_AA)
    _write(page, np.roll(pixels, int(rng.integers(-3, 4)), axis=1), side, first_x, y, ink)
    page += scribble[..., None] * (np.asarray(ink, np.float32) - page)
    _write(page, pixels, side, answer_x, y, ink)
    return _camera(page, rng)


def highlighter(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width, side = _frame(rng)
    page = _page(height, width, (0.94, 0.94, 0.94))
    colour = np.asarray([(1.0, 0.95, 0.3), (0.55, 0.95, 0.45), (1.0, 0.6, 0.8)][int(rng.integers(3))], np.float32)
    y, x = height * rng.uniform(0.4, 0.6), width * rng.uniform(0.4, 0.6)
    band = np.zeros((height, width), np.float32)
    thickness = int(side * rng.uniform(0.5, 0.9))
    tilt = rng.uniform(-0.08, 0.08) * width
    cv2.line(band, (0, int(y - tilt)), (width, int(y + tilt)), 1.0, thickness)
    page *= 1 - band[..., None] * (1 - colour)
    _write(page, pixels, side, x, y, (0.1, 0.1, 0.12))
    return _camera(page, rng)


def flash_glare(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width, side = _frame(rng)
    page = _page(height, width, (0.8, 0.8, 0.82))
    x, y = width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6)
    _write(page, pixels, side, x, y, (0.08, 0.08, 0.1))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    gx, gy = x + rng.uniform(-0.6, 0.6) * side, y + rng.uniform(-0.6, 0.6) * side
    spot = np.exp(-((xs - gx) ** 2 + (ys - gy) ** 2) / (2 * (side * rng.uniform(0.15, 0.35)) ** 2))
    page += spot[..., None] * rng.uniform(0.4, 0.8)
    return _camera(np.minimum(page, 1.0), rng)


def kraft_paper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width, side = _frame(rng)
    tone = rng.uniform(0.5, 0.7)
    page = _page(height, width, (tone, tone * 0.78, tone * 0.55))
    fibres = cv2.GaussianBlur(rng.normal(0, 1, size=(height, width)).astype(np.float32), (0, 0), 1.5)
    fibres = cv2.GaussianBlur(fibres, (0, 0), sigmaX=6, sigmaY=0.8)
    page *= 1 + 0.15 * fibres[..., None] / (np.abs(fibres).max() + 1e-6)
    _write(page, pixels, side, width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6), (0.15, 0.1, 0.08))
    return _camera(page, rng)


def hard_shadow(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width, side = _frame(rng)
    page = _page(height, width, (0.9, 0.9, 0.88))
    x, y = width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6)
    _write(page, pixels, side, x, y, (0.1, 0.1, 0.15))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    offset = rng.uniform(-0.3, 0.3) * side  # the edge passes through the digit's frame
    inside = ((xs - x) * np.cos(angle) + (ys - y) * np.sin(angle)) > offset
    shade = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 2.0)
    page *= 1 - shade[..., None] * rng.uniform(0.35, 0.6)
    return _camera(page, rng)


UNSEEN: dict[str, Render] = {
    "receipt": receipt,
    "crossed-out": crossed_out,
    "highlighter": highlighter,
    "flash-glare": flash_glare,
    "kraft-paper": kraft_paper,
    "hard-shadow": hard_shadow,
}


def build_unseen(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(UNSEEN, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
