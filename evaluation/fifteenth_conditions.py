"""A fifteenth held-out set of everyday conditions, written and frozen unread after the fourteenth set
was read, then read once on 401c631 (docs/accuracy.md); a development set since.

The fourteenth set (evaluation/fourteenth_conditions.py) is a development set now. This one is new
code (its own surfaces, pens and camera) with conditions that no earlier set has, from MNIST
validation digits (55,000-59,999) and its own seed. Each image is one digit that a person reads at a
glance:

- **music-staff**: written on a sheet of music paper, across a staff's five thin lines, a few printed
  notes on the staff beside it;
- **plastic-sleeve**: a page in a clear plastic sleeve: broad glossy streaks of reflected light
  over it, the sleeve's edge a faint line;
- **neon-glow**: a digit drawn in light (a light pen, a glow stick) on a dark background: a bright
  core with a coloured halo around it;
- **fisheye**: photographed close with a wide lens: the page bowed outwards from the middle, its
  corners pulled in;
- **cross-stitch**: stitched as crosses on the square grid of aida cloth, one cross per cell the
  digit covers;
- **glass-pane**: written with a marker on a window, a blurred street of coloured shapes behind it.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode, placed

SEED = 15_015_015
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
RGB = tuple[float, float, float]


def _backdrop(rng: np.random.Generator, colour: RGB, unevenness: float = 0.04) -> np.ndarray:
    """A surface filling the frame, rows x cols x 3 in [0, 1], gently uneven."""
    cols = int(rng.integers(700, 1250))
    rows = int(cols * rng.uniform(0.7, 1.35))
    waves = cv2.resize(rng.normal(0, 1, (4, 6)).astype(np.float32), (cols, rows), interpolation=cv2.INTER_CUBIC)
    return np.asarray(colour, np.float32) * (1 + unevenness * waves)[..., None]


def _written(pixels: np.ndarray, rows: int, cols: int, rng: np.random.Generator, size: float) -> np.ndarray:
    """The digit's coverage on a rows x cols plane: ``size`` of the shorter side, turned a little, near
    the middle."""
    side = max(16, round(min(rows, cols) * size))
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-8, 8), 1.0)
    digit = np.clip(cv2.warpAffine(digit, turn, (side, side)), 0, 1)
    return placed(digit, rows, cols, rng, (0.35, 0.65))


def _camera(picture: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone's picture of it: slight blur, sensor noise, a JPEG."""
    shot = cv2.GaussianBlur(picture, (0, 0), rng.uniform(0.6, 1.1))
    shot += rng.normal(0, rng.uniform(0.004, 0.012), shot.shape).astype(np.float32)
    pixels = (np.clip(shot, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=int(rng.integers(75, 94)))


def _shade(rng: np.random.Generator, low: float, high: float) -> RGB:
    red, green, blue = (float(c) for c in rng.uniform(low, high, 3))
    return red, green, blue


def _pen(rng: np.random.Generator) -> RGB:
    pens: tuple[RGB, ...] = ((0.08, 0.08, 0.1), (0.1, 0.15, 0.5), (0.05, 0.2, 0.45))
    return pens[int(rng.integers(len(pens)))]


def music_staff(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _backdrop(rng, (0.96, 0.95, 0.91))
    rows, cols = sheet.shape[:2]
    printed = np.zeros((rows, cols), np.float32)
    gap = max(8, round(rows * rng.uniform(0.025, 0.035)))  # between a staff's lines
    thickness = max(1, gap // 8)
    middle = round(rows * rng.uniform(0.4, 0.6))
    for staff in (middle - 7 * gap, middle, middle + 7 * gap):
        for line in range(-2, 3):
            y = staff + line * gap
            if 0 <= y < rows:
                cv2.line(printed, (0, y), (cols, y), 1.0, thickness)
        for x in range(int(cols * 0.06), cols, int(cols * rng.uniform(0.12, 0.2))):  # a few notes
            if abs(x - cols // 2) > cols * 0.18:
                y = staff + int(rng.integers(-4, 5)) * gap // 2
                cv2.ellipse(printed, (x, y), (round(gap * 0.65), round(gap * 0.45)), -20, 0, 360, 1.0, -1)
                cv2.line(printed, (x + round(gap * 0.6), y), (x + round(gap * 0.6), y - 3 * gap), 1.0, thickness)
    cover_with(sheet, printed, (0.15, 0.15, 0.15), 0.9)
    digit = cv2.dilate(_written(pixels, rows, cols, rng, 0.32), np.ones((3, 3), np.uint8))
    cover_with(sheet, digit, _pen(rng), 0.95)
    return _camera(sheet, rng)


def plastic_sleeve(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _backdrop(rng, (0.94, 0.94, 0.92))
    rows, cols = page.shape[:2]
    cover_with(page, cv2.dilate(_written(pixels, rows, cols, rng, 0.33), np.ones((3, 3), np.uint8)), _pen(rng), 0.95)
    glare = np.zeros((rows, cols), np.float32)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    for _ in range(int(rng.integers(1, 4))):
        angle = rng.uniform(0.3, 1.2)
        across = np.cos(angle) * xs + np.sin(angle) * ys - rng.uniform(0, cols + rows)
        glare += np.exp(-((across / (cols * rng.uniform(0.03, 0.1))) ** 2)) * rng.uniform(0.3, 0.6)
    page = page + (1 - page) * np.clip(glare, 0, 0.85)[..., None]  # the sleeve's sheen over everything
    edge = round(cols * rng.uniform(0.03, 0.08))
    page[:, edge : edge + 2] *= 0.9
    return _camera(page, rng)


def neon_glow(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    night = _backdrop(rng, (0.05, 0.05, 0.07), 0.3)
    rows, cols = night.shape[:2]
    core = cv2.dilate(_written(pixels, rows, cols, rng, 0.35), np.ones((5, 5), np.uint8))
    hues: tuple[RGB, ...] = ((1.0, 0.2, 0.6), (0.2, 0.8, 1.0), (0.4, 1.0, 0.3), (1.0, 0.6, 0.1))
    hue = hues[int(rng.integers(len(hues)))]
    halo = cv2.GaussianBlur(core, (0, 0), max(4.0, rows * rng.uniform(0.01, 0.02)))
    cover_with(night, np.clip(halo * 1.5, 0, 1), hue, 0.8)
    cover_with(night, core, (1.0, 0.97, 0.95), 0.95)  # the core saturates to white
    return _camera(night, rng)


def fisheye(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _backdrop(rng, (0.93, 0.92, 0.88))
    rows, cols = page.shape[:2]
    cover_with(page, cv2.dilate(_written(pixels, rows, cols, rng, 0.28), np.ones((3, 3), np.uint8)), _pen(rng), 0.95)
    # Barrel distortion: a point at radius r in the picture shows the page at r * (1 + k r^2).
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cx, cy = cols / 2, rows / 2
    nx, ny = (xs - cx) / cx, (ys - cy) / cy
    k = rng.uniform(0.2, 0.4)
    stretch = 1 + k * (nx**2 + ny**2)
    bowed = cv2.remap(
        page,
        (cx + nx * stretch * cx).astype(np.float32),
        (cy + ny * stretch * cy).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.25, 0.22, 0.2),
    )
    return _camera(bowed, rng)


def cross_stitch(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    cloth = _backdrop(rng, (0.93, 0.91, 0.85), 0.03)
    rows, cols = cloth.shape[:2]
    cell = max(5, round(min(rows, cols) * rng.uniform(0.012, 0.018)))
    holes = np.zeros((rows, cols), np.float32)
    holes[::cell, ::cell] = 1
    cover_with(cloth, cv2.dilate(holes, np.ones((2, 2), np.uint8)), (0.7, 0.68, 0.62), 0.6)  # the aida grid's holes
    cover = _written(pixels, rows, cols, rng, 0.4)
    crosses = np.zeros((rows, cols), np.float32)
    for y in range(0, rows - cell, cell):
        for x in range(0, cols - cell, cell):
            if cover[y : y + cell, x : x + cell].mean() > 0.35:
                cv2.line(crosses, (x, y), (x + cell, y + cell), 1.0, max(1, cell // 3))
                cv2.line(crosses, (x + cell, y), (x, y + cell), 1.0, max(1, cell // 3))
    threads: tuple[RGB, ...] = ((0.7, 0.1, 0.15), (0.1, 0.2, 0.5), (0.1, 0.35, 0.15), (0.15, 0.12, 0.1))
    cover_with(cloth, crosses, threads[int(rng.integers(len(threads)))], 0.95)
    return _camera(cloth, rng)


def glass_pane(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    street = _backdrop(rng, _shade(rng, 0.3, 0.7), 0.2)
    rows, cols = street.shape[:2]
    for _ in range(int(rng.integers(6, 14))):  # cars, signs, windows: blurred by the focus on the glass
        colour = _shade(rng, 0.1, 0.95)
        x, y = int(rng.integers(cols)), int(rng.integers(rows))
        w, h = int(rng.integers(cols // 12, cols // 3)), int(rng.integers(rows // 12, rows // 3))
        cv2.rectangle(street, (x, y), (x + w, y + h), colour, -1)
    street = cv2.GaussianBlur(street, (0, 0), max(6.0, cols * 0.015))
    markers: tuple[RGB, ...] = ((0.95, 0.95, 0.95), (0.05, 0.05, 0.05), (0.1, 0.3, 0.9))
    stroke = cv2.dilate(_written(pixels, rows, cols, rng, 0.35), np.ones((7, 7), np.uint8))
    cover_with(street, stroke, markers[int(rng.integers(len(markers)))], 0.97)
    return _camera(street, rng)


FIFTEENTH: dict[str, Render] = {
    "music-staff": music_staff,
    "plastic-sleeve": plastic_sleeve,
    "neon-glow": neon_glow,
    "fisheye": fisheye,
    "cross-stitch": cross_stitch,
    "glass-pane": glass_pane,
}


def build_fifteenth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(FIFTEENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
