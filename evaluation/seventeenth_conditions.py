"""A seventeenth held-out set of everyday conditions, written and frozen unread once the sixteenth set
was read, then read once on 8c97fa4 (docs/accuracy.md); a development set since.

The sixteenth set (evaluation/sixteenth_conditions.py) is a development set now; four of its six
conditions turned out to resemble earlier sets' (docs/accuracy.md). The names of every earlier set's
conditions were checked before these were chosen. New code (its own surfaces, pens and camera), from
MNIST validation digits (55,000-59,999) and its own seed. Each image is one digit that a person reads
at a glance:

- **bokeh-lights**: a page photographed at night, out-of-focus street lights as bright discs around
  and over it;
- **granite**: written on a speckled stone counter: dark and light grains everywhere;
- **drop-shadow**: a digit on a shop sign, a grey copy of it offset below and to one side;
- **rainbow-ink**: a gel pen whose colour runs through the rainbow along the stroke;
- **dot-drawn**: a digit drawn as a trail of separate dots (studs, a punched card, a dotting tool);
- **quilted-towel**: written on a paper towel: its embossed quilt of soft diamonds lit from one side.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode, placed

SEED = 17_017_017
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
RGB = tuple[float, float, float]


def _ground(rng: np.random.Generator, colour: RGB) -> np.ndarray:
    """A surface filling the frame, rows x cols x 3 in [0, 1], its light falling off to one corner."""
    cols = int(rng.integers(720, 1200))
    rows = int(cols * rng.uniform(0.72, 1.33))
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    fall = 1 - rng.uniform(0.05, 0.15) * (xs / cols * rng.uniform(0, 1) + ys / rows * rng.uniform(0, 1))
    return np.asarray(colour, np.float32) * fall[..., None]


def _coverage(pixels: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator, size: float) -> np.ndarray:
    """The digit's coverage on a plane of ``shape``: ``size`` of its shorter side, turned a little,
    near the middle, its stroke a gel pen's."""
    rows, cols = shape[:2]
    side = max(16, round(min(rows, cols) * size * rng.uniform(0.9, 1.1)))
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-7, 7), 1.0)
    digit = cv2.dilate(np.clip(cv2.warpAffine(digit, turn, (side, side)), 0, 1), np.ones((3, 3), np.uint8))
    return placed(digit, rows, cols, rng, (0.34, 0.66))


def _snap(picture: np.ndarray, rng: np.random.Generator) -> bytes:
    """The phone: a slight blur, sensor noise, a JPEG."""
    picture = cv2.GaussianBlur(picture, (0, 0), rng.uniform(0.5, 1.0))
    picture = picture + rng.normal(0, rng.uniform(0.003, 0.01), picture.shape).astype(np.float32)
    pixels = (np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=int(rng.integers(74, 94)))


def _pen(rng: np.random.Generator) -> RGB:
    pens: tuple[RGB, ...] = ((0.06, 0.06, 0.08), (0.1, 0.12, 0.5), (0.45, 0.06, 0.08), (0.05, 0.3, 0.12))
    return pens[int(rng.integers(len(pens)))]


