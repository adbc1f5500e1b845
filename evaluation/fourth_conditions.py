"""A fourth held-out set of everyday conditions, written and frozen before the change it measures.

The third held-out set (evaluation/frozen_conditions.py) was read once and its failures were looked
at, so it is a development set now. This one is new code with conditions that no earlier set has,
from MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit
that a person reads at a glance, with a mark or an object a person ignores:

- **underlined**: the answer underlined by hand, a straight or wavy stroke under it;
- **arrow**: a hand-drawn arrow pointing at the digit from one side;
- **tick**: a teacher's red tick beside the digit;
- **pen-on-page**: a pen lying on the page, clear of the digit;
- **coffee-ring**: the brown ring a cup leaves, near or across the digit;
- **screen-photo**: the digit in a drawing app, photographed off a monitor (its pixel grid's moire,
  the screen's dark bezel around it).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode

SEED = 20261130
FIRST_DIGIT = 55_000
DIGITS_USED = 5_000
BALLPOINT = (0.12, 0.14, 0.32)
RED_PEN = (0.75, 0.12, 0.12)


def _blank(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """White paper (height, width, 3) and the digit's 20 px box height on it, in pixels."""
    height = int(rng.integers(700, 1500))
    width = int(height * rng.uniform(0.7, 1.3))
    paper = np.asarray([0.95, 0.94, 0.92], np.float32) * rng.uniform(0.9, 1.0)
    return np.tile(paper, (height, width, 1)), float(min(height, width) * rng.uniform(0.18, 0.32))


def _place(page: np.ndarray, rng: np.random.Generator, spread: float = 0.12) -> tuple[float, float]:
    """Where the digit's centre goes: near the middle of the page."""
    height, width = page.shape[:2]
    return width * (0.5 + rng.uniform(-spread, spread)), height * (0.5 + rng.uniform(-spread, spread))


def _digit(page: np.ndarray, pixels: np.ndarray, box: float, centre: tuple[float, float]) -> np.ndarray:
    """The digit's coverage on the page (its 20 px box ``box`` tall, centred at ``centre``)."""
    side = round(box * 28 / 20)
    small = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_LINEAR)
    cover = np.zeros(page.shape[:2], np.float32)
    left, top = round(centre[0] - side / 2), round(centre[1] - side / 2)
    cover[top : top + side, left : left + side] = small[: cover.shape[0] - top, : cover.shape[1] - left]
    return cover


def _stroke(shape: tuple[int, ...], points: np.ndarray, width: int) -> np.ndarray:
    """A pen stroke through ``points``, as coverage."""
    cover = np.zeros(shape[:2], np.uint8)
    cv2.polylines(cover, [np.round(points * 4).astype(np.int32)], False, 255, width, cv2.LINE_AA, shift=2)
    return cover.astype(np.float32) / 255


def _snapshot(page: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone's softness, grain, a slight warm or cool cast and a JPEG."""
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.6, 1.3))
    page = page * rng.uniform(0.92, 1.05, size=3).astype(np.float32)
    page = page + rng.normal(0, rng.uniform(0.005, 0.02), size=page.shape).astype(np.float32)
    rgb = Image.fromarray(np.round(np.clip(page, 0, 1) * 255).astype(np.uint8), "RGB")
    return encode(rgb, "JPEG", quality=int(rng.integers(65, 95)))


def _pen_width(box: float, rng: np.random.Generator) -> int:
    return max(2, round(box * rng.uniform(0.04, 0.08)))


