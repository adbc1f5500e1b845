"""A sixteenth held-out set of everyday conditions, written and frozen unread once the fifteenth set
was read, then read once on bce2984 (docs/accuracy.md); a development set since.

The fifteenth set (evaluation/fifteenth_conditions.py) is a development set now. This one is new
code (its own surfaces, pens and camera), from MNIST validation digits (55,000-59,999) and its own
seed. It was meant to hold conditions that no earlier set has; four of them resemble earlier sets'
all the same, found only after its reading: motion blur the frozen set's camera shake, pixelated its
thumbnail, overexposed the first held-out set's, palm the tenth set's digit on a palm. Each image is
one digit that a person reads at a glance:

- **motion-blur**: the phone moved while the shutter was open: every stroke smeared along one
  direction;
- **pixelated**: a thumbnail blown up: the digit a few dozen pixels across, enlarged into blocks;
- **overexposed**: a photo in bright sun: the paper clipped white, the ink a washed-out grey;
- **fly-screen**: photographed through a window's insect screen: a fine dark mesh over everything;
- **wood-grain**: written on a plank: the wood's grain as long dark streaks across the board;
- **palm**: written on a hand: skin tones, the palm's creases as soft dark curves, the hand's edge.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode, placed

SEED = 16_016_016
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
RGB = tuple[float, float, float]


def _surface(rng: np.random.Generator, colour: RGB) -> np.ndarray:
    """A surface filling a phone photo's frame, rows x cols x 3 in [0, 1], lit a little unevenly."""
    rows = int(rng.integers(640, 1100))
    cols = int(rows * rng.uniform(0.75, 1.4))
    light = cv2.resize(rng.uniform(0.93, 1.05, (3, 3)).astype(np.float32), (cols, rows), interpolation=cv2.INTER_CUBIC)
    return np.asarray(colour, np.float32) * light[..., None]


