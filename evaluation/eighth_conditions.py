"""An eighth held-out set of everyday conditions, written and frozen before the change it measures.

The seventh held-out set (evaluation/seventh_conditions.py) was read once and is a development set
now. This one is new code (its own sheet, pen and lens) with conditions that no earlier set has, from
MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit that
a person reads at a glance:

- **answer-line**: written on a form's short printed answer line, the digit's foot on or through it;
- **ink-blot**: a blot of the pen's own ink beside the digit, with a few droplets;
- **page-curl**: on a page that curls up at one side, the digit bent with it and the curl shaded;
- **tilted-photo**: the photo taken crooked, the page and the digit turned by 10-25 degrees on a desk;
- **carbon-copy**: the carbon copy of a form, on pink, yellow or blue paper, the strokes faint and fuzzy;
- **pencil-smudge**: in pencil, with the graphite smeared off the digit by the writer's hand.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode

SEED = 8_080_808
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
Colour = tuple[float, float, float]
PENS: tuple[Colour, ...] = ((0.08, 0.08, 0.1), (0.1, 0.15, 0.45), (0.25, 0.1, 0.1), (0.15, 0.15, 0.15))


def _sheet(rng: np.random.Generator, paper: Colour = (0.93, 0.93, 0.91)) -> np.ndarray:
    """A sheet (rows, cols, 3) in [0, 1] of ``paper``'s colour, its light falling off toward one side."""
    rows = int(rng.integers(600, 1300))
    cols = int(rows * rng.uniform(0.7, 1.4))
    direction = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    along = ((xs / cols - 0.5) * math.cos(direction) + (ys / rows - 0.5) * math.sin(direction)).astype(np.float32)
    light = 1.0 - rng.uniform(0.02, 0.12) * (along + 0.5)
    return light[..., None] * np.asarray(paper, np.float32) * rng.uniform(0.92, 1.04)


def _pen_cover(shape: tuple[int, int], pixels: np.ndarray, size: float, at: tuple[float, float]) -> np.ndarray:
    """Coverage (0-1, ``shape``) of the digit scaled so that its 28 px image is ``size`` across, at ``at``."""
    side = max(8, round(size))
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_LINEAR)
    cover = np.zeros(shape, np.float32)
    x, y = round(at[0] - side / 2), round(at[1] - side / 2)
    left, top, right, bottom = max(x, 0), max(y, 0), min(x + side, shape[1]), min(y + side, shape[0])
    cover[top:bottom, left:right] = digit[top - y : bottom - y, left - x : right - x]
    return cover


def _lay(sheet: np.ndarray, cover: np.ndarray, colour: Colour, strength: float = 1.0) -> None:
    amount = np.clip(cover * strength, 0, 1)[..., None]
    sheet[:] = sheet * (1 - amount) + amount * np.asarray(colour, np.float32)


def _lens(sheet: np.ndarray, rng: np.random.Generator) -> bytes:
    """The phone's lens and sensor: blur, noise, a JPEG."""
    shot = cv2.GaussianBlur(sheet, (0, 0), rng.uniform(0.6, 1.3))
    shot = shot + rng.normal(0, rng.uniform(0.005, 0.018), shot.shape).astype(np.float32)
    image = Image.fromarray(np.round(np.clip(shot, 0, 1) * 255).astype(np.uint8), "RGB")
    return encode(image, "JPEG", quality=int(rng.integers(65, 93)))


def _size(sheet: np.ndarray, rng: np.random.Generator, low: float = 0.25, high: float = 0.4) -> float:
    return float(min(sheet.shape[:2]) * rng.uniform(low, high))


def _pen(rng: np.random.Generator) -> Colour:
    return PENS[int(rng.integers(len(PENS)))]


def _foot(cover: np.ndarray) -> tuple[int, int, int]:
    """The lowest row of the digit's ink, and its ink's left and right columns."""
    rows, cols = np.flatnonzero(cover.max(axis=1) > 0.3), np.flatnonzero(cover.max(axis=0) > 0.3)
    return int(rows[-1]), int(cols[0]), int(cols[-1])


def answer_line(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    size = _size(sheet, rng)
    cover = _pen_cover((rows, cols), pixels, size, (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.55)))
    bottom, left, right = _foot(cover)
    # The printed line: thin and grey, two to four digits wide, the digit's foot a little above it or
    # crossing it, as people write on lines.
    y = bottom + round(size * rng.uniform(-0.08, 0.03))
    width = (right - left) * rng.uniform(2.0, 4.0)
    start = left - (width - (right - left)) * rng.uniform(0.2, 0.8)
    line = np.zeros((rows, cols), np.float32)
    thickness = max(1, round(size * rng.uniform(0.01, 0.025)))
    cv2.line(line, (round(start), y), (round(start + width), y), 1.0, thickness)
    _lay(sheet, line, (0.2, 0.2, 0.2), rng.uniform(0.6, 0.95))
    _lay(sheet, cover, _pen(rng))
    return _lens(sheet, rng)


def ink_blot(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    size = _size(sheet, rng)
    at = (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6))
    colour = _pen(rng)
    _lay(sheet, _pen_cover((rows, cols), pixels, size, at), colour)
    # A blot well to one side of the digit, a ragged disc with droplets around it.
    angle = rng.uniform(0, 2 * math.pi)
    distance = size * rng.uniform(0.75, 1.0)
    centre = (at[0] + distance * math.cos(angle), at[1] + distance * math.sin(angle))
    radius = size * rng.uniform(0.06, 0.14)
    blot = np.zeros((rows, cols), np.float32)
    for _ in range(int(rng.integers(3, 7))):
        offset = rng.normal(0, radius * 0.35, 2)
        point = (round(centre[0] + offset[0]), round(centre[1] + offset[1]))
        cv2.circle(blot, point, max(2, round(radius * rng.uniform(0.6, 1.0))), 1.0, -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 8))):
        turn, reach = rng.uniform(0, 2 * math.pi), radius * rng.uniform(1.3, 2.6)
        point = (round(centre[0] + reach * math.cos(turn)), round(centre[1] + reach * math.sin(turn)))
        cv2.circle(blot, point, max(1, round(radius * rng.uniform(0.08, 0.25))), 1.0, -1, cv2.LINE_AA)
    _lay(sheet, blot, colour, rng.uniform(0.8, 1.0))
    return _lens(sheet, rng)


