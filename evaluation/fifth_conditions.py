"""A fifth held-out set of everyday conditions, written and frozen before the change it measures.

The fourth held-out set (evaluation/fourth_conditions.py) was read and its failures were looked at,
so it is a development set now. This one is new code with conditions that no earlier set has, from
MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit that
a person reads at a glance, with a mark, a line or an object a person ignores:

- **star-mark**: a hand-drawn star or asterisk beside the digit, in the pen's ink or a teacher's;
- **brackets**: the digit between hand-drawn round or square brackets, "(7)" or "[7]";
- **full-stop**: the digit followed by a full stop or a comma, "7." or "7,";
- **notebook-margin**: on ruled notebook paper, just right of its red margin rule;
- **paperclip**: a metal paperclip on the page near the digit;
- **bleed-through**: writing on the back of the page showing through, faint and mirrored.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode

SEED = 20261202
FIRST_DIGIT = 55_000
DIGITS_USED = 5_000
Ink = tuple[float, float, float]
PENS: tuple[Ink, ...] = ((0.1, 0.12, 0.35), (0.08, 0.08, 0.08), (0.25, 0.25, 0.27), (0.05, 0.15, 0.5))
TEACHER: tuple[Ink, ...] = ((0.78, 0.1, 0.12), (0.1, 0.5, 0.15))


def _page(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Off-white paper (height, width, 3) and the digit's height on it (MNIST's 20 px box), in pixels."""
    height = int(rng.integers(640, 1400))
    width = int(height * rng.uniform(0.75, 1.3))
    tone = np.asarray([0.96, 0.95, 0.93], np.float32) * rng.uniform(0.88, 1.0)
    return np.tile(tone, (height, width, 1)), float(min(height, width) * rng.uniform(0.2, 0.34))


def _ink_on(page: np.ndarray, cover: np.ndarray, ink: Ink) -> None:
    """Lay ``ink`` with coverage ``cover`` (the page's height and width) onto ``page``, in place."""
    page += np.clip(cover, 0, 1)[..., None] * (np.asarray(ink, np.float32) - page)


def _write(page: np.ndarray, pixels: np.ndarray, height: float, centre: tuple[float, float], ink: Ink) -> None:
    """The digit, its 20 px box ``height`` tall, centred at ``centre``, in place."""
    side = round(height * 28 / 20)
    small = np.clip(cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC), 0, 1)
    cover = np.zeros(page.shape[:2], np.float32)
    left, top = round(centre[0] - side / 2), round(centre[1] - side / 2)
    cover[top : top + side, left : left + side] = small[: cover.shape[0] - top, : cover.shape[1] - left]
    _ink_on(page, cover, ink)


def _drawn(page: np.ndarray, points: np.ndarray, width: float, closed: bool = False) -> np.ndarray:
    """The coverage of a pen line through ``points`` (x, y), antialiased, at sub-pixel precision."""
    cover = np.zeros(page.shape[:2], np.uint8)
    scaled = np.round(np.asarray(points) * 8).astype(np.int32)
    cv2.polylines(cover, [scaled], closed, 255, max(1, round(width)), cv2.LINE_AA, shift=3)
    return cover.astype(np.float32) / 255


def _shoot(page: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone's lens softness, a slight colour cast, sensor grain and a JPEG."""
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.5, 1.2))
    page = page * rng.uniform(0.93, 1.04, size=3).astype(np.float32)
    page = page + rng.normal(0, rng.uniform(0.004, 0.018), size=page.shape).astype(np.float32)
    rgb = Image.fromarray(np.round(np.clip(page, 0, 1) * 255).astype(np.uint8), "RGB")
    return encode(rgb, "JPEG", quality=int(rng.integers(70, 95)))


def _centre(page: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    height, width = page.shape[:2]
    return width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6)


def _pen(rng: np.random.Generator) -> Ink:
    return PENS[int(rng.integers(len(PENS)))]


