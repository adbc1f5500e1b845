"""A seventh held-out set of everyday conditions, written and frozen before the change it measures.

The sixth held-out set (evaluation/sixth_conditions.py) was read once and is a development set now.
This one is new code (its own paper, light and camera) with conditions that no earlier set has, from
MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit that
a person reads at a glance:

- **book-margin**: written in the margin of a printed page, beside a column of small printed text;
- **fold-crease**: on a page that was folded in four, its creases (a dark line with a light edge)
  across the page and the panels lit a little differently;
- **hole-punch**: near the punched edge of a filing page, the dark desk showing through its holes;
- **sidewalk-chalk**: in chalk on grey asphalt, grainy and light on dark;
- **fax-scan**: a faxed page scanned back: one bit a pixel, specks, a streak, low resolution;
- **tape-strip**: under a strip of clear sticky tape stuck across it, the tape's edges and sheen showing.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode

SEED = 7_700_777
FIRST_DIGIT = 55_000
DIGITS_USED = 5_000
Rgb = tuple[float, float, float]
INKS: tuple[Rgb, ...] = ((0.1, 0.1, 0.12), (0.12, 0.18, 0.5), (0.2, 0.2, 0.22), (0.06, 0.1, 0.35))
TEXT = "the of and to in is was that for it with as his on be at by had not are but from or have an they"


def _page(rng: np.random.Generator, tone: tuple[float, float] = (0.88, 0.98)) -> np.ndarray:
    """Paper (height, width, 3) in [0, 1], a little warm or cool, its light a soft blob off centre."""
    rows = int(rng.integers(640, 1400))
    cols = int(rows * rng.uniform(0.65, 1.45))
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8) * cols, rng.uniform(0.2, 0.8) * rows
    fall = np.exp(-(((xs - cx) / cols) ** 2 + ((ys - cy) / rows) ** 2) * rng.uniform(0.3, 1.2))
    white = rng.uniform(*tone)
    light = white * (0.85 + 0.15 * fall)
    cast = np.asarray([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.92, 1.0)], np.float32)
    return light[..., None] * cast


def _written(shape: tuple[int, int], pixels: np.ndarray, height: float, centre: tuple[float, float]) -> np.ndarray:
    """Coverage (0-1, ``shape``) of the digit, its 20 px box ``height`` tall, centred at ``centre``."""
    side = max(6, round(height * 1.4))
    scaled = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    out = np.zeros(shape, np.float32)
    left, top = round(centre[0] - side / 2), round(centre[1] - side / 2)
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + side, shape[1]), min(top + side, shape[0])
    out[y0:y1, x0:x1] = scaled[y0 - top : y1 - top, x0 - left : x1 - left]
    return np.clip(out, 0, 1)


def _ink(page: np.ndarray, cover: np.ndarray, colour: Rgb, opacity: float = 1.0) -> None:
    alpha = np.clip(cover * opacity, 0, 1)[..., None]
    page[:] = page * (1 - alpha) + alpha * np.asarray(colour, np.float32)


def _phone(page: np.ndarray, rng: np.random.Generator) -> bytes:
    """Softness, grain and a JPEG."""
    picture = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.5, 1.2))
    picture += rng.normal(0, rng.uniform(0.004, 0.02), size=picture.shape).astype(np.float32)
    image = Image.fromarray(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8), "RGB")
    return encode(image, "JPEG", quality=int(rng.integers(60, 92)))


def _height(page: np.ndarray, rng: np.random.Generator, low: float = 0.18, high: float = 0.3) -> float:
    return float(min(page.shape[:2]) * rng.uniform(low, high))


def _colour(rng: np.random.Generator) -> Rgb:
    return INKS[int(rng.integers(len(INKS)))]


def book_margin(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _page(rng)
    rows, cols = page.shape[:2]
    height = _height(page, rng, 0.16, 0.26)
    # The text column on one side, the margin on the other: the digit in the margin, clear of the text.
    margin = height * rng.uniform(1.6, 2.2)
    text_left_side = bool(rng.integers(2))
    x = cols - margin / 2 if text_left_side else margin / 2
    centre = (x, rows * rng.uniform(0.35, 0.65))
    text = np.zeros((rows, cols), np.uint8)
    scale = height * rng.uniform(0.08, 0.13) / 10
    line_gap = max(6, round(scale * 34))
    x_from, x_to = (round(cols * 0.04), round(cols - margin - height * 0.3))
    if not text_left_side:
        x_from, x_to = round(margin + height * 0.3), round(cols * 0.96)
    words = TEXT.split()
    for y in range(line_gap, rows - line_gap // 2, line_gap):
        line, cursor = [], 0
        while True:
            word = str(rng.choice(words))
            width = cv2.getTextSize(word + " ", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
            if x_from + cursor + width > x_to:
                break
            line.append(word)
            cursor += width
        thick = max(1, round(scale * 2))
        cv2.putText(text, " ".join(line), (x_from, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
    _ink(page, text.astype(np.float32) / 255, (0.12, 0.12, 0.12), rng.uniform(0.7, 0.95))
    _ink(page, _written((rows, cols), pixels, height, centre), _colour(rng))
    return _phone(page, rng)


def fold_crease(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _page(rng)
    rows, cols = page.shape[:2]
    height = _height(page, rng)
    centre = (cols * rng.uniform(0.35, 0.65), rows * rng.uniform(0.35, 0.65))
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    # Two creases, one roughly across and one roughly down, each near the middle, a little skewed.
    for along_x in (True, False):
        at = (cols if along_x else rows) * rng.uniform(0.4, 0.6)
        skew = rng.uniform(-0.06, 0.06)
        distance = (xs - at - skew * ys) if along_x else (ys - at - skew * xs)
        width = rng.uniform(1.0, 2.5)
        valley = np.exp(-((distance / width) ** 2)) * rng.uniform(0.12, 0.3)
        ridge = np.exp(-(((distance - 2.5 * width) / (2 * width)) ** 2)) * rng.uniform(0.03, 0.08)
        panel = np.where(distance > 0, rng.uniform(0.92, 1.0), 1.0)
        page *= ((1 - valley + ridge) * panel)[..., None].astype(np.float32)
    _ink(page, _written((rows, cols), pixels, height, centre), _colour(rng))
    return _phone(page, rng)


def hole_punch(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _page(rng)
    rows, cols = page.shape[:2]
    height = _height(page, rng)
    desk = np.asarray([rng.uniform(0.05, 0.35)] * 3, np.float32) * np.asarray([1.0, 0.9, 0.8], np.float32)
    holes = np.zeros((rows, cols), np.uint8)
    radius = height * rng.uniform(0.12, 0.2)
    inset = radius * rng.uniform(2.0, 3.5)
    edge = int(rng.integers(4))  # the punched edge: left, right, top, bottom
    count = int(rng.integers(2, 5))
    along = cols if edge >= 2 else rows
    for k in range(count):
        t = along * (0.5 + (k - (count - 1) / 2) * rng.uniform(0.2, 0.3))
        point = [(inset, t), (cols - inset, t), (t, inset), (t, rows - inset)][edge]
        cv2.circle(holes, (round(point[0] * 8), round(point[1] * 8)), round(radius * 8), 255, -1, cv2.LINE_AA, 3)
    _ink(page, holes.astype(np.float32) / 255, tuple(desk.tolist()))
    # The digit well inside the page, away from the holes.
    span_x = (0.55, 0.7) if edge == 0 else (0.3, 0.45) if edge == 1 else (0.35, 0.65)
    span_y = (0.55, 0.7) if edge == 2 else (0.3, 0.45) if edge == 3 else (0.35, 0.65)
    centre = (cols * rng.uniform(*span_x), rows * rng.uniform(*span_y))
    _ink(page, _written((rows, cols), pixels, height, centre), _colour(rng))
    return _phone(page, rng)


def sidewalk_chalk(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows = int(rng.integers(600, 1300))
    cols = int(rows * rng.uniform(0.7, 1.4))
    # Asphalt: grey, stones of several sizes, lighter and darker.
    grit = rng.normal(0, 1, (rows, cols)).astype(np.float32)
    stones = cv2.GaussianBlur(grit, (0, 0), rng.uniform(1.5, 3.0))
    stones = stones / (stones.std() + 1e-6)
    ground = rng.uniform(0.22, 0.42) + 0.06 * stones + 0.04 * grit
    page = np.repeat(ground[..., None], 3, axis=2) * np.asarray([1.0, 1.0, rng.uniform(0.95, 1.05)], np.float32)
    height = float(min(rows, cols) * rng.uniform(0.25, 0.4))
    centre = (cols * rng.uniform(0.38, 0.62), rows * rng.uniform(0.38, 0.62))
    cover = _written((rows, cols), pixels, height, centre)
    thick = max(3, round(height * rng.uniform(0.03, 0.06)) | 1)
    cover = cv2.dilate(cover, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thick, thick)))
    # Chalk catches on the tops of the stones and misses the hollows.
    catch = np.clip(0.55 + 0.5 * stones + 0.2 * rng.normal(0, 1, (rows, cols)), 0, 1).astype(np.float32)
    chalk = (rng.uniform(0.85, 0.98), rng.uniform(0.85, 0.98), rng.uniform(0.8, 0.98))
    _ink(page, cover * catch, chalk, rng.uniform(0.7, 0.95))
    return _phone(page, rng)


def fax_scan(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows = int(rng.integers(200, 420))
    cols = int(rows * rng.uniform(0.7, 1.4))
    page = np.ones((rows, cols), np.float32)
    height = float(min(rows, cols) * rng.uniform(0.2, 0.35))
    centre = (cols * rng.uniform(0.35, 0.65), rows * rng.uniform(0.35, 0.65))
    page -= _written((rows, cols), pixels, height, centre) * rng.uniform(0.8, 1.0)
    page += rng.normal(0, 0.12, page.shape).astype(np.float32)
    binary = (page > rng.uniform(0.45, 0.6)).astype(np.uint8)
    specks = rng.random((rows, cols)) < rng.uniform(0.001, 0.006)
    binary[specks] = 0
    if rng.random() < 0.7:  # a streak from a dirty scanner glass
        y = int(rng.integers(rows))
        binary[y : y + int(rng.integers(1, 3)), :] = 0
    image = Image.fromarray(binary * 255, "L").convert("1")
    if rng.random() < 0.5:
        return encode(image, "PNG")
    return encode(image.convert("L"), "GIF")


def tape_strip(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _page(rng)
    rows, cols = page.shape[:2]
    height = _height(page, rng)
    centre = (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6))
    _ink(page, _written((rows, cols), pixels, height, centre), _colour(rng))
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    angle = rng.uniform(-math.pi / 6, math.pi / 6) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    across = -(xs - centre[0]) * math.sin(angle) + (ys - centre[1]) * math.cos(angle)
    across -= height * rng.uniform(-0.25, 0.25)
    half = height * rng.uniform(0.45, 0.8) / 2 + height * 0.25
    inside = (np.abs(across) < half).astype(np.float32)
    # The tape yellows and shines a little; its two edges catch the light as thin dark-and-bright lines.
    sheen = inside * rng.uniform(-0.06, 0.06)
    edges = np.exp(-(((np.abs(across) - half) / rng.uniform(0.8, 1.8)) ** 2)) * rng.uniform(0.08, 0.2)
    page *= (1 + sheen - edges)[..., None].astype(np.float32)
    page *= (1 - inside * 0.04)[..., None] * np.asarray([1.0, 1.0, 0.96], np.float32)
    return _phone(page, rng)


SEVENTH: dict[str, Render] = {
    "book-margin": book_margin,
    "fold-crease": fold_crease,
    "hole-punch": hole_punch,
    "sidewalk-chalk": sidewalk_chalk,
    "fax-scan": fax_scan,
    "tape-strip": tape_strip,
}


def build_seventh(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(SEVENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
