"""Images that are not digits, for outlier exposure (Hendrycks, Mazeika and Dietterich, ICLR 2019).

The model keeps its ten outputs; on these images training pulls its softmax towards the uniform
distribution, so "not a digit" shows as a low top probability. Five kinds, drawn from a seeded
generator and fitted into MNIST's frame by the service's own framing, as an upload's ink would be:

- **glyphs**: letters and symbols in the training fonts (train/typed.py), except those that are a
  digit's shape in some hand (:data:`LOOKS_LIKE_A_DIGIT`);
- **drawings**: pen shapes (polygons, boxes and frames, stars, arrows, crosses, spirals, hearts,
  zigzags, grids), each in a random pen width;
- **scribbles**: several smooth random strokes;
- **numbers**: two or three training digits side by side, or a digit inside a drawn box;
- **textures**: smoothed noise, stripes, checks and dots;
- **icons** (``--icon-outliers``, off by default): pictograms from two icon fonts (train/icons.py).

The evaluation's outliers (evaluation/outliers.py) come from other sources (other fonts, other
drawings, real photographs): they measure whether refusing generalises, not whether it remembers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from model.preprocess import fit_to_mnist_frame
from train.icons import icon_glyphs, icon_image
from train.typed import FONT_DIR, GLYPH_SIZE, TRAINING_FONTS

# Characters that some hand writes as a digit (O, D, Q as 0; I, l, i, J, j, |, !, /, \, brackets and
# parentheses as a 1's one stroke; Z as 2; S as 5; b, G as 6; B as 8; g, q as 9). They are neither
# trained nor evaluated as outliers: refusing them would teach the model to refuse digits.
LOOKS_LIKE_A_DIGIT = frozenset("0123456789OoDQIilJj|!/\\()[]{}ZzSsbGBgq")
GLYPHS = "".join(
    c for c in "ABCEFHJKLMNPRTUVWXYacdefhjkmnprtuvwxy#$%&*+<=>?@/\\[]{}()~^" if c not in LOOKS_LIKE_A_DIGIT
)
CANVAS = 64  # drawings are made on a canvas this size, then fitted into the 20x20 box
KINDS = ("glyphs", "drawings", "scribbles", "numbers", "textures")
ICONS = "icons"  # a sixth kind, off by default (train/icons.py; docs/training.md says why)


@cache
def glyph_images() -> tuple[np.ndarray, ...]:
    """Every outlier glyph in every training font, in MNIST's frame (rendered once, then cached)."""
    images = []
    for name in TRAINING_FONTS:
        font = ImageFont.truetype(str(FONT_DIR / name), GLYPH_SIZE)
        for char in GLYPHS:
            side = 2 * GLYPH_SIZE
            canvas = Image.new("L", (side, side), 0)
            ImageDraw.Draw(canvas).text((side // 2, side // 2), char, fill=255, font=font, anchor="mm")
            images.append(fit_to_mnist_frame(np.asarray(canvas, dtype=np.float32) / 255.0))
    return tuple(images)


def _polyline(
    canvas: np.ndarray, points: np.ndarray, rng: np.random.Generator, closed: bool = False, widest: int = 6
) -> None:
    """Draw with a pen 2 to ``widest`` pixels wide."""
    pen = int(rng.integers(2, widest + 1))
    cv2.polylines(canvas, [np.round(points).astype(np.int32)], closed, 1.0, pen, cv2.LINE_AA)


def _smooth_path(rng: np.random.Generator, count: int) -> np.ndarray:
    """A smooth random stroke: a quadratic spline through ``count`` random points."""
    points = rng.uniform(6, CANVAS - 6, size=(count, 2))
    steps = np.linspace(0, 1, 12)[:, None]
    path = [points[0]]
    for a, b, c in zip(points[:-2], points[1:-1], points[2:], strict=True):
        start, end = (a + b) / 2, (b + c) / 2
        path.extend((1 - steps) ** 2 * start + 2 * (1 - steps) * steps * b + steps**2 * end)
    path.append(points[-1])
    return np.array(path)


def _shape_points(rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """One pen shape's outline (points on the canvas) and whether it is closed."""
    centre, radius = CANVAS / 2, CANVAS * rng.uniform(0.3, 0.45)
    kind = rng.integers(7)
    if kind == 0:  # a polygon of 3 to 6 corners
        angles = np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(3, 7))))
        return centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1), True
    if kind == 1:  # a box or frame, any proportions
        half = radius * rng.uniform(0.3, 1.0, size=2)
        return centre + np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half, True
    if kind == 2:  # a star
        points = int(rng.integers(5, 8))
        angles = np.arange(2 * points) * math.pi / points + rng.uniform(0, math.pi)
        radii = np.where(np.arange(2 * points) % 2 == 0, radius, radius * rng.uniform(0.35, 0.6))
        return centre + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], 1), True
    if kind == 3:  # a spiral
        turns = rng.uniform(1.5, 3.5)
        t = np.linspace(0, 1, 80)
        angle = 2 * math.pi * turns * t + rng.uniform(0, 2 * math.pi)
        return centre + (radius * t)[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1), False
    if kind == 4:  # a heart
        t = np.linspace(0, 2 * math.pi, 60)
        x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return centre + np.stack([x, y], 1) * radius / 17, True
    if kind == 5:  # a zigzag (at least four strokes: three would be a Z, which some write as 2)
        count = int(rng.integers(5, 10))
        xs = np.linspace(centre - radius, centre + radius, count)
        ys = centre + np.where(np.arange(count) % 2 == 0, -1, 1) * radius * rng.uniform(0.3, 0.9)
        return np.stack([xs, ys], 1), False
    angle = rng.uniform(0, 2 * math.pi)  # an arrow: a shaft and a head
    tip = centre + radius * np.array([math.cos(angle), math.sin(angle)])
    tail = centre - radius * np.array([math.cos(angle), math.sin(angle)])
    wing = radius * 0.4
    left = tip - wing * np.array([math.cos(angle - 0.5), math.sin(angle - 0.5)])
    right = tip - wing * np.array([math.cos(angle + 0.5), math.sin(angle + 0.5)])
    return np.array([tail, tip, left, tip, right]), False