def _written(pixels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float, tuple[float, float], Ink]:
    """A page with the digit written near its middle: the page, the digit's height, its centre, the pen."""
    page, height = _page(rng)
    centre = _centre(page, rng)
    pen = _pen(rng)
    _write(page, pixels, height, centre, pen)
    return page, height, centre, pen


def _width(height: float, rng: np.random.Generator) -> float:
    return max(2.0, height * rng.uniform(0.045, 0.08))


def star_mark(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, height, (x, y), pen = _written(pixels, rng)
    size = height * rng.uniform(0.18, 0.3)  # the mark's radius
    side = 1 if rng.random() < 0.7 else -1
    middle = np.array(
        [x + side * (height * 0.5 + size + height * rng.uniform(0.2, 0.5)), y - height * rng.uniform(0, 0.4)]
    )
    turn = rng.uniform(0, 2 * math.pi)
    if rng.random() < 0.5:  # a five-pointed star in one closed stroke
        angles = turn + np.arange(10) * math.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, size, size * rng.uniform(0.38, 0.5))
        cover = _drawn(
            page, middle + np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None], _width(height, rng), True
        )
    else:  # an asterisk: three strokes through the middle
        cover = np.zeros(page.shape[:2], np.float32)
        for k in range(3):
            a = turn + k * math.pi / 3
            ends = middle + np.array([[-math.cos(a), -math.sin(a)], [math.cos(a), math.sin(a)]]) * size
            cover = np.maximum(cover, _drawn(page, ends, _width(height, rng)))
    _ink_on(page, cover, pen if rng.random() < 0.5 else TEACHER[int(rng.integers(len(TEACHER)))])
    return _shoot(page, rng)