def bokeh_lights(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _ground(rng, (0.62, 0.6, 0.55))  # paper under street light
    rows, cols = page.shape[:2]
    cover_with(page, _coverage(pixels, page.shape, rng, 0.3), _pen(rng), 0.95)
    discs = np.zeros_like(page)
    for _ in range(int(rng.integers(5, 12))):
        colour = (1.0, rng.uniform(0.6, 0.95), rng.uniform(0.3, 0.8))
        centre = (int(rng.integers(cols)), int(rng.integers(rows)))
        cv2.circle(discs, centre, int(rng.integers(cols // 25, cols // 9)), colour, -1)
    discs = cv2.GaussianBlur(discs, (0, 0), 3.0) * rng.uniform(0.35, 0.6)
    return _snap(1 - (1 - page) * (1 - discs), rng)  # the lights add to the page (a screen blend)


def granite(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    stone = _ground(rng, (0.62, 0.6, 0.58))
    rows, cols = stone.shape[:2]
    for tone, share in ((0.15, rng.uniform(0.05, 0.12)), (0.92, rng.uniform(0.04, 0.1))):
        grains = (rng.random((rows // 3 + 1, cols // 3 + 1)) < share).astype(np.float32)
        grains = cv2.resize(grains, (cols, rows), interpolation=cv2.INTER_NEAREST)
        cover_with(stone, cv2.GaussianBlur(grains, (0, 0), 0.8), (tone, tone, tone * 0.97), 0.8)
    cover_with(stone, _coverage(pixels, stone.shape, rng, 0.33), _pen(rng), 0.95)
    return _snap(stone, rng)


def drop_shadow(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sign = _ground(rng, (0.93, 0.9, 0.8))
    digit = _coverage(pixels, sign.shape, rng, 0.35)
    reach = max(4, round(min(sign.shape[:2]) * rng.uniform(0.012, 0.025)))
    shift = np.float32([[1, 0, reach * rng.choice([-1, 1])], [0, 1, reach]])
    shadow = cv2.warpAffine(digit, shift, (digit.shape[1], digit.shape[0]))
    cover_with(sign, cv2.GaussianBlur(shadow, (0, 0), reach / 3), (0.45, 0.44, 0.42), 0.7)
    cover_with(sign, digit, _pen(rng), 0.97)
    return _snap(sign, rng)


def rainbow_ink(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _ground(rng, (0.95, 0.95, 0.93))
    rows, cols = page.shape[:2]
    digit = _coverage(pixels, page.shape, rng, 0.32)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    hue = ((xs * rng.uniform(-1, 1) + ys) / (0.25 * min(rows, cols)) * 180 + rng.uniform(0, 180)) % 180
    hsv = np.stack([hue, np.full_like(hue, 230), np.full_like(hue, 200)], axis=-1).astype(np.uint8)
    colours = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255
    alpha = (digit * 0.95)[..., None]
    return _snap(page + alpha * (colours - page), rng)


def dot_drawn(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _ground(rng, (0.9, 0.88, 0.84))
    rows, cols = page.shape[:2]
    digit = _coverage(pixels, page.shape, rng, 0.36)
    pitch = max(6, round(min(rows, cols) * rng.uniform(0.014, 0.022)))
    dots = np.zeros((rows, cols), np.float32)
    for y, x in zip(*np.nonzero(digit[::pitch, ::pitch] > 0.3), strict=True):
        jitter = rng.integers(-1, 2, 2)
        cv2.circle(dots, (int(x * pitch + jitter[0]), int(y * pitch + jitter[1])), max(2, pitch // 2), 1.0, -1)
    cover_with(page, dots, _pen(rng), 0.95)
    return _snap(page, rng)


def quilted_towel(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    towel = _ground(rng, (0.95, 0.95, 0.94))
    rows, cols = towel.shape[:2]
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    pitch = min(rows, cols) * rng.uniform(0.05, 0.09)
    u, v = (xs + ys) / pitch, (xs - ys) / pitch
    relief = np.sin(np.pi * u) * np.sin(np.pi * v)  # a quilt of soft diamonds, lit from the upper left
    shading = np.gradient(relief, axis=0) + np.gradient(relief, axis=1)
    towel *= (1 + rng.uniform(1.5, 3.0) * pitch / 40 * shading)[..., None]
    ink = cv2.GaussianBlur(_coverage(pixels, towel.shape, rng, 0.32), (0, 0), 1.5)  # the towel soaks it up
    cover_with(towel, np.clip(ink * 1.3, 0, 1), _pen(rng), 0.85)
    return _snap(np.clip(towel, 0, 1), rng)


SEVENTEENTH: dict[str, Render] = {
    "bokeh-lights": bokeh_lights,
    "granite": granite,
    "drop-shadow": drop_shadow,
    "rainbow-ink": rainbow_ink,
    "dot-drawn": dot_drawn,
    "quilted-towel": quilted_towel,
}


def build_seventeenth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(SEVENTEENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