def underlined(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, box = _blank(rng)
    x, y = _place(page, rng)
    cover_with(page, _digit(page, pixels, box, (x, y)), BALLPOINT)
    below = y + box * rng.uniform(0.55, 0.75)
    xs = np.linspace(x - box * rng.uniform(0.5, 0.9), x + box * rng.uniform(0.5, 0.9), 40)
    wave = rng.uniform(0, 0.06) * box * np.sin(np.linspace(0, rng.uniform(2, 9) * math.pi, 40))
    ys = below + wave + np.linspace(0, rng.uniform(-0.1, 0.1) * box, 40)
    strokes = 1 + int(rng.random() < 0.3)  # sometimes underlined twice
    for k in range(strokes):
        points = np.stack([xs, ys + k * box * 0.12], 1)
        cover_with(page, _stroke(page.shape, points, _pen_width(box, rng)), BALLPOINT)
    return _snapshot(page, rng)


def arrow(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, box = _blank(rng)
    x, y = _place(page, rng, spread=0.08)
    cover_with(page, _digit(page, pixels, box, (x, y)), BALLPOINT)
    # From the left, right or below, stopping short of the digit.
    angle = rng.choice([0.0, math.pi, math.pi / 2]) + rng.uniform(-0.4, 0.4)
    direction = np.array([math.cos(angle), math.sin(angle)])
    tip = np.array([x, y]) - direction * box * rng.uniform(0.7, 0.9)
    tail = tip - direction * box * rng.uniform(0.8, 1.4)
    bend = (tip + tail) / 2 + np.array([-direction[1], direction[0]]) * box * rng.uniform(-0.2, 0.2)
    t = np.linspace(0, 1, 30)[:, None]
    shaft = (1 - t) ** 2 * tail + 2 * (1 - t) * t * bend + t**2 * tip
    wing = box * rng.uniform(0.18, 0.3)
    head = [tip - wing * np.array([math.cos(angle + s), math.sin(angle + s)]) for s in (-0.6, 0.6)]
    width = _pen_width(box, rng)
    cover = _stroke(page.shape, shaft, width)
    cover = np.maximum(cover, _stroke(page.shape, np.array([head[0], tip, head[1]]), width))
    cover_with(page, cover, BALLPOINT)
    return _snapshot(page, rng)


def tick(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, box = _blank(rng)
    x, y = _place(page, rng, spread=0.08)
    cover_with(page, _digit(page, pixels, box, (x, y)), BALLPOINT)
    size = box * rng.uniform(0.4, 0.8)
    side = 1 if rng.random() < 0.6 else -1
    corner = np.array([x + side * box * rng.uniform(0.8, 1.1), y + box * rng.uniform(-0.1, 0.3)])
    points = np.array([corner + np.array([-0.35, -0.35]) * size, corner, corner + np.array([0.6, -1.0]) * size])
    cover_with(page, _stroke(page.shape, points, _pen_width(box, rng)), RED_PEN)
    return _snapshot(page, rng)


def pen_on_page(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, box = _blank(rng)
    height, width = page.shape[:2]
    x, y = _place(page, rng, spread=0.08)
    cover_with(page, _digit(page, pixels, box, (x, y)), BALLPOINT)
    # The pen's body: a long rounded bar, dark or coloured, with a lighter line along it, away from the digit.
    length, thick = min(height, width) * rng.uniform(0.5, 0.8), box * rng.uniform(0.18, 0.3)
    angle = rng.uniform(-0.5, 0.5) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
    along = np.array([math.cos(angle), math.sin(angle)])
    across = np.array([-along[1], along[0]])
    away = box * rng.uniform(1.0, 1.4) * (1 if rng.random() < 0.5 else -1)
    middle = np.array([x, y]) + across * away
    ends = np.array([middle - along * length / 2, middle + along * length / 2])
    body = _stroke(page.shape, ends, max(3, round(thick)))
    colour = [(0.08, 0.08, 0.1), (0.1, 0.2, 0.55), (0.7, 0.1, 0.1), (0.85, 0.85, 0.88)][int(rng.integers(4))]
    cover_with(page, cv2.GaussianBlur(body, (0, 0), 1.0), colour)
    shine = _stroke(page.shape, ends + across * thick * 0.2, max(1, round(thick * 0.15)))
    cover_with(page, shine * body * 0.5, (1.0, 1.0, 1.0))
    shadow = cv2.GaussianBlur(np.roll(body, (round(thick * 0.4), round(thick * 0.3)), (0, 1)), (0, 0), thick * 0.3)
    page *= (1 - 0.35 * shadow * (1 - body))[..., None]
    return _snapshot(page, rng)


def coffee_ring(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, box = _blank(rng)
    height, width = page.shape[:2]
    x, y = _place(page, rng, spread=0.08)
    radius = box * rng.uniform(0.7, 1.2)
    centre = np.array([x, y]) + rng.uniform(-1, 1, size=2) * box * 0.9
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.hypot(xs - centre[0], ys - centre[1])
    rim = np.exp(-(((distance - radius) / (box * rng.uniform(0.02, 0.05))) ** 2))
    stain = rng.uniform(0.15, 0.35) * (distance < radius) + rng.uniform(0.4, 0.7) * rim
    wobble = cv2.GaussianBlur(rng.uniform(0.6, 1.0, size=(height, width)).astype(np.float32), (0, 0), box * 0.05)
    cover_with(page, stain * wobble, (0.6, 0.42, 0.25))
    cover_with(page, _digit(page, pixels, box, (x, y)), BALLPOINT)
    return _snapshot(page, rng)


def screen_photo(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, box = _blank(rng)
    height, width = page.shape[:2]
    page[:] = 0.97
    x, y = _place(page, rng, spread=0.06)
    cover_with(page, _digit(page, pixels, box * 0.9, (x, y)), (0.05, 0.05, 0.05))
    # The monitor's pixel grid beats against the camera's: a fine pattern of bright and dark bands.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle, period = rng.uniform(0, math.pi), rng.uniform(4, 12)
    bands = np.sin((xs * math.cos(angle) + ys * math.sin(angle)) * 2 * math.pi / period)
    page *= (1 + rng.uniform(0.04, 0.12) * bands)[..., None]
    page *= np.asarray([rng.uniform(0.8, 0.95), rng.uniform(0.9, 1.0), 1.0], np.float32)  # a screen's blue cast
    # The bezel: the screen fills 75-92 % of the frame, dark plastic around it.
    margin = rng.uniform(0.04, 0.12, size=4)
    top, bottom = round(margin[0] * height), round((1 - margin[1]) * height)
    left, right = round(margin[2] * width), round((1 - margin[3]) * width)
    framed = np.tile(np.asarray([0.06, 0.06, 0.07], np.float32), (height, width, 1))
    framed[top:bottom, left:right] = page[top:bottom, left:right]
    return _snapshot(framed, rng)


FOURTH: dict[str, Render] = {
    "underlined": underlined,
    "arrow": arrow,
    "tick": tick,
    "pen-on-page": pen_on_page,
    "coffee-ring": coffee_ring,
    "screen-photo": screen_photo,
}


def build_fourth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(FOURTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
