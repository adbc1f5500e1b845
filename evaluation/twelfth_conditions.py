"""A twelfth held-out set of everyday conditions, written after the sheet stage (model/sheet.py) and
frozen unread in 0b29f54; read once on it, a development set since (docs/accuracy.md).

The eleventh set (evaluation/eleventh_conditions.py) was read once and is a development set now. This
one is new code (its own surfaces, pens and camera) with conditions that no earlier set has, from MNIST
validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit that a
person reads at a glance:

- **envelope**: on a white or manila envelope lying on a desk, a stamp in one corner and a printed
  return address in the other;
- **cardboard**: in thick marker on a corrugated box, its flutes showing as stripes, packing tape
  across part of it;
- **napkin**: on a paper napkin, its embossed pattern in relief, the ink feathering into the fibres;
- **clipboard**: on a sheet held by a clipboard, the board around it and its metal clip over the top;
- **blueprint**: in a white pencil on blueprint paper, a fine white grid beneath;
- **masking-tape**: on a strip of masking tape stuck on a wooden table, the grain running through.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode

SEED = 12_012_012
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
RGB = tuple[float, float, float]
MARKERS: tuple[RGB, ...] = ((0.05, 0.05, 0.06), (0.1, 0.12, 0.45), (0.45, 0.06, 0.08))


def _surface(rows: int, cols: int, colour: RGB, rng: np.random.Generator, mottle: float = 0.05) -> np.ndarray:
    """A plain surface, rows x cols x 3 in [0, 1], its tone varying slowly."""
    slow = cv2.resize(rng.normal(0, 1, (6, 6)).astype(np.float32), (cols, rows), interpolation=cv2.INTER_CUBIC)
    return np.asarray(colour, np.float32) * (1 + mottle * slow)[..., None]


def _frame_size(rng: np.random.Generator) -> tuple[int, int]:
    cols = int(rng.integers(700, 1300))
    return int(cols * rng.uniform(0.7, 1.0)), cols


def _digit(pixels: np.ndarray, side: int, rng: np.random.Generator, thicken: float = 0.0) -> np.ndarray:
    """The digit's coverage, ``side`` pixels square, leaning a little; ``thicken`` widens the pen by
    that share of ``side``."""
    cover = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    if thicken > 0:
        size = max(3, round(side * thicken) | 1)
        cover = cv2.dilate(cover, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    lean = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-10, 10), rng.uniform(0.9, 1.05))
    return np.clip(cv2.warpAffine(cover, lean, (side, side), flags=cv2.INTER_LINEAR), 0, 1)


def _place(shape: tuple[int, int], patch: np.ndarray, left: int, top: int) -> np.ndarray:
    """A plane of ``shape`` holding ``patch`` with its corner at (left, top), cut at the edges."""
    plane = np.zeros(shape, np.float32)
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(shape[0], top + patch.shape[0]), min(shape[1], left + patch.shape[1])
    if y1 > y0 and x1 > x0:
        plane[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]
    return plane


def _write_within(
    picture: np.ndarray, pixels: np.ndarray, rng: np.random.Generator, box: tuple[int, int, int, int], share: float
) -> np.ndarray:
    """The digit's coverage over the whole picture, written inside ``box`` (left, top, right, bottom)
    at ``share`` of the box's shorter side, somewhere near its middle."""
    left, top, right, bottom = box
    side = max(16, round(min(right - left, bottom - top) * share))
    x = left + round((right - left - side) * rng.uniform(0.35, 0.65))
    y = top + round((bottom - top - side) * rng.uniform(0.35, 0.65))
    return _place(picture.shape[:2], _digit(pixels, side, rng), x, y)


