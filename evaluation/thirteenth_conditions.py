"""A thirteenth held-out set of everyday conditions, written and frozen unread at the end of the session
that added the sheet stage (model/sheet.py), and read once on ec24fc4 (docs/accuracy.md has its
figures); a development set since.

The twelfth set (evaluation/twelfth_conditions.py) was read once and is a development set now. This
one is new code (its own surfaces, pens and camera) with conditions that no earlier set has, from MNIST
validation digits (55,000-59,999) and its own seed. Each image is one digit that a person reads at a
glance:

- **fogged-window**: drawn with a finger on a fogged window: the stroke clears the mist and shows the
  darker street behind, droplets beading along it;
- **highlighter-ink**: written with a yellow, green or pink highlighter, pale against white paper;
- **water-bleed**: a fountain pen's digit that got wet: the ink spread into a halo around each stroke;
- **newspaper**: written in the margin of a newspaper page, its columns of print beside the digit;
- **stencil**: sprayed through a stencil, the stencil's bridges cutting each stroke, the paint's
  overspray fuzzing its edge;
- **sand**: traced with a finger in sand, seen only by its shading: a lit rim and a shadowed one.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode, placed

SEED = 13_013_013
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
Tone = tuple[float, float, float]


def _canvas(rng: np.random.Generator, tone: Tone, vary: float = 0.04) -> np.ndarray:
    """A surface filling a phone photo, rows x cols x 3 in [0, 1], its tone drifting gently."""
    cols = int(rng.integers(680, 1280))
    rows = int(cols * rng.uniform(0.72, 1.3))
    drift = cv2.resize(rng.normal(0, 1, (5, 5)).astype(np.float32), (cols, rows), interpolation=cv2.INTER_CUBIC)
    return np.asarray(tone, np.float32) * (1 + vary * drift)[..., None]


def _strokes(
    pixels: np.ndarray, canvas: np.ndarray, rng: np.random.Generator, share: tuple[float, float]
) -> np.ndarray:
    """The digit's coverage over the whole canvas: ``share`` of its shorter side, placed near its
    middle, turned a little."""
    rows, cols = canvas.shape[:2]
    side = max(16, round(min(rows, cols) * rng.uniform(*share)))
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-9, 9), 1.0)
    digit = np.clip(cv2.warpAffine(digit, turn, (side, side)), 0, 1)
    return placed(digit, rows, cols, rng, (0.35, 0.65))


def _photograph(canvas: np.ndarray, rng: np.random.Generator) -> bytes:
    """The phone's shot: a soft corner darkening, slight blur, noise, a JPEG."""
    rows, cols = canvas.shape[:2]
    ys, xs = np.ogrid[0 : 1 : rows * 1j, 0 : 1 : cols * 1j]
    corner = rng.uniform(0, 1, 2)
    light = 1 - rng.uniform(0.05, 0.22) * np.hypot(xs - corner[0], ys - corner[1])
    shot = cv2.GaussianBlur(canvas * light[..., None].astype(np.float32), (0, 0), rng.uniform(0.5, 1.3))
    shot += rng.normal(0, rng.uniform(0.004, 0.014), shot.shape).astype(np.float32)
    pixels = (np.clip(shot, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=int(rng.integers(72, 95)))


def fogged_window(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    street = _canvas(rng, (0.3, 0.33, 0.36), 0.25)
    fog = cv2.GaussianBlur(street, (0, 0), 25) * 0.35 + 0.6
    cover = cv2.dilate(_strokes(pixels, street, rng, (0.3, 0.45)), np.ones((9, 9), np.uint8))
    cleared = cv2.GaussianBlur(cover, (0, 0), 2.0)
    picture = fog * (1 - cleared[..., None]) + street * cleared[..., None]
    rows, cols = picture.shape[:2]
    drops = (rng.random((rows, cols)) < 0.0015).astype(np.float32) * cv2.dilate(cover, np.ones((15, 15), np.uint8))
    cover_with(picture, cv2.GaussianBlur(drops, (0, 0), 2.5) * 6, (0.85, 0.87, 0.9), 0.7)
    return _photograph(picture, rng)


def highlighter_ink(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _canvas(rng, (0.97, 0.97, 0.95))
    cover = cv2.dilate(_strokes(pixels, page, rng, (0.3, 0.45)), np.ones((7, 7), np.uint8))
    inks: tuple[Tone, ...] = ((0.98, 0.95, 0.35), (0.6, 0.95, 0.5), (0.98, 0.6, 0.8), (0.98, 0.75, 0.4))
    cover_with(page, cover, inks[int(rng.integers(len(inks)))], rng.uniform(0.75, 0.95))
    return _photograph(page, rng)


def water_bleed(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _canvas(rng, (0.95, 0.94, 0.9))
    cover = _strokes(pixels, page, rng, (0.25, 0.4))
    halo = cv2.GaussianBlur(cover, (0, 0), max(3.0, page.shape[0] * rng.uniform(0.006, 0.012)))
    inks: tuple[Tone, ...] = ((0.15, 0.2, 0.55), (0.1, 0.1, 0.15), (0.35, 0.15, 0.45))
    ink = inks[int(rng.integers(len(inks)))]
    cover_with(page, np.clip(halo * 3, 0, 1), ink, rng.uniform(0.4, 0.6))
    cover_with(page, cover, ink, rng.uniform(0.8, 0.95))
    return _photograph(page, rng)


def newspaper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _canvas(rng, (0.88, 0.87, 0.82))
    rows, cols = page.shape[:2]
    # Columns of print: rows of short grey dashes (words), the digit written in the wide margin.
    print_ = np.zeros((rows, cols), np.float32)
    margin = round(cols * rng.uniform(0.38, 0.48))
    line = max(6, round(rows * rng.uniform(0.018, 0.025)))
    for y in range(line, rows - line, line):
        x = margin + 10
        while x < cols - 10:
            word = int(rng.integers(line, 5 * line))
            cv2.rectangle(print_, (x, y), (min(cols - 10, x + word), y + line // 2), 1.0, -1)
            x += word + line // 2
    cover_with(page, print_, (0.25, 0.25, 0.27), 0.8)
    written = np.zeros((rows, cols), np.float32)
    body = _strokes(pixels, page[:, : margin - 10], rng, (0.55, 0.8))
    written[:, : margin - 10] = body
    cover_with(page, written, (0.1, 0.12, 0.4) if rng.random() < 0.5 else (0.05, 0.05, 0.05), 0.95)
    return _photograph(page, rng)


def stencil(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    wall = _canvas(rng, (0.82, 0.8, 0.76), 0.08)
    cover = (_strokes(pixels, wall, rng, (0.3, 0.45)) > 0.5).astype(np.float32)
    rows, cols = cover.shape
    ys = np.flatnonzero(cover.any(axis=1))
    top, bottom = ys.min(), ys.max()
    gap = max(3, round((bottom - top) * 0.05))
    for cut in np.linspace(top, bottom, int(rng.integers(3, 5)))[1:-1]:  # the stencil's bridges
        cover[round(cut) - gap // 2 : round(cut) + gap // 2 + 1, :] = 0
    overspray = cv2.GaussianBlur(cover, (0, 0), max(2.0, rows * 0.005)) * (rng.random((rows, cols)) < 0.6)
    paints: tuple[Tone, ...] = ((0.08, 0.08, 0.08), (0.7, 0.1, 0.1), (0.1, 0.2, 0.5))
    paint = paints[int(rng.integers(len(paints)))]
    cover_with(wall, overspray.astype(np.float32), paint, 0.5)
    cover_with(wall, cover, paint, rng.uniform(0.85, 0.97))
    return _photograph(wall, rng)


def sand(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    ground = _canvas(rng, (0.86, 0.76, 0.58), 0.06)
    rows, cols = ground.shape[:2]
    ground *= (1 + 0.1 * rng.normal(0, 1, (rows, cols)).astype(np.float32))[..., None]
    groove = cv2.GaussianBlur(
        cv2.dilate(_strokes(pixels, ground, rng, (0.3, 0.45)), np.ones((7, 7), np.uint8)), (0, 0), 3
    )
    angle = rng.uniform(0, 2 * np.pi)
    slope = np.cos(angle) * cv2.Sobel(groove, cv2.CV_32F, 1, 0, ksize=5) + np.sin(angle) * cv2.Sobel(
        groove, cv2.CV_32F, 0, 1, ksize=5
    )
    shade = slope / (np.abs(slope).max() + 1e-6)
    ground *= (1 + 0.45 * shade - 0.15 * groove)[..., None]
    return _photograph(ground, rng)


THIRTEENTH: dict[str, Render] = {
    "fogged-window": fogged_window,
    "highlighter-ink": highlighter_ink,
    "water-bleed": water_bleed,
    "newspaper": newspaper,
    "stencil": stencil,
    "sand": sand,
}


def build_thirteenth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(THIRTEENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