def brackets(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, height, (x, y), pen = _written(pixels, rng)
    tall = height * rng.uniform(0.55, 0.7)  # half the brackets' height
    width = _width(height, rng)
    cover = np.zeros(page.shape[:2], np.float32)
    round_ones = rng.random() < 0.6
    for side in (-1, 1):
        reach = x + side * height * rng.uniform(0.55, 0.8)
        if round_ones:  # an arc bulging away from the digit
            t = np.linspace(-1, 1, 24)
            points = np.stack([reach + side * height * 0.15 * (1 - t**2), y + t * tall], 1)
        else:  # a square bracket: a bar with two short feet towards the digit
            foot = height * rng.uniform(0.12, 0.2)
            points = np.array(
                [[reach - side * foot, y - tall], [reach, y - tall], [reach, y + tall], [reach - side * foot, y + tall]]
            )
        cover = np.maximum(cover, _drawn(page, points, width))
    _ink_on(page, cover, pen)
    return _shoot(page, rng)


def full_stop(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, height, (x, y), pen = _written(pixels, rng)
    radius = height * rng.uniform(0.04, 0.075)
    dot = np.array([x + height * rng.uniform(0.5, 0.75), y + height * rng.uniform(0.4, 0.5)])
    cover = np.zeros(page.shape[:2], np.uint8)
    cv2.circle(cover, tuple(np.round(dot * 8).astype(int)), round(radius * 8), 255, -1, cv2.LINE_AA, shift=3)
    cover = cover.astype(np.float32) / 255
    if rng.random() < 0.4:  # a comma: the dot with a tail down and to the left
        tail = np.array([dot, dot + np.array([-0.4, 1.6]) * radius * rng.uniform(1.0, 1.6)])
        cover = np.maximum(cover, _drawn(page, tail, radius * 1.2))
    _ink_on(page, cover, pen)
    return _shoot(page, rng)


def notebook_margin(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, height = _page(rng)
    rows, cols = page.shape[:2]
    spacing = height * rng.uniform(1.0, 1.3)
    first = rng.uniform(0.2, 0.9) * spacing
    cover = np.zeros((rows, cols), np.float32)
    thin = rng.uniform(1.0, 2.5)
    for line_y in np.arange(first, rows, spacing):
        cover = np.maximum(cover, _drawn(page, np.array([[0, line_y], [cols - 1, line_y]]), thin))
    _ink_on(page, cover * rng.uniform(0.5, 0.8), (0.45, 0.6, 0.85))
    x, y = _centre(page, rng)
    base = first + spacing * max(1, round((y + height / 2 - first) / spacing))  # the digit sits on a rule
    margin_x = x - height * rng.uniform(0.65, 1.0)
    _ink_on(
        page,
        _drawn(page, np.array([[margin_x, 0], [margin_x, rows - 1]]), thin * rng.uniform(1, 1.6)),
        (0.85, 0.3, 0.35),
    )
    _write(page, pixels, height, (x, base - height * 0.55), _pen(rng))
    return _shoot(page, rng)


def paperclip(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, height, (x, y), _ = _written(pixels, rng)
    length, across = height * rng.uniform(1.2, 1.8), height * rng.uniform(0.22, 0.3)
    # The wire's path in the clip's own frame: three nested loops joined, as a gem clip is bent.
    t = np.linspace(0, math.pi, 12)
    outer_end = np.stack([length / 2 + across / 2 * np.sin(t), across / 2 * np.cos(t)], 1)
    inner_end = np.stack([-length / 2 + across * 0.35 * np.sin(t) * -1, -across * 0.35 * np.cos(t)], 1)
    path = np.concatenate([[[-length * 0.3, across / 2]], outer_end, inner_end, [[length * 0.3, across * 0.35]]])
    angle = rng.uniform(0, math.pi)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    direction = rng.uniform(0, 2 * math.pi)
    middle = np.array([x, y]) + np.array([math.cos(direction), math.sin(direction)]) * height * rng.uniform(1.3, 1.7)
    points = path @ rotation.T + middle
    wire = height * rng.uniform(0.03, 0.05)
    shadow = cv2.GaussianBlur(_drawn(page, points + wire, wire), (0, 0), wire)
    page *= (1 - 0.3 * shadow)[..., None]
    _ink_on(page, _drawn(page, points, wire), tuple(rng.uniform(0.45, 0.65, size=3)))  # type: ignore[arg-type]
    _ink_on(page, _drawn(page, points - wire * 0.25, max(1.0, wire * 0.3)) * 0.6, (0.95, 0.95, 0.95))
    return _shoot(page, rng)


def bleed_through(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, height = _page(rng)
    rows, cols = page.shape[:2]
    x, y = _centre(page, rng)
    # The back of the page: a few lines of handwriting (OpenCV's script font), mirrored and soft.
    back = np.zeros((rows, cols), np.uint8)
    words = ["dear sam", "see you at", "monday 14", "thanks", "total 23", "notes", "call me"]
    scale = height * rng.uniform(0.5, 0.8) / 22
    line_y = rng.uniform(0.1, 0.3) * rows
    while line_y < rows:
        text = " ".join(rng.choice(words, size=2))
        start = (int(rng.uniform(0.0, 0.3) * cols), int(line_y))
        cv2.putText(
            back, text, start, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, 255, max(1, round(scale * 2)), cv2.LINE_AA
        )
        line_y += height * rng.uniform(0.9, 1.3)
    cover = cv2.GaussianBlur(back[:, ::-1].astype(np.float32) / 255, (0, 0), rng.uniform(1.5, 3.0))
    _ink_on(page, cover * rng.uniform(0.15, 0.35), (0.3, 0.32, 0.45))
    _write(page, pixels, height, (x, y), _pen(rng))
    return _shoot(page, rng)


FIFTH: dict[str, Render] = {
    "star-mark": star_mark,
    "brackets": brackets,
    "full-stop": full_stop,
    "notebook-margin": notebook_margin,
    "paperclip": paperclip,
    "bleed-through": bleed_through,
}


def build_fifth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(FIFTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