def _snap(picture: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone's photo: light falling off towards a side, softened, sensor noise, JPEG."""
    rows, cols = picture.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    along = (xs / cols - 0.5) * np.cos(angle) + (ys / rows - 0.5) * np.sin(angle)
    light = 1 - rng.uniform(0.05, 0.25) * (along + 0.5)
    shot = cv2.GaussianBlur(picture * light[..., None], (0, 0), rng.uniform(0.4, 1.2))
    shot += rng.normal(0, rng.uniform(0.004, 0.015), shot.shape).astype(np.float32)
    pixels = (np.clip(shot, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=int(rng.integers(70, 95)))


def _quad(centre: tuple[float, float], size: tuple[float, float], angle: float) -> np.ndarray:
    return cv2.boxPoints((centre, size, angle)).astype(np.int32)


def envelope(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows, cols = _frame_size(rng)
    desks: tuple[RGB, ...] = ((0.35, 0.24, 0.16), (0.2, 0.2, 0.22), (0.55, 0.5, 0.45))
    photo = _surface(rows, cols, desks[int(rng.integers(3))], rng)
    width, height = cols * rng.uniform(0.6, 0.8), rows * rng.uniform(0.5, 0.7)
    centre = (cols / 2 + rng.uniform(-0.05, 0.05) * cols, rows / 2 + rng.uniform(-0.05, 0.05) * rows)
    shape = np.zeros((rows, cols), np.float32)
    cv2.fillPoly(shape, [_quad(centre, (width, height), rng.uniform(-6, 6))], 1.0, cv2.LINE_AA)
    papers: tuple[RGB, ...] = ((0.95, 0.95, 0.93), (0.9, 0.8, 0.6))
    cover_with(photo, shape, papers[int(rng.integers(2))])
    left, top = round(centre[0] - width / 2), round(centre[1] - height / 2)
    stamp = np.zeros((rows, cols), np.float32)
    sw, sh = round(width * 0.12), round(width * 0.14)
    cv2.rectangle(
        stamp, (round(left + width * 0.82), top + sh // 3), (round(left + width * 0.82) + sw, top + sh), 1.0, -1
    )
    stamps: tuple[RGB, ...] = ((0.7, 0.2, 0.25), (0.2, 0.4, 0.7), (0.3, 0.55, 0.3))
    cover_with(photo, stamp * shape, stamps[int(rng.integers(3))])
    address = np.zeros((rows, cols), np.float32)
    line = max(2, round(height * 0.025))
    for k in range(3):
        y = round(top + height * 0.12 + k * line * 2.2)
        cv2.line(
            address, (round(left + width * 0.06), y), (round(left + width * rng.uniform(0.25, 0.35)), y), 1.0, line
        )
    cover_with(photo, address * shape, (0.3, 0.3, 0.32), 0.8)
    middle = (
        round(left + width * 0.3),
        round(top + height * 0.3),
        round(left + width * 0.75),
        round(top + height * 0.9),
    )
    cover_with(photo, _write_within(photo, pixels, rng, middle, rng.uniform(0.55, 0.85)), MARKERS[int(rng.integers(3))])
    return _snap(photo, rng)


def cardboard(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows, cols = _frame_size(rng)
    photo = _surface(rows, cols, (0.68, 0.52, 0.34), rng, 0.08)
    period = rows * rng.uniform(0.02, 0.035)
    ys = np.arange(rows, dtype=np.float32)[:, None]
    photo *= (1 + 0.05 * np.sin(2 * np.pi * ys / period))[..., None]
    tape = np.zeros((rows, cols), np.float32)
    band = round(rows * rng.uniform(0.12, 0.2))
    y0 = round(rows * rng.choice([0.08, 0.75]))
    tape[y0 : y0 + band] = 1
    cover_with(photo, tape, (0.8, 0.68, 0.5), 0.5)
    box = (round(cols * 0.2), round(rows * 0.25), round(cols * 0.8), round(rows * 0.75))
    side = round(min(rows, cols) * rng.uniform(0.3, 0.45))
    digit = _digit(pixels, side, rng, thicken=rng.uniform(0.03, 0.06))
    x = box[0] + round((box[2] - box[0] - side) * rng.uniform(0.3, 0.7))
    y = box[1] + round((box[3] - box[1] - side) * rng.uniform(0.3, 0.7))
    cover_with(photo, _place((rows, cols), digit, x, y), (0.06, 0.05, 0.05), rng.uniform(0.85, 0.97))
    return _snap(photo, rng)


def napkin(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows, cols = _frame_size(rng)
    photo = _surface(rows, cols, (0.97, 0.97, 0.96), rng, 0.03)
    # The embossing: a lattice of small domes, lit from one side, so each shows a light and a dark rim.
    step = rows * rng.uniform(0.03, 0.05)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    height = np.sin(2 * np.pi * xs / step) * np.sin(2 * np.pi * ys / step)
    relief = cv2.Sobel(height, cv2.CV_32F, 1, 1, ksize=3)
    photo *= (1 + rng.uniform(0.04, 0.09) * relief / (np.abs(relief).max() + 1e-6))[..., None]
    fold = np.exp(-(((xs - cols * rng.uniform(0.3, 0.7)) / (cols * 0.01)) ** 2))
    photo *= (1 - 0.06 * fold)[..., None]
    box = (round(cols * 0.25), round(rows * 0.2), round(cols * 0.75), round(rows * 0.8))
    cover = _write_within(photo, pixels, rng, box, rng.uniform(0.5, 0.8))
    feathered = np.maximum(cover, 0.6 * cv2.GaussianBlur(cover, (0, 0), max(1.5, rows * 0.004)))
    cover_with(photo, feathered, MARKERS[int(rng.integers(2))], rng.uniform(0.7, 0.9))
    return _snap(photo, rng)


def clipboard(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows, cols = _frame_size(rng)
    photo = _surface(rows, cols, (0.45, 0.3, 0.18), rng, 0.06)
    margin_x, margin_y = round(cols * rng.uniform(0.1, 0.18)), round(rows * rng.uniform(0.12, 0.18))
    sheet = (margin_x, margin_y, cols - margin_x, rows + 10)  # the sheet runs out of the frame below
    page = np.zeros((rows, cols), np.float32)
    cv2.rectangle(page, sheet[:2], sheet[2:], 1.0, -1)
    cover_with(photo, page, (0.96, 0.96, 0.95))
    clip = np.zeros((rows, cols), np.float32)
    clip_w, clip_h = round(cols * rng.uniform(0.25, 0.35)), round(rows * rng.uniform(0.08, 0.12))
    cv2.rectangle(
        clip, (cols // 2 - clip_w // 2, margin_y - clip_h // 2), (cols // 2 + clip_w // 2, margin_y + clip_h), 1.0, -1
    )
    cover_with(photo, clip, (0.72, 0.73, 0.75))
    shine = np.zeros((rows, cols), np.float32)
    cv2.line(shine, (cols // 2 - clip_w // 2 + 4, margin_y), (cols // 2 + clip_w // 2 - 4, margin_y), 1.0, 3)
    cover_with(photo, shine, (0.95, 0.95, 0.97))
    writable = (sheet[0], margin_y + clip_h + 20, sheet[2], rows - 10)
    cover_with(photo, _write_within(photo, pixels, rng, writable, rng.uniform(0.4, 0.7)), MARKERS[int(rng.integers(3))])
    return _snap(photo, rng)


def blueprint(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows, cols = _frame_size(rng)
    photo = _surface(rows, cols, (0.1, 0.25, 0.55), rng, 0.08)
    grid = np.zeros((rows, cols), np.float32)
    step = round(min(rows, cols) * rng.uniform(0.04, 0.07))
    for x in range(int(rng.integers(0, step)), cols, step):
        cv2.line(grid, (x, 0), (x, rows), 1.0, 1)
    for y in range(int(rng.integers(0, step)), rows, step):
        cv2.line(grid, (0, y), (cols, y), 1.0, 1)
    cover_with(photo, grid, (0.75, 0.85, 0.95), rng.uniform(0.25, 0.45))
    box = (round(cols * 0.2), round(rows * 0.2), round(cols * 0.8), round(rows * 0.8))
    cover = _write_within(photo, pixels, rng, box, rng.uniform(0.45, 0.75))
    chalky = cover * (0.75 + 0.25 * (rng.random(cover.shape) < 0.8))
    cover_with(photo, chalky.astype(np.float32), (0.93, 0.95, 0.97), rng.uniform(0.8, 0.95))
    return _snap(photo, rng)


def masking_tape(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows, cols = _frame_size(rng)
    woods: tuple[RGB, ...] = ((0.6, 0.42, 0.25), (0.75, 0.6, 0.42), (0.4, 0.26, 0.16))
    photo = _surface(rows, cols, woods[int(rng.integers(3))], rng, 0.05)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    wobble = cv2.resize(rng.normal(0, 1, (4, 12)).astype(np.float32), (cols, rows), interpolation=cv2.INTER_CUBIC)
    grain = np.sin(2 * np.pi * (ys / (rows * rng.uniform(0.015, 0.03)) + 1.5 * wobble))
    photo *= (1 + 0.07 * grain)[..., None]
    tape_h = round(rows * rng.uniform(0.28, 0.4))
    tape_w = round(cols * rng.uniform(0.5, 0.75))
    centre = (cols / 2 + rng.uniform(-0.08, 0.08) * cols, rows / 2 + rng.uniform(-0.08, 0.08) * rows)
    tape = np.zeros((rows, cols), np.float32)
    cv2.fillPoly(tape, [_quad(centre, (tape_w, tape_h), rng.uniform(-7, 7))], 1.0, cv2.LINE_AA)
    # Torn ends: the strip's short edges ragged.
    ragged = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)).astype(np.float32), (0, 0), 3) > -0.3
    ends = np.abs(xs - centre[0]) > tape_w / 2 - rows * 0.02
    tape *= np.where(ends, ragged, 1.0).astype(np.float32)
    cover_with(photo, tape, (0.88, 0.83, 0.68), 0.85)
    left, top = round(centre[0] - tape_w / 2), round(centre[1] - tape_h / 2)
    box = (left + tape_w // 4, top + tape_h // 10, left + 3 * tape_w // 4, top + 9 * tape_h // 10)
    digit = _write_within(photo, pixels, rng, box, rng.uniform(0.75, 0.95))
    cover_with(photo, digit, MARKERS[int(rng.integers(3))], rng.uniform(0.85, 0.97))
    return _snap(photo, rng)


TWELFTH: dict[str, Render] = {
    "envelope": envelope,
    "cardboard": cardboard,
    "napkin": napkin,
    "clipboard": clipboard,
    "blueprint": blueprint,
    "masking-tape": masking_tape,
}


def build_twelfth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(TWELFTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
