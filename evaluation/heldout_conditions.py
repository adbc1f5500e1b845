"""The digit-finding *held-out* set: conditions the development set (evaluation/conditions.py) does not
have, made by other code, from other digits (MNIST validation images 57,500-59,999) and other seeds.

Written once and frozen before the digit finding was tuned; it is only reported, never tuned on.

- **circled**: the answer circled by hand, the loop drawn with the same pen;
- **table-cell**: written in one cell of a printed table whose other cells hold printed words;
- **chalkboard**: chalk on a dark green or black board with smudges of wiped chalk;
- **overexposed**: a washed-out photo: the paper clipped to white, the ink a light grey;
- **card-on-fabric**: an index card on a patterned cloth (stripes or checks), the card 30-60 % of the frame;
- **guide-lines**: handwriting paper with a solid top and base line and a dashed midline through the digit.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode
from evaluation.photos import installed_fonts

SEED = 90210
FIRST_DIGIT = 57_500
DIGITS_USED = 2_500
WORDS = ("Name", "Total", "Score", "Qty", "Item", "Week", "Date", "Room", "Age", "Team")


def _digit_cover(pixels: np.ndarray, box_px: int) -> np.ndarray:
    """Ink coverage of the digit, scaled so that its 28 px frame is ``box_px`` * 1.4 pixels."""
    side = max(10, round(box_px * 1.4))
    return np.clip(cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_LINEAR), 0, 1)


def _lay(canvas: np.ndarray, cover: np.ndarray, cx: float, cy: float) -> None:
    """Add ``cover`` (max) into the single-channel ``canvas`` centred at (cx, cy)."""
    top, left = round(cy - cover.shape[0] / 2), round(cx - cover.shape[1] / 2)
    t, lf = max(top, 0), max(left, 0)
    b, r = min(top + cover.shape[0], canvas.shape[0]), min(left + cover.shape[1], canvas.shape[1])
    if b > t and r > lf:
        np.maximum(canvas[t:b, lf:r], cover[t - top : b - top, lf - left : r - left], out=canvas[t:b, lf:r])


def _shoot(rgb: np.ndarray, rng: np.random.Generator, gain: float = 1.0, noise: float = 2.5) -> bytes:
    """Vignetting, focus blur, noise, exposure gain with clipping, JPEG."""
    height, width = rgb.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot((xs - width / 2) / width, (ys - height / 2) / height)
    rgb = rgb * (1 - rng.uniform(0.05, 0.3) * r**2)[..., None]
    rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.4, 1.0))
    rgb = rgb * gain + rng.normal(0, noise / 255, size=rgb.shape).astype(np.float32)
    out = cv2.convertScaleAbs(rgb, alpha=255.0)
    return encode(Image.fromarray(out, mode="RGB"), "JPEG", quality=int(rng.integers(75, 95)))


def _size(rng: np.random.Generator) -> tuple[int, int]:
    width = int(rng.integers(700, 1500))
    height = round(width * rng.choice([0.75, 1.33, 1.0]))
    return height, width


def _ink_on(background: np.ndarray, cover: np.ndarray, colour: tuple[float, float, float]) -> np.ndarray:
    return background + cover[..., None] * (np.asarray(colour, np.float32) - background)


def circled(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _size(rng)
    box = round(rng.uniform(0.15, 0.3) * min(height, width))
    cover = np.zeros((height, width), np.float32)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.35, 0.65)
    _lay(cover, _digit_cover(pixels, box), cx, cy)
    rx, ry = box * rng.uniform(0.8, 1.1), box * rng.uniform(0.75, 1.0)
    start, sweep = rng.uniform(0, 360), rng.uniform(330, 400)
    pts = [
        (cx + rx * (1 + 0.05 * math.sin(3 * t)) * math.cos(t), cy + ry * math.sin(t))
        for t in np.radians(np.linspace(start, start + sweep, 80))
    ]
    loop = Image.new("L", (width, height), 0)
    ImageDraw.Draw(loop).line(pts, fill=255, width=max(2, round(box * 0.07)), joint="curve")
    cover = np.maximum(cover, np.asarray(loop, np.float32) / 255)
    paper = np.full((height, width, 3), rng.uniform(0.82, 0.95), np.float32)
    return _shoot(_ink_on(paper, cover, (0.1, 0.12, 0.3)), rng)


def table_cell(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _size(rng)
    rows, cols = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    cell_h = round(rng.uniform(0.12, 0.2) * height)
    top, left = round(rng.uniform(0.05, 0.2) * height), round(rng.uniform(0.02, 0.15) * width)
    cell_w = min(round(cell_h * rng.uniform(1.2, 2.5)), (width - left - 4) // cols)
    rows = min(rows, (height - top - 4) // cell_h)
    grid = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(grid)
    line = max(1, round(cell_h * rng.uniform(0.01, 0.03)))
    for r in range(rows + 1):
        draw.line((left, top + r * cell_h, left + cols * cell_w, top + r * cell_h), fill=255, width=line)
    for c in range(cols + 1):
        draw.line((left + c * cell_w, top, left + c * cell_w, top + rows * cell_h), fill=255, width=line)
    fonts = installed_fonts()
    font = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), max(8, round(cell_h * 0.4)))
    target = (int(rng.integers(1, rows)), int(rng.integers(1, cols)))
    for c in range(cols):  # a header row of words
        draw.text(
            (left + c * cell_w + cell_w * 0.1, top + cell_h * 0.25),
            WORDS[int(rng.integers(len(WORDS)))],
            fill=255,
            font=font,
        )
    for r in range(1, rows):
        draw.text(
            (left + cell_w * 0.1, top + r * cell_h + cell_h * 0.25),
            WORDS[int(rng.integers(len(WORDS)))],
            fill=255,
            font=font,
        )
    cover = np.zeros((height, width), np.float32)
    cx = left + (target[1] + 0.5) * cell_w + rng.uniform(-0.15, 0.15) * cell_w
    cy = top + (target[0] + 0.5) * cell_h
    _lay(cover, _digit_cover(pixels, round(cell_h * rng.uniform(0.6, 0.8))), cx, cy)
    paper = np.full((height, width, 3), rng.uniform(0.85, 0.97), np.float32)
    printed = _ink_on(paper, np.asarray(grid, np.float32) / 255, (0.2, 0.2, 0.2))
    return _shoot(_ink_on(printed, cover, (0.05, 0.1, 0.45)), rng)


def chalkboard(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _size(rng)
    board = np.asarray([(0.12, 0.22, 0.16), (0.08, 0.08, 0.09)][int(rng.integers(2))], np.float32)
    smudge = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(2, 6))):
        y, x = rng.uniform(0, height), rng.uniform(0, width)
        cv2.ellipse(
            smudge,
            (round(x), round(y)),
            (round(width * rng.uniform(0.1, 0.3)), round(height * rng.uniform(0.03, 0.1))),
            float(rng.uniform(0, 180)),
            0,
            360,
            1.0,
            -1,
        )
    smudge = cv2.GaussianBlur(smudge, (0, 0), min(height, width) * 0.03) * rng.uniform(0.1, 0.25)
    image = board + smudge[..., None] * (0.8 - board)
    cover = np.zeros((height, width), np.float32)
    box = round(rng.uniform(0.2, 0.4) * min(height, width))
    _lay(cover, _digit_cover(pixels, box), width * rng.uniform(0.35, 0.65), height * rng.uniform(0.35, 0.65))
    chalk = cover * cv2.GaussianBlur(rng.uniform(0.5, 1.0, size=cover.shape).astype(np.float32), (0, 0), 1.0)
    return _shoot(_ink_on(image, chalk * rng.uniform(0.6, 0.9), (0.9, 0.9, 0.88)), rng)


def overexposed(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _size(rng)
    cover = np.zeros((height, width), np.float32)
    _lay(
        cover,
        _digit_cover(pixels, round(rng.uniform(0.2, 0.4) * min(height, width))),
        width / 2 + rng.uniform(-0.1, 0.1) * width,
        height / 2,
    )
    paper = np.full((height, width, 3), 0.9, np.float32)
    image = _ink_on(paper, cover, (0.25, 0.25, 0.3))
    return _shoot(image, rng, gain=float(rng.uniform(1.3, 1.7)))


def card_on_fabric(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _size(rng)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(0.03, 0.08) * min(height, width)
    a, b = rng.uniform(0.2, 0.6, size=3).astype(np.float32), rng.uniform(0.2, 0.6, size=3).astype(np.float32)
    stripes = (np.sin(2 * math.pi * xs / period) > 0).astype(np.float32)
    if rng.random() < 0.5:
        stripes = np.maximum(stripes, (np.sin(2 * math.pi * ys / period) > 0).astype(np.float32)) * 0.7
    image = a + stripes[..., None] * (b - a)
    card_w = math.sqrt(rng.uniform(0.3, 0.6) * height * width / 0.6)
    card = np.zeros((height, width), np.float32)
    centre = (width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6))
    corners = cv2.boxPoints((centre, (card_w, card_w * 0.6), float(rng.uniform(-20, 20))))
    cv2.fillConvexPoly(card, np.round(corners).astype(np.int32), 1.0, lineType=cv2.LINE_AA)
    image = image + card[..., None] * (np.float32(rng.uniform(0.85, 0.98)) - image)
    cover = np.zeros((height, width), np.float32)
    _lay(cover, _digit_cover(pixels, round(card_w * 0.6 * rng.uniform(0.45, 0.7))), *centre)
    return _shoot(_ink_on(image, cover, (0.1, 0.1, 0.12)), rng)


def guide_lines(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _size(rng)
    box = round(rng.uniform(0.15, 0.3) * min(height, width))
    cy = height * rng.uniform(0.4, 0.6)
    lines = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(lines)
    thickness = max(1, round(box * 0.02))
    for y in (cy - box / 2, cy + box / 2):
        draw.line((0, y, width, y), fill=255, width=thickness)
    dash = max(4, round(box * rng.uniform(0.05, 0.12)))
    for x in range(0, width, 2 * dash):
        draw.line((x, cy, x + dash, cy), fill=255, width=thickness)
    cover = np.zeros((height, width), np.float32)
    _lay(cover, _digit_cover(pixels, box), width * rng.uniform(0.3, 0.7), cy)
    paper = np.full((height, width, 3), rng.uniform(0.85, 0.97), np.float32)
    printed = _ink_on(paper, np.asarray(lines, np.float32) / 255 * 0.6, (0.3, 0.4, 0.8))
    return _shoot(_ink_on(printed, cover, (0.1, 0.1, 0.1)), rng)


HELD_OUT: dict[str, Render] = {
    "circled": circled,
    "table-cell": table_cell,
    "chalkboard": chalkboard,
    "overexposed": overexposed,
    "card-on-fabric": card_on_fabric,
    "guide-lines": guide_lines,
}


def build_heldout(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    return sample_cases(HELD_OUT, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