def _digit(pixels: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator, size: float) -> np.ndarray:
    """The digit's coverage on a plane of ``shape``: ``size`` of the shorter side, slanted a little,
    off the middle by up to a sixth of the frame, its stroke thickened to a marker's."""
    rows, cols = shape[:2]
    side = max(16, round(min(rows, cols) * size))
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    slant = np.float32([[1, rng.uniform(-0.15, 0.15), 0], [0, 1, 0]])
    digit = np.clip(cv2.warpAffine(digit, slant, (side, side)), 0, 1)
    digit = cv2.dilate(digit, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    return placed(digit, rows, cols, rng, (0.33, 0.67))


def _shot(picture: np.ndarray, rng: np.random.Generator) -> bytes:
    """The phone's processing: sensor noise and a JPEG."""
    picture = picture + rng.normal(0, rng.uniform(0.003, 0.01), picture.shape).astype(np.float32)
    pixels = (np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=int(rng.integers(72, 95)))


def _ink(rng: np.random.Generator) -> RGB:
    inks: tuple[RGB, ...] = ((0.07, 0.07, 0.08), (0.12, 0.14, 0.45), (0.35, 0.08, 0.1))
    return inks[int(rng.integers(len(inks)))]


def motion_blur(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _surface(rng, (0.92, 0.91, 0.87))
    cover_with(page, _digit(pixels, page.shape, rng, 0.3), _ink(rng), 0.95)
    length = max(5, round(min(page.shape[:2]) * rng.uniform(0.02, 0.045)))
    smear = np.zeros((length, length), np.float32)
    smear[length // 2, :] = 1 / length  # a straight streak, turned to the hand's direction
    turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.uniform(0, 180), 1.0)
    smear = cv2.warpAffine(smear, turn, (length, length))
    return _shot(cv2.filter2D(page, -1, smear / max(float(smear.sum()), 1e-6)), rng)


def pixelated(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    small = _surface(rng, (0.95, 0.94, 0.9))
    cover_with(small, _digit(pixels, small.shape, rng, 0.3), _ink(rng), 0.95)
    rows, cols = small.shape[:2]
    factor = rng.uniform(8, 14)  # the digit ends 25 to 40 pixels tall in the thumbnail
    thumb = cv2.resize(small, (round(cols / factor), round(rows / factor)), interpolation=cv2.INTER_AREA)
    blocks = cv2.resize(thumb, (cols, rows), interpolation=cv2.INTER_NEAREST)
    return _shot(blocks, rng)


def overexposed(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _surface(rng, (0.9, 0.89, 0.86))
    cover_with(page, _digit(pixels, page.shape, rng, 0.3), _ink(rng), 0.95)
    flare = rng.uniform(0.25, 0.45)  # the sun's veiling glare lifts the ink; the paper is past white
    return _shot(np.clip(flare + (1 - flare) * page * rng.uniform(1.15, 1.35), 0, 1), rng)


def fly_screen(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _surface(rng, (0.9, 0.88, 0.84))
    cover_with(page, _digit(pixels, page.shape, rng, 0.32), _ink(rng), 0.95)
    rows, cols = page.shape[:2]
    pitch = rng.uniform(6, 11)  # the mesh, out of focus and close to the lens
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    angle = np.radians(rng.uniform(-10, 10))
    u, v = xs * np.cos(angle) + ys * np.sin(angle), -xs * np.sin(angle) + ys * np.cos(angle)
    wires = np.maximum(np.cos(np.pi * u / pitch) ** 8, np.cos(np.pi * v / pitch) ** 8)
    cover_with(page, wires, (0.12, 0.12, 0.13), rng.uniform(0.3, 0.5))
    return _shot(cv2.GaussianBlur(page, (0, 0), 0.8), rng)


def wood_grain(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    board = _surface(rng, (0.72, 0.55, 0.36))
    rows, cols = board.shape[:2]
    along = np.cumsum(rng.normal(0, 1.0, rows)).astype(np.float32)  # the grain wanders across the rows
    streaks = np.sin(np.arange(rows, dtype=np.float32) * rng.uniform(0.15, 0.35) + along * 0.2)
    knots = cv2.resize(rng.normal(0, 1, (rows // 20 + 1, 3)).astype(np.float32), (cols, rows))
    grain = np.clip(streaks[:, None] * 0.5 + knots * 0.3, 0, 1) ** 2
    cover_with(board, grain, (0.4, 0.26, 0.14), rng.uniform(0.5, 0.8))
    cover_with(board, _digit(pixels, board.shape, rng, 0.33), _ink(rng), 0.95)
    return _shot(board, rng)


def palm(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    skins: tuple[RGB, ...] = ((0.93, 0.78, 0.68), (0.8, 0.6, 0.45), (0.55, 0.38, 0.27))
    hand = _surface(rng, skins[int(rng.integers(len(skins)))])
    rows, cols = hand.shape[:2]
    creases = np.zeros((rows, cols), np.float32)
    for _ in range(int(rng.integers(3, 6))):  # the palm's lines: long soft curves
        start = (int(rng.integers(0, cols // 3)), int(rng.integers(rows // 4, 3 * rows // 4)))
        bend = (int(rng.integers(cols // 3, 2 * cols // 3)), int(rng.integers(0, rows)))
        end = (int(rng.integers(2 * cols // 3, cols)), int(rng.integers(rows // 4, 3 * rows // 4)))
        t = np.linspace(0, 1, 24)[:, None]  # a quadratic Bezier curve through the three points
        curve = (1 - t) ** 2 * np.array(start) + 2 * t * (1 - t) * np.array(bend) + t**2 * np.array(end)
        cv2.polylines(creases, [np.round(curve).astype(np.int32)], False, 1.0, max(2, rows // 200))
    cover_with(hand, cv2.GaussianBlur(creases, (0, 0), 2.5) * 2, (0.35, 0.22, 0.17), 0.5)
    edge = round(cols * rng.uniform(0.85, 0.95))  # the hand ends, a dark room beyond
    hand[:, edge:] = hand[:, edge:] * 0.15
    cover_with(hand, _digit(pixels, hand.shape, rng, 0.3), _ink(rng), 0.9)
    return _shot(cv2.GaussianBlur(hand, (0, 0), 0.7), rng)


SIXTEENTH: dict[str, Render] = {
    "motion-blur": motion_blur,
    "pixelated": pixelated,
    "overexposed": overexposed,
    "fly-screen": fly_screen,
    "wood-grain": wood_grain,
    "palm": palm,
}


def build_sixteenth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(SIXTEENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
