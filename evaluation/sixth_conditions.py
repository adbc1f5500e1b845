"""A sixth held-out set of everyday conditions, written and frozen before the change it measures.

The fifth held-out set (evaluation/fifth_conditions.py) was read once and is a development set now.
This one is new code (its own paper, light, camera and drawing) with conditions that no earlier set
has, from MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written
digit that a person reads at a glance:

- **sticker-dot**: written in white paint pen on a dark round sticker stuck on a white page;
- **graph-paper**: on millimetre graph paper, its fine lines and every fifth line bold, in colour;
- **rubber-stamp**: beside a rubber stamp ("PAID", "COPY", "RECEIVED") in a frame, red or blue, that
  may touch the digit's edge;
- **eraser-ghost**: in pencil, over the faint smear of an earlier attempt that was rubbed out;
- **felt-marker**: in a broad felt-tip marker, its stroke two to three times as thick as a pen's;
- **small-in-frame**: a small digit in a large photo of the page (5-9 % of its shorter side).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode

SEED = 60_606
FIRST_DIGIT = 55_000
DIGITS_USED = 5_000
Colour = tuple[float, float, float]
DARK_PENS: tuple[Colour, ...] = ((0.12, 0.12, 0.14), (0.1, 0.15, 0.45), (0.2, 0.2, 0.55), (0.05, 0.05, 0.05))
STICKERS: tuple[Colour, ...] = ((0.1, 0.25, 0.65), (0.7, 0.1, 0.12), (0.1, 0.45, 0.2), (0.12, 0.12, 0.12))
STAMPS: tuple[Colour, ...] = ((0.8, 0.15, 0.2), (0.15, 0.25, 0.7))
GRIDS: tuple[Colour, ...] = ((0.35, 0.65, 0.4), (0.9, 0.55, 0.3), (0.4, 0.55, 0.85))
MARKERS: tuple[Colour, ...] = ((0.08, 0.08, 0.1), (0.1, 0.2, 0.7), (0.75, 0.1, 0.1), (0.05, 0.45, 0.15))


def _sheet(rng: np.random.Generator) -> np.ndarray:
    """White paper (height, width, 3) lit from one side: brightness falls off linearly across it."""
    rows = int(rng.integers(700, 1500))
    cols = int(rows * rng.uniform(0.7, 1.4))
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    ramp = (xs / cols - 0.5) * math.cos(angle) + (ys / rows - 0.5) * math.sin(angle)
    light = 0.97 - rng.uniform(0.03, 0.14) * (ramp + 0.5)
    tint = np.asarray([1.0, 0.99, 0.97], np.float32) * rng.uniform(0.94, 1.0, size=3).astype(np.float32)
    return light[..., None] * tint


def _lay(sheet: np.ndarray, coverage: np.ndarray, colour: Colour, strength: float = 1.0) -> None:
    """Pigment of ``colour`` where ``coverage`` (0-1, the sheet's height and width) is, in place."""
    alpha = np.clip(coverage * strength, 0, 1)[..., None]
    sheet *= 1 - alpha
    sheet += alpha * np.asarray(colour, np.float32)


def _digit_coverage(
    shape: tuple[int, int], pixels: np.ndarray, size: float, at: tuple[float, float], thicken: float = 0.0
) -> np.ndarray:
    """The MNIST digit's coverage on a sheet of ``shape``: its 20 px box ``size`` tall, centred at
    ``at``, its strokes broadened by ``thicken`` of ``size`` if asked."""
    side = max(4, round(size * 28 / 20))
    small = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_LINEAR)
    if thicken > 0:
        grow = max(3, round(thicken * size) | 1)
        small = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    coverage = np.zeros(shape, np.float32)
    left, top = round(at[0] - side / 2), round(at[1] - side / 2)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + side, shape[1]), min(top + side, shape[0])
    coverage[y0:y1, x0:x1] = small[y0 - top : y1 - top, x0 - left : x1 - left]
    return np.clip(coverage, 0, 1)


def _camera(sheet: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone's picture of the sheet: vignetting, softness, grain, then a JPEG."""
    rows, cols = sheet.shape[:2]
    ys, xs = np.ogrid[0:rows, 0:cols]
    radius = ((xs / cols - 0.5) ** 2 + (ys / rows - 0.5) ** 2).astype(np.float32)
    picture = sheet * (1 - rng.uniform(0.0, 0.35) * radius)[..., None]
    picture = cv2.GaussianBlur(picture, (0, 0), rng.uniform(0.4, 1.0))
    picture += rng.normal(0, rng.uniform(0.003, 0.015), size=picture.shape).astype(np.float32)
    image = Image.fromarray(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8), "RGB")
    return encode(image, "JPEG", quality=int(rng.integers(65, 93)))