def page_curl(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    size = _size(sheet, rng)
    _lay(sheet, _pen_cover((rows, cols), pixels, size, (cols * 0.5, rows * rng.uniform(0.4, 0.6))), _pen(rng))
    # The page bends away from the camera past a point: what lies beyond is squeezed toward it and
    # darkened as it turns from the light. The digit sits where the bend begins.
    bend = cols * rng.uniform(0.35, 0.5)
    strength = rng.uniform(0.3, 0.6)
    xs = np.arange(cols, dtype=np.float32)
    past = np.clip((xs - bend) / (cols - bend), 0, 1)
    source = xs + strength * (cols - bend) * past**2
    shade = 1 - rng.uniform(0.15, 0.4) * past**1.5
    map_x = np.tile(np.clip(source, 0, cols - 1), (rows, 1)).astype(np.float32)
    map_y = np.repeat(np.arange(rows, dtype=np.float32)[:, None], cols, axis=1)
    # The curl on the left instead: the sheet is mirrored for the bend and back after it, so that
    # the digit is never mirrored (the first version mirrored the result, and half its digits read backwards).
    left = rng.random() < 0.5
    flat = sheet[:, ::-1] if left else sheet
    curled = cv2.remap(np.ascontiguousarray(flat), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    curled *= shade[None, :, None].astype(np.float32)
    return _lens(np.ascontiguousarray(curled[:, ::-1]) if left else curled, rng)


def tilted_photo(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    size = _size(sheet, rng, 0.2, 0.32)
    _lay(sheet, _pen_cover((rows, cols), pixels, size, (cols * 0.5, rows * 0.5)), _pen(rng))
    # The page turned on a desk, the camera held square to the desk: the desk shows in the corners.
    desk = np.asarray([rng.uniform(0.25, 0.6)] * 3, np.float32) * np.asarray([1.0, 0.88, 0.75], np.float32)
    angle = rng.uniform(10, 25) * rng.choice([-1.0, 1.0])
    turn = cv2.getRotationMatrix2D((cols / 2, rows / 2), angle, rng.uniform(0.75, 0.9))
    flags = cv2.INTER_LINEAR
    turned = cv2.warpAffine(sheet, turn, (cols, rows), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    covered = cv2.warpAffine(np.ones((rows, cols), np.float32), turn, (cols, rows), flags=flags)[..., None]
    return _lens(turned * covered + desk * (1 - covered), rng)


def carbon_copy(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    papers: tuple[Colour, ...] = ((0.97, 0.83, 0.85), (0.97, 0.94, 0.7), (0.78, 0.88, 0.97))
    sheet = _sheet(rng, papers[int(rng.integers(len(papers)))])
    rows, cols = sheet.shape[:2]
    size = _size(sheet, rng)
    cover = _pen_cover((rows, cols), pixels, size, (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6)))
    # The copy is pressed through: the stroke spreads, its edges fuzzy, its dye uneven and faint.
    cover = cv2.GaussianBlur(cover, (0, 0), size * rng.uniform(0.006, 0.014))
    grain = cv2.GaussianBlur(rng.random((rows, cols)).astype(np.float32), (0, 0), 1.5)
    cover *= np.clip(0.6 + 1.2 * (grain - grain.mean()) / (grain.std() + 1e-6) * 0.2, 0.3, 1.0)
    dye = (rng.uniform(0.2, 0.35), rng.uniform(0.15, 0.3), rng.uniform(0.45, 0.65))
    _lay(sheet, np.clip(cover * 1.4, 0, 1), dye, rng.uniform(0.45, 0.75))
    return _lens(sheet, rng)


def pencil_smudge(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    size = _size(sheet, rng)
    cover = _pen_cover((rows, cols), pixels, size, (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6)))
    # The writer's hand drags some graphite off the strokes: a wide, faint smear to one side.
    angle = rng.uniform(0, 2 * math.pi)
    length = size * rng.uniform(0.25, 0.45)
    kernel_side = max(3, round(length) | 1)
    kernel = np.zeros((kernel_side, kernel_side), np.float32)
    middle = kernel_side // 2
    end = (round(middle + middle * math.cos(angle)), round(middle + middle * math.sin(angle)))
    cv2.line(kernel, (middle, middle), end, 1.0, max(1, kernel_side // 6))
    smear = cv2.filter2D(cover, -1, kernel / kernel.sum())
    smear = cv2.GaussianBlur(smear, (0, 0), size * 0.03)
    graphite = (0.3, 0.3, 0.33)
    _lay(sheet, smear, graphite, rng.uniform(0.3, 0.5))
    _lay(sheet, cover, graphite, rng.uniform(0.55, 0.85))
    return _lens(sheet, rng)


EIGHTH: dict[str, Render] = {
    "answer-line": answer_line,
    "ink-blot": ink_blot,
    "page-curl": page_curl,
    "tilted-photo": tilted_photo,
    "carbon-copy": carbon_copy,
    "pencil-smudge": pencil_smudge,
}


def build_eighth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(EIGHTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
