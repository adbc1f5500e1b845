"""A nineteenth held-out set of everyday conditions, written and frozen unread once the eighteenth
set was read, then read once on 6cdc046 (docs/accuracy.md); a development set since.

The eighteenth set (evaluation/eighteenth_conditions.py) is a development set now. The names and
descriptions of every earlier set's conditions were checked before these were chosen. New code (its
own surfaces, pens, lighting and files), from MNIST validation digits (55,000-59,999) and its own
seed. Each image is one digit that a person reads at a glance:

- **whiteboard**: in dry-erase marker on a glossy whiteboard: the marker's ink pooled darker at the
  stroke's edges, a ceiling light's sharp-edged reflection across the board, the board's aluminium
  frame along one side;
- **dappled-light**: on a page in a tree's shade: blotches of warm sunlight through the leaves on
  a cooler, dimmer page, across the digit;
- **corkboard**: on a small card pinned to a cork board with coloured push pins, the cork's brown
  granules all round the card;
- **spray-paint**: sprayed on a concrete wall: a soft-edged stroke, a mist of overspray dots around
  it, paint drips running down from it, the concrete blotchy and pitted;
- **transparent-drawing**: a drawing app's export, a PNG with a transparent background: the digit
  is in the alpha channel, drawn with a black, blue or red pen, or the white pen of a dark theme;
- **steep-angle**: a page on a desk photographed from a low angle: the far side of the page much
  narrower than the near side and the digit foreshortened, the far side out of focus.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode, placed

SEED = 19_019_019
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
RGB = tuple[float, float, float]


def _surface(rng: np.random.Generator, colour: RGB) -> np.ndarray:
    """A frame-filling surface, rows x cols x 3 in [0, 1], lit a little unevenly from one corner."""
    rows = int(rng.integers(680, 1100))
    cols = int(rows * rng.uniform(0.72, 1.4))
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    corner = np.hypot(ys / rows - rng.integers(2), xs / cols - rng.integers(2)) / np.sqrt(2)
    light = 1 - rng.uniform(0.02, 0.12) * corner
    return np.asarray(colour, np.float32) * light[..., None]


def _digit(pixels: np.ndarray, side: int, rng: np.random.Generator, pen: float) -> np.ndarray:
    """The digit's coverage on a side x side square, slanted a little, its stroke ``pen`` of the side
    wide at least."""
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    slant = np.float32([[1, rng.uniform(-0.15, 0.1), 0], [0, 1, 0]])
    digit = np.clip(cv2.warpAffine(digit, slant, (side, side)), 0, 1)
    width = max(1, round(side * pen))
    if width > 1:
        digit = cv2.dilate(digit, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width)))
    return digit


def _written(
    pixels: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator, size: float, pen: float
) -> np.ndarray:
    rows, cols = shape[:2]
    side = max(16, round(min(rows, cols) * size * rng.uniform(0.9, 1.1)))
    return placed(_digit(pixels, side, rng, pen), rows, cols, rng, (0.3, 0.7))


def _photo(picture: np.ndarray, rng: np.random.Generator, blur: float = 0.8) -> bytes:
    """A phone's picture of ``picture``: a little soft, noisy where dark, a JPEG."""
    picture = cv2.GaussianBlur(np.clip(picture, 0, 1), (0, 0), blur * rng.uniform(0.8, 1.25))
    noise = rng.normal(0, 1, picture.shape).astype(np.float32) * rng.uniform(0.005, 0.014)
    picture = picture + noise * np.sqrt(1.05 - picture)
    pixels = (np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=int(rng.integers(70, 94)))


def _pen(rng: np.random.Generator) -> RGB:
    pens: tuple[RGB, ...] = ((0.06, 0.06, 0.08), (0.1, 0.2, 0.6), (0.7, 0.1, 0.1), (0.05, 0.4, 0.15))
    return pens[int(rng.integers(len(pens)))]