def _spot(sheet: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """Where the digit goes: within the middle fifth of the sheet either way."""
    rows, cols = sheet.shape[:2]
    return cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6)


def _size(sheet: np.ndarray, rng: np.random.Generator, low: float = 0.18, high: float = 0.32) -> float:
    return float(min(sheet.shape[:2]) * rng.uniform(low, high))


def _ink(rng: np.random.Generator, colours: tuple[Colour, ...]) -> Colour:
    return colours[int(rng.integers(len(colours)))]


def sticker_dot(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    size, at = _size(sheet, rng), _spot(sheet, rng)
    disc = np.zeros(sheet.shape[:2], np.uint8)
    radius = size * rng.uniform(0.85, 1.1)
    centre = (round(at[0] * 8), round(at[1] * 8))
    cv2.circle(disc, centre, round(radius * 8), 255, -1, cv2.LINE_AA, shift=3)
    disc_cover = disc.astype(np.float32) / 255
    # The sticker stands a little proud of the page: a soft shadow below and to one side.
    below = np.roll(disc_cover, (round(size * 0.04), round(size * 0.03)), (0, 1))
    shadow = cv2.GaussianBlur(below, (0, 0), size * 0.03)
    sheet *= (1 - 0.25 * shadow)[..., None]
    _lay(sheet, disc_cover, _ink(rng, STICKERS))
    _lay(sheet, _digit_coverage(sheet.shape[:2], pixels, size * 0.8, at), (0.95, 0.95, 0.93), rng.uniform(0.85, 1.0))
    return _camera(sheet, rng)


def graph_paper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    size, at = _size(sheet, rng), _spot(sheet, rng)
    rows, cols = sheet.shape[:2]
    step = size / rng.uniform(7, 12)  # one millimetre
    offset = rng.uniform(0, step, size=2)
    grid = np.zeros((rows, cols), np.float32)
    for axis, extent in ((0, cols), (1, rows)):
        for k, position in enumerate(np.arange(offset[axis], extent, step)):
            bold = k % 5 == 0
            value = rng.uniform(0.55, 0.8) if bold else rng.uniform(0.25, 0.45)
            lo, hi = int(position), int(position) + (2 if bold else 1)
            if axis == 0:
                grid[:, lo:hi] = np.maximum(grid[:, lo:hi], value)
            else:
                grid[lo:hi, :] = np.maximum(grid[lo:hi, :], value)
    _lay(sheet, grid, _ink(rng, GRIDS))
    _lay(sheet, _digit_coverage(sheet.shape[:2], pixels, size, at), _ink(rng, DARK_PENS))
    return _camera(sheet, rng)


def rubber_stamp(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    size, at = _size(sheet, rng, 0.16, 0.26), _spot(sheet, rng)
    word = str(rng.choice(["PAID", "COPY", "RECEIVED", "CHECKED", "FILED"]))
    scale = size * rng.uniform(0.35, 0.5) / 22
    thick = max(2, round(scale * 2.5))
    (text_w, text_h), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_DUPLEX, scale, thick)
    # The frame inside a margin as wide as the text is tall, so that turning it keeps its corners.
    stamp = np.zeros((text_h * 5, text_w + text_h * 4), np.uint8)
    cv2.putText(stamp, word, (text_h * 2, text_h * 3), cv2.FONT_HERSHEY_DUPLEX, scale, 255, thick, cv2.LINE_AA)
    corner = (stamp.shape[1] - text_h - 1, stamp.shape[0] - text_h - 1)
    cv2.rectangle(stamp, (text_h, text_h), corner, 255, thick)
    # A rubber stamp inks unevenly: patches of it are faint.
    patchy = cv2.GaussianBlur(rng.uniform(0, 1, stamp.shape).astype(np.float32), (0, 0), max(1.0, thick))
    cover = stamp.astype(np.float32) / 255 * np.clip(0.4 + 2.5 * (patchy - patchy.mean()) + 0.4, 0.2, 1)
    turn = cv2.getRotationMatrix2D((stamp.shape[1] / 2, stamp.shape[0] / 2), rng.uniform(-20, 20), 1.0)
    cover = cv2.warpAffine(cover, turn, (stamp.shape[1], stamp.shape[0]))
    rows, cols = sheet.shape[:2]
    fit = min(1.0, 0.6 * cols / cover.shape[1], 0.4 * rows / cover.shape[0])  # a long word on a small page
    cover = cv2.resize(cover, None, fx=fit, fy=fit, interpolation=cv2.INTER_AREA) if fit < 1 else cover
    # Beside the digit, to one side or above it: the frame's near edge (inside the canvas's margin)
    # from just over the digit's edge to clear of it; a stamp near the page's edge runs off it.
    side = rng.choice(["left", "right", "above"])
    reach = size * rng.uniform(0.45, 0.8) - text_h * fit
    h, w = cover.shape
    if side == "above":
        left, top = at[0] - w / 2 + rng.uniform(-0.3, 0.3) * size, at[1] - reach - h
    else:
        left = at[0] + reach if side == "right" else at[0] - reach - w
        top = at[1] - h / 2 + rng.uniform(-0.4, 0.4) * size
    left, top = round(left), round(top)
    placed = np.zeros((rows, cols), np.float32)
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + w, cols), min(top + h, rows)
    placed[y0:y1, x0:x1] = cover[y0 - top : y1 - top, x0 - left : x1 - left]
    _lay(sheet, placed, _ink(rng, STAMPS), rng.uniform(0.55, 0.85))
    _lay(sheet, _digit_coverage(sheet.shape[:2], pixels, size, at), _ink(rng, DARK_PENS))
    return _camera(sheet, rng)


