"""An eighteenth held-out set of everyday conditions, written and frozen unread once the seventeenth
set was read, then read once on 4660fe7 (docs/accuracy.md); a development set since.

The seventeenth set (evaluation/seventeenth_conditions.py) is a development set now. The names and
descriptions of every earlier set's conditions were checked before these were chosen. New code (its
own surfaces, pens, lighting and camera), from MNIST validation digits (55,000-59,999) and its own
seed. Each image is one digit that a person reads at a glance:

- **blind-shadow**: a page by a window with venetian blinds: slanted parallel bands of shadow, soft
  edged, across the page and the digit;
- **brushed-metal**: a marker on brushed steel: fine streaks along one direction and a bright band of
  reflected light;
- **colour-fringe**: a cheap lens: the red and blue images sit a few pixels off the green one, so
  every edge has coloured fringes, and the corners are soft;
- **brick-wall**: in chalk on a red brick wall: each brick its own shade, pale mortar joints in
  courses, the chalk light on the dark brick;
- **tremor**: written by a shaky hand: the stroke wobbles to and fro along its length;
- **watercolour-wash**: on a child's painting: soft washes of translucent colour with darker rims,
  around and behind the digit.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode, placed

SEED = 18_018_018
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
RGB = tuple[float, float, float]


def _backdrop(rng: np.random.Generator, colour: RGB) -> np.ndarray:
    """A plain surface filling the frame, rows x cols x 3 in [0, 1], brighter towards one side."""
    rows = int(rng.integers(700, 1150))
    cols = int(rows * rng.uniform(0.7, 1.45))
    ramp = np.linspace(1 - rng.uniform(0, 0.12), 1, cols, dtype=np.float32)[None, :]
    ramp = np.repeat(ramp, rows, axis=0)
    if rng.random() < 0.5:
        ramp = ramp[:, ::-1]
    return np.asarray(colour, np.float32) * ramp[..., None]


def _written(pixels: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator, size: float) -> np.ndarray:
    """The digit's coverage: ``size`` of the frame's shorter side, sheared a little, placed near the
    middle, its stroke widened to a fibre-tip pen's."""
    rows, cols = shape[:2]
    side = max(16, round(min(rows, cols) * size * rng.uniform(0.88, 1.12)))
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_LINEAR)
    shear = np.float32([[1, rng.uniform(-0.12, 0.12), 0], [rng.uniform(-0.05, 0.05), 1, 0]])
    digit = np.clip(cv2.warpAffine(digit, shear, (side, side)), 0, 1)
    width = max(3, side // 60)
    digit = cv2.dilate(digit, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width)))
    return placed(digit, rows, cols, rng, (0.3, 0.7))


def _camera(picture: np.ndarray, rng: np.random.Generator, blur: float = 0.7) -> bytes:
    """The phone: a little softness, shot noise that grows with the light, a JPEG."""
    picture = cv2.GaussianBlur(np.clip(picture, 0, 1), (0, 0), blur * rng.uniform(0.8, 1.3))
    noise = rng.normal(0, 1, picture.shape).astype(np.float32) * rng.uniform(0.004, 0.012)
    picture = picture + noise * np.sqrt(picture + 0.05)
    pixels = (np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=int(rng.integers(72, 93)))


def _ink(rng: np.random.Generator) -> RGB:
    inks: tuple[RGB, ...] = ((0.08, 0.08, 0.1), (0.12, 0.15, 0.45), (0.1, 0.1, 0.3), (0.35, 0.08, 0.12))
    return inks[int(rng.integers(len(inks)))]