def drawing(rng: np.random.Generator) -> np.ndarray:
    """One or two pen shapes, or a cross or grid of straight strokes."""
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    if rng.random() < 0.2:  # a cross, a plus, a hash or a grid
        lines = int(rng.integers(2, 6))
        for _ in range(lines):
            angle = rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.15) + (rng.random() < 0.3) * math.pi / 4
            offset = rng.uniform(-CANVAS * 0.3, CANVAS * 0.3)
            normal = np.array([-math.sin(angle), math.cos(angle)])
            along = np.array([math.cos(angle), math.sin(angle)]) * CANVAS * 0.45
            middle = CANVAS / 2 + normal * offset
            _polyline(canvas, np.array([middle - along, middle + along]), rng)
        return canvas
    for _ in range(1 + int(rng.random() < 0.3)):
        points, closed = _shape_points(rng)
        _polyline(canvas, points, rng, closed)
    return canvas


def scribble(rng: np.random.Generator) -> np.ndarray:
    """Two to four smooth random strokes, each through four to seven points."""
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    for _ in range(int(rng.integers(2, 5))):
        _polyline(canvas, _smooth_path(rng, int(rng.integers(4, 8))), rng, widest=4)
    return canvas


def texture(rng: np.random.Generator) -> np.ndarray:
    """Smoothed noise thresholded into blobs, stripes, checks or dots, over the whole canvas."""
    ys, xs = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float32)
    kind = rng.integers(4)
    if kind == 0:
        noise = cv2.GaussianBlur(rng.random((CANVAS, CANVAS)).astype(np.float32), (0, 0), rng.uniform(1, 5))
        return (noise > np.quantile(noise, rng.uniform(0.4, 0.8))).astype(np.float32)
    angle, period = rng.uniform(0, math.pi), rng.uniform(4, 14)
    wave = np.sin((xs * math.cos(angle) + ys * math.sin(angle)) * 2 * math.pi / period)
    if kind == 1:
        return (wave > rng.uniform(-0.5, 0.5)).astype(np.float32)
    if kind == 2:
        other = np.sin((-xs * math.sin(angle) + ys * math.cos(angle)) * 2 * math.pi / period)
        return (wave * other > 0).astype(np.float32)
    dots = np.zeros((CANVAS, CANVAS), np.float32)
    for x, y in rng.uniform(0, CANVAS, size=(int(rng.integers(6, 30)), 2)):
        cv2.circle(dots, (int(x), int(y)), int(rng.integers(1, 5)), 1.0, -1, cv2.LINE_AA)
    return dots


def number(rng: np.random.Generator, digits: torch.Tensor) -> np.ndarray:
    """Two or three of ``digits`` (28x28 MNIST ink) side by side, or one inside a drawn box."""
    picks = [digits[int(i), 0].numpy() for i in rng.integers(len(digits), size=3)]
    if rng.random() < 0.3:
        pad = int(rng.integers(2, 8))
        boxed = cv2.copyMakeBorder(picks[0], pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0.0)
        side = boxed.shape[0] - 1
        cv2.rectangle(boxed, (0, 0), (side, side), 1.0, int(rng.integers(1, 3)))
        return boxed
    count = 2 + int(rng.random() < 0.3)
    overlap = int(rng.integers(4, 10))  # MNIST's frame has 4 empty pixels each side
    row = np.zeros((28, 28 * count - overlap * (count - 1)), np.float32)
    for i, pick in enumerate(picks[:count]):
        left = i * (28 - overlap)
        row[:, left : left + 28] = np.maximum(row[:, left : left + 28], pick)
    return row


def outlier_pool(count: int, digits: torch.Tensor, seed: int, icons: bool = False) -> torch.Tensor:
    """``count`` outliers ``(N, 1, 28, 28)`` in [0, 1], the kinds in equal shares, from ``seed``;
    ``icons`` adds the sixth kind."""
    kinds = (*KINDS, ICONS) if icons else KINDS
    return torch.cat([outliers_of_kind(kind, -(-count // len(kinds)), digits, seed) for kind in kinds])[:count]


def outliers_of_kind(kind: str, count: int, digits: torch.Tensor, seed: int) -> torch.Tensor:
    """``count`` outliers of one kind, ``(N, 1, 28, 28)`` in [0, 1]."""
    rng = np.random.default_rng([seed, (*KINDS, ICONS).index(kind)])
    if kind == "glyphs":
        glyphs = glyph_images()
        frames = [glyphs[i] for i in rng.integers(len(glyphs), size=count)]
    elif kind == ICONS:
        frames = [icon_image(int(i)) for i in rng.integers(len(icon_glyphs()), size=count)]
    else:
        draw: Callable[[np.random.Generator], np.ndarray] = {
            "drawings": drawing,
            "scribbles": scribble,
            "textures": texture,
            "numbers": lambda r: number(r, digits),
        }[kind]
        frames = [fit_to_mnist_frame(draw(rng)) for _ in range(count)]
    return torch.from_numpy(np.stack(frames)).unsqueeze(1)