def whiteboard(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    board = _surface(rng, (0.93, 0.94, 0.95))
    rows, cols = board.shape[:2]
    ink = _written(pixels, board.shape, rng, 0.32, 0.035)
    edge = np.clip(ink - cv2.erode(ink, np.ones((5, 5), np.uint8)), 0, 1)  # the dry ink rims its stroke
    cover_with(board, ink, _pen(rng), rng.uniform(0.75, 0.9))
    cover_with(board, edge, (0.0, 0.0, 0.0), 0.25)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    angle = np.deg2rad(rng.uniform(-30, 30))
    across = ys * np.cos(angle) + xs * np.sin(angle) - rng.uniform(0.2, 0.8) * (rows + cols) / 2
    glare = (np.abs(across) < min(rows, cols) * rng.uniform(0.03, 0.08)).astype(np.float32)
    glare = cv2.GaussianBlur(glare, (0, 0), 2.0)
    board += (rng.uniform(0.15, 0.4) * glare)[..., None] * (1.0 - board)
    frame = max(8, round(min(rows, cols) * rng.uniform(0.02, 0.04)))
    strips = (
        (slice(0, frame), slice(None)),
        (slice(-frame, None), slice(None)),
        (slice(None), slice(0, frame)),
        (slice(None), slice(-frame, None)),
    )
    board[strips[int(rng.integers(4))]] = (0.6, 0.62, 0.64)
    return _photo(board, rng)


def dappled_light(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _surface(rng, (0.95, 0.95, 0.93))
    rows, cols = page.shape[:2]
    cover_with(page, _written(pixels, page.shape, rng, 0.3, 0.012), _pen(rng), 0.92)
    sun = np.zeros((rows, cols), np.float32)
    for _ in range(int(rng.integers(15, 45))):
        centre = (int(rng.integers(cols)), int(rng.integers(rows)))
        axes = (int(min(rows, cols) * rng.uniform(0.02, 0.1)), int(min(rows, cols) * rng.uniform(0.02, 0.1)))
        cv2.ellipse(sun, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    sun = cv2.GaussianBlur(sun, (0, 0), min(rows, cols) * rng.uniform(0.004, 0.015))[..., None]
    shade = rng.uniform(0.4, 0.6)
    shaded, sunlit = shade * np.float32([0.9, 0.95, 1.08]), np.float32([1.05, 1.0, 0.88])  # sky-blue, sun-warm
    light = shaded + sun * (sunlit - shaded)
    return _photo(page * light, rng)


def _cork(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    tone = rng.uniform(0.85, 1.1)
    cork = np.ones((rows, cols, 3), np.float32) * np.float32([0.62, 0.45, 0.28]) * tone
    granules = cv2.GaussianBlur(rng.random((rows, cols)).astype(np.float32), (0, 0), 1.6)
    granules = (granules - granules.mean()) / (granules.std() + 1e-6)
    cork *= (1 + 0.18 * granules)[..., None]
    pits = (rng.random((rows, cols)) < 0.004).astype(np.float32)
    cover_with(cork, cv2.dilate(pits, np.ones((3, 3), np.uint8)), (0.25, 0.15, 0.08), 0.7)
    return cork


def _pin(picture: np.ndarray, centre: tuple[int, int], radius: int, rng: np.random.Generator) -> None:
    colours: tuple[RGB, ...] = ((0.85, 0.1, 0.1), (0.1, 0.35, 0.85), (0.95, 0.8, 0.1), (0.1, 0.65, 0.25))
    shadow = (centre[0] + radius // 3, centre[1] + radius // 2)
    cv2.circle(picture, shadow, radius, (0.2, 0.15, 0.1), -1, cv2.LINE_AA)
    cv2.circle(picture, centre, radius, colours[int(rng.integers(len(colours)))], -1, cv2.LINE_AA)
    shine = (centre[0] - radius // 3, centre[1] - radius // 3)
    cv2.circle(picture, shine, max(2, radius // 4), (1.0, 1.0, 1.0), -1, cv2.LINE_AA)


def corkboard(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows = int(rng.integers(700, 1100))
    cols = int(rows * rng.uniform(0.75, 1.35))
    board = _cork(rows, cols, rng)
    height = int(rows * rng.uniform(0.4, 0.65))
    width = int(min(cols * 0.9, height * rng.uniform(0.9, 1.5)))
    top, left = int(rng.integers(rows - height)), int(rng.integers(cols - width))
    cards: tuple[RGB, ...] = ((0.97, 0.97, 0.95), (0.98, 0.95, 0.75), (0.85, 0.93, 0.98))
    card = np.ones((height, width, 3), np.float32) * np.float32(cards[int(rng.integers(len(cards)))])
    side = round(min(height, width) * rng.uniform(0.5, 0.7))
    cover_with(card, placed(_digit(pixels, side, rng, 0.02), height, width, rng, (0.35, 0.65)), _pen(rng), 0.92)
    cv2.rectangle(board, (left + 6, top + 8), (left + width + 6, top + height + 8), (0.3, 0.2, 0.12), -1)
    board[top : top + height, left : left + width] = card
    radius = max(8, round(min(rows, cols) * rng.uniform(0.02, 0.035)))
    for corner in range(int(rng.integers(1, 3))):
        x = left + (radius * 2 if corner == 0 else width - radius * 2)
        _pin(board, (x, top + radius * 2), radius, rng)
    return _photo(board, rng)


def spray_paint(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    wall = _surface(rng, (0.62, 0.62, 0.6))
    rows, cols = wall.shape[:2]
    blotches = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)).astype(np.float32), (0, 0), 25)
    wall *= (1 + 0.1 * blotches / (blotches.std() + 1e-6))[..., None]
    pores = (rng.random((rows, cols)) < 0.006).astype(np.float32)
    cover_with(wall, cv2.GaussianBlur(pores, (0, 0), 0.8) * 2, (0.25, 0.25, 0.25), 0.8)
    stroke = _written(pixels, wall.shape, rng, 0.36, 0.02)
    mist = cv2.GaussianBlur(stroke, (0, 0), min(rows, cols) * 0.01)
    paint = np.clip(cv2.GaussianBlur(stroke, (0, 0), 2.5) * 1.3, 0, 1)
    dots = (rng.random((rows, cols)) < np.clip(mist * 0.3, 0, 1)).astype(np.float32)
    paint = np.maximum(paint, dots)
    ys, xs = np.nonzero(stroke > 0.8)
    for _ in range(int(rng.integers(0, 4)) if len(ys) else 0):
        at = int(rng.integers(len(ys)))
        length = int(min(rows, cols) * rng.uniform(0.03, 0.12))
        cv2.line(paint, (int(xs[at]), int(ys[at])), (int(xs[at]), int(ys[at]) + length), 1.0, 3)
    colours: tuple[RGB, ...] = ((0.05, 0.05, 0.05), (0.1, 0.2, 0.7), (0.8, 0.1, 0.1), (0.98, 0.98, 0.98))
    cover_with(wall, paint, colours[int(rng.integers(len(colours)))], 0.95)
    return _photo(wall, rng)


def transparent_drawing(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    side = int(rng.integers(280, 640))
    canvas = max(side, int(side * rng.uniform(1.0, 1.6)))
    alpha = placed(_digit(pixels, side * 3 // 4, rng, 0.04), side, canvas, rng, (0.3, 0.7))
    pens: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (30, 60, 200), (210, 30, 30), (255, 255, 255))
    pen = pens[int(rng.integers(len(pens)))]
    background = 0 if rng.random() < 0.5 else 255  # what the app leaves under a transparent pixel
    picture = np.full((side, canvas, 4), background, np.uint8)
    stroke = alpha > 0
    picture[stroke, :3] = pen
    picture[..., 3] = (np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(picture, "RGBA"), "PNG")


def steep_angle(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _surface(rng, (0.95, 0.94, 0.9))
    rows, cols = page.shape[:2]
    cover_with(page, _written(pixels, page.shape, rng, 0.42, 0.012), _pen(rng), 0.92)
    desks: tuple[RGB, ...] = ((0.35, 0.24, 0.15), (0.5, 0.5, 0.52), (0.15, 0.15, 0.17))
    far = rng.uniform(0.55, 0.8)  # the far edge's width, of the near edge's
    depth = rng.uniform(0.6, 0.85)  # the page's height in the picture, of its width's worth
    inset = cols * (1 - far) / 2
    source = np.float32([[0, 0], [cols, 0], [cols, rows], [0, rows]])
    target = np.float32([[inset, rows * (1 - depth)], [cols - inset, rows * (1 - depth)], [cols, rows], [0, rows]])
    warp = cv2.getPerspectiveTransform(source, target)
    desk = desks[int(rng.integers(len(desks)))]
    seen = cv2.warpPerspective(page, warp, (cols, rows), borderMode=cv2.BORDER_CONSTANT, borderValue=desk)
    soft = cv2.GaussianBlur(seen, (0, 0), rng.uniform(2.0, 4.0))
    focus = np.clip(1 - np.arange(rows, dtype=np.float32) / rows * 1.6, 0, 1)[:, None, None]
    return _photo(seen + focus * (soft - seen), rng)


NINETEENTH: dict[str, Render] = {
    "whiteboard": whiteboard,
    "dappled-light": dappled_light,
    "corkboard": corkboard,
    "spray-paint": spray_paint,
    "transparent-drawing": transparent_drawing,
    "steep-angle": steep_angle,
}


def build_nineteenth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(NINETEENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