def blind_shadow(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _backdrop(rng, (0.96, 0.95, 0.92))
    rows, cols = page.shape[:2]
    cover_with(page, _written(pixels, page.shape, rng, 0.3), _ink(rng), 0.93)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    angle = np.deg2rad(rng.uniform(-35, 35))
    across = ys * np.cos(angle) + xs * np.sin(angle)
    period = min(rows, cols) * rng.uniform(0.06, 0.14)
    phase = (across / period + rng.uniform(0, 1)) % 1.0
    slat = (phase < rng.uniform(0.35, 0.6)).astype(np.float32)
    slat = cv2.GaussianBlur(slat, (0, 0), period * rng.uniform(0.04, 0.12))
    return _camera(page * (1 - rng.uniform(0.35, 0.6) * slat)[..., None], rng)


def brushed_metal(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    steel = _backdrop(rng, (0.7, 0.72, 0.74))
    rows, cols = steel.shape[:2]
    streaks = rng.normal(0, 1, (rows, cols)).astype(np.float32)
    streaks = cv2.GaussianBlur(streaks, (0, 0), sigmaX=cols * rng.uniform(0.02, 0.06), sigmaY=0.7)
    streaks /= streaks.std() + 1e-6
    steel *= (1 + rng.uniform(0.04, 0.09) * streaks)[..., None]
    centre = cols * rng.uniform(0.2, 0.8)
    band = np.exp(-(((np.arange(cols, dtype=np.float32) - centre) / (cols * rng.uniform(0.06, 0.15))) ** 2))
    steel += rng.uniform(0.12, 0.25) * band[None, :, None]
    cover_with(steel, _written(pixels, steel.shape, rng, 0.32), (0.05, 0.05, 0.06), 0.9)
    return _camera(steel, rng)


def colour_fringe(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _backdrop(rng, (0.93, 0.93, 0.9))
    rows, cols = page.shape[:2]
    cover_with(page, _written(pixels, page.shape, rng, 0.3), _ink(rng), 0.95)
    centre = (cols / 2, rows / 2)
    for channel, scale in ((0, 1 + rng.uniform(0.006, 0.012)), (2, 1 - rng.uniform(0.006, 0.012))):
        grow = cv2.getRotationMatrix2D(centre, 0, scale)  # each colour's image a little bigger or smaller
        page[..., channel] = cv2.warpAffine(page[..., channel], grow, (cols, rows), borderMode=cv2.BORDER_REFLECT)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    corner = np.hypot((xs - centre[0]) / cols, (ys - centre[1]) / rows)[..., None] * 2
    soft = cv2.GaussianBlur(page, (0, 0), rng.uniform(1.5, 3.0))
    return _camera(page + np.clip(corner, 0, 1) * (soft - page), rng)


def brick_wall(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    wall = _backdrop(rng, (0.78, 0.8, 0.78))  # the mortar
    rows, cols = wall.shape[:2]
    course = max(24, round(min(rows, cols) * rng.uniform(0.08, 0.14)))
    length, joint = course * rng.uniform(2.0, 2.6), max(3, course // 8)
    for top in range(-int(rng.integers(course)), rows, course):
        offset = rng.uniform(0, length) + (length / 2 if (top // course) % 2 else 0)
        for left in np.arange(-offset, cols, length):
            tone = rng.uniform(0.75, 1.1)
            brick = (0.55 * tone, 0.24 * tone, 0.18 * tone)
            x0, x1 = int(left) + joint, int(left + length)
            cv2.rectangle(wall, (x0, top + joint), (x1, top + course), brick, -1)
    grit = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)).astype(np.float32), (0, 0), 1.2)
    wall *= (1 + 0.08 * grit)[..., None]
    chalk = _written(pixels, wall.shape, rng, 0.34) * np.clip(0.7 + 0.3 * rng.random((rows, cols)), 0, 1)
    cover_with(wall, chalk.astype(np.float32), (0.93, 0.93, 0.9), 0.85)
    return _camera(wall, rng)


def tremor(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _backdrop(rng, (0.95, 0.95, 0.95))
    rows, cols = page.shape[:2]
    digit = cv2.resize(pixels.astype(np.float32) / 255, (224, 224), interpolation=cv2.INTER_CUBIC)
    wobble = rng.normal(0, 1, (2, 224, 224)).astype(np.float32)
    fields = [cv2.GaussianBlur(w, (0, 0), rng.uniform(5.0, 8.0)) for w in wobble]
    fields = [f / (np.abs(f).max() + 1e-6) * rng.uniform(4.0, 6.5) for f in fields]  # a few pixels of 224
    ys, xs = np.mgrid[0:224, 0:224].astype(np.float32)
    shaken = cv2.remap(digit, xs + fields[0], ys + fields[1], cv2.INTER_LINEAR)
    side = max(16, round(min(rows, cols) * rng.uniform(0.26, 0.36)))
    shaken = cv2.resize(np.clip(shaken * 1.4, 0, 1), (side, side), interpolation=cv2.INTER_AREA)
    cover_with(page, placed(shaken, rows, cols, rng, (0.3, 0.7)), _ink(rng), 0.92)
    return _camera(page, rng)


def watercolour_wash(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    paper = _backdrop(rng, (0.97, 0.96, 0.93))
    rows, cols = paper.shape[:2]
    for _ in range(int(rng.integers(3, 7))):
        blot = np.zeros((rows, cols), np.float32)
        centre = (int(rng.integers(cols)), int(rng.integers(rows)))
        axes = (int(cols * rng.uniform(0.1, 0.3)), int(rows * rng.uniform(0.1, 0.3)))
        cv2.ellipse(blot, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        ragged = cv2.GaussianBlur(rng.random((rows, cols)).astype(np.float32), (0, 0), 12)
        blot = cv2.GaussianBlur(blot * (ragged > np.median(ragged) - 0.05), (0, 0), 6)
        rim = np.clip(blot * (1 - blot) * 4, 0, 1) ** 2  # pigment gathers where the wash dries
        hue = np.asarray(rng.uniform(0.2, 0.95, 3), np.float32)
        cover_with(paper, blot * rng.uniform(0.25, 0.45) + rim * 0.2, (hue[0], hue[1], hue[2]), 1.0)
    cover_with(paper, _written(pixels, paper.shape, rng, 0.32), _ink(rng), 0.94)
    return _camera(paper, rng)


EIGHTEENTH: dict[str, Render] = {
    "blind-shadow": blind_shadow,
    "brushed-metal": brushed_metal,
    "colour-fringe": colour_fringe,
    "brick-wall": brick_wall,
    "tremor": tremor,
    "watercolour-wash": watercolour_wash,
}


def build_eighteenth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(EIGHTEENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