def eraser_ghost(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    size, at = _size(sheet, rng), _spot(sheet, rng)
    shape = sheet.shape[:2]
    # The rubbed-out attempt: the same digit's strokes moved and sheared, smeared and faint.
    shear = np.float32([[1, rng.uniform(-0.3, 0.3), 0], [0, 1, 0]])
    earlier = cv2.warpAffine(pixels.astype(np.float32), shear, (28, 28))
    ghost_at = (at[0] + rng.uniform(-0.35, 0.35) * size, at[1] + rng.uniform(-0.25, 0.25) * size)
    ghost = _digit_coverage(shape, earlier, size * rng.uniform(0.85, 1.15), ghost_at)
    ghost = cv2.GaussianBlur(ghost, (0, 0), size * rng.uniform(0.02, 0.05))
    smear = np.zeros(shape, np.uint8)
    axes = (round(size * rng.uniform(0.5, 0.8) * 8), round(size * rng.uniform(0.3, 0.5) * 8))
    centre = (round(ghost_at[0] * 8), round(ghost_at[1] * 8))
    cv2.ellipse(smear, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, shift=3)
    smear_cover = cv2.GaussianBlur(smear.astype(np.float32) / 255, (0, 0), size * 0.08)
    graphite = (0.3, 0.3, 0.33)
    _lay(sheet, smear_cover, graphite, rng.uniform(0.03, 0.08))
    _lay(sheet, ghost, graphite, rng.uniform(0.12, 0.25))
    # Pencil: grey, its grain letting the paper through in places.
    grain = np.clip(rng.normal(0.85, 0.15, size=shape), 0.4, 1).astype(np.float32)
    _lay(sheet, _digit_coverage(shape, pixels, size, at) * grain, graphite, rng.uniform(0.6, 0.85))
    return _camera(sheet, rng)


def felt_marker(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    size, at = _size(sheet, rng), _spot(sheet, rng)
    cover = _digit_coverage(sheet.shape[:2], pixels, size, at, thicken=rng.uniform(0.1, 0.18))
    cover = cv2.GaussianBlur(cover, (0, 0), max(0.8, size * 0.01))  # the felt bleeds into the paper
    _lay(sheet, cover, _ink(rng, MARKERS), rng.uniform(0.85, 1.0))
    return _camera(sheet, rng)


def small_in_frame(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    size = _size(sheet, rng, 0.05, 0.09)
    at = (cols * rng.uniform(0.3, 0.7), rows * rng.uniform(0.3, 0.7))
    _lay(sheet, _digit_coverage(sheet.shape[:2], pixels, size, at), _ink(rng, DARK_PENS))
    return _camera(sheet, rng)


SIXTH: dict[str, Render] = {
    "sticker-dot": sticker_dot,
    "graph-paper": graph_paper,
    "rubber-stamp": rubber_stamp,
    "eraser-ghost": eraser_ghost,
    "felt-marker": felt_marker,
    "small-in-frame": small_in_frame,
}


def build_sixth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(SIXTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
