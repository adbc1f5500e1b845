"""A third held-out set of everyday conditions, written and frozen before the change it measures.

The second held-out set (evaluation/unseen_conditions.py) was read once and its failures were looked
at, so it is a development set now. This one is new code with conditions that no earlier set has,
from MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit
that a person reads at a glance:

- **dot-grid**: on dot-grid notebook paper (a dot every few millimetres, grey or blue);
- **spine-shadow**: near the gutter of an open notebook, where the page curls into shadow;
- **camera-shake**: the phone moved while the shutter was open (a motion blur in one direction);
- **thumbnail**: a chat app's preview of the photo, a few dozen pixels wide and heavily compressed;
- **lamp-light**: under a desk lamp, a warm cast and a bright pool fading to dim corners;
- **barcode**: on a label with a printed barcode beside the digit.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode

SEED = 8675309
FIRST_DIGIT = 55_000
DIGITS_USED = 5_000


def _sheet(rng: np.random.Generator, tone: float = 0.92) -> tuple[np.ndarray, int]:
    """A page (height, width, 3) in [0, 1] and the side of the digit's 28 px frame on it."""
    width = int(rng.integers(640, 1400))
    height = int(width * rng.uniform(0.7, 1.4))
    page = np.full((height, width, 3), tone, np.float32) * rng.uniform(0.97, 1.03, size=3).astype(np.float32)
    return page, int(width * rng.uniform(0.22, 0.38) * 28 / 20)


def _pen(page: np.ndarray, pixels: np.ndarray, side: int, centre: tuple[float, float], ink: np.ndarray) -> None:
    """The digit written in ``ink`` with its frame ``side`` px wide centred at ``centre``, in place."""
    cover = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_LINEAR)
    x, y = int(centre[0] - side / 2), int(centre[1] - side / 2)
    region = page[y : y + side, x : x + side]
    cover = np.clip(cover[: region.shape[0], : region.shape[1], None], 0, 1)
    region += cover * (ink - region)


def _centre(page: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    height, width = page.shape[:2]
    return width * rng.uniform(0.38, 0.62), height * rng.uniform(0.38, 0.62)


def _photo(page: np.ndarray, rng: np.random.Generator, quality: tuple[int, int] = (72, 94)) -> bytes:
    """Lens softness, sensor noise and a JPEG."""
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.4, 1.0))
    page = page + rng.normal(0, rng.uniform(0.006, 0.018), size=page.shape).astype(np.float32)
    rgb = Image.fromarray(np.round(np.clip(page, 0, 1) * 255).astype(np.uint8), "RGB")
    return encode(rgb, "JPEG", quality=int(rng.integers(*quality)))


def _blue_ink(rng: np.random.Generator) -> np.ndarray:
    return np.asarray([0.1, 0.12, rng.uniform(0.2, 0.45)], np.float32)


def dot_grid(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, side = _sheet(rng)
    height, width = page.shape[:2]
    pitch = max(8, int(width * rng.uniform(0.025, 0.045)))
    dot = np.asarray([(0.6, 0.6, 0.62), (0.55, 0.65, 0.85)][int(rng.integers(2))], np.float32)
    radius = max(1, pitch // 10)
    for y in range(pitch // 2, height, pitch):
        for x in range(pitch // 2, width, pitch):
            cv2.circle(page, (x, y), radius, dot.tolist(), -1, cv2.LINE_AA)
    _pen(page, pixels, side, _centre(page, rng), _blue_ink(rng))
    return _photo(page, rng)


def spine_shadow(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, side = _sheet(rng)
    width = page.shape[1]
    centre = _centre(page, rng)
    _pen(page, pixels, side, centre, _blue_ink(rng))
    # The gutter is on one side, its shadow reaching just past the digit.
    xs = np.arange(width, dtype=np.float32)
    from_spine = xs if rng.random() < 0.5 else width - 1 - xs
    spine_to_digit = min(centre[0], width - centre[0])
    reach = spine_to_digit + side * rng.uniform(0.0, 0.4)
    shade = np.clip(1 - from_spine / reach, 0, 1) ** 1.5 * rng.uniform(0.5, 0.75)
    page *= (1 - shade)[None, :, None]
    return _photo(page, rng)


def camera_shake(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, side = _sheet(rng)
    _pen(page, pixels, side, _centre(page, rng), np.asarray([0.08, 0.08, 0.1], np.float32))
    length = max(3, int(page.shape[1] * rng.uniform(0.008, 0.02)))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, turn, (length, length))
    page = cv2.filter2D(page, -1, kernel / kernel.sum())
    return _photo(page, rng)


def thumbnail(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, side = _sheet(rng)
    _pen(page, pixels, side, _centre(page, rng), _blue_ink(rng))
    small_width = int(rng.integers(56, 120))
    small_height = max(1, round(page.shape[0] * small_width / page.shape[1]))
    small = cv2.resize(page, (small_width, small_height), interpolation=cv2.INTER_AREA)
    return _photo(small, rng, quality=(25, 50))


def lamp_light(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, side = _sheet(rng)
    height, width = page.shape[:2]
    _pen(page, pixels, side, _centre(page, rng), np.asarray([0.1, 0.1, 0.12], np.float32))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    lamp_x, lamp_y = width * rng.uniform(0.2, 0.8), height * rng.uniform(0.2, 0.8)
    distance = np.hypot(xs - lamp_x, ys - lamp_y) / np.hypot(width, height)
    light = 0.25 + 0.85 * np.exp(-((distance / rng.uniform(0.3, 0.5)) ** 2))
    warm = np.asarray([1.0, rng.uniform(0.75, 0.85), rng.uniform(0.45, 0.6)], np.float32)
    return _photo(page * light[..., None] * warm, rng)


def barcode(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page, side = _sheet(rng, tone=0.95)
    height, width = page.shape[:2]
    centre = _centre(page, rng)
    _pen(page, pixels, side, centre, np.asarray([0.08, 0.08, 0.1], np.float32))
    # The barcode stands beside the digit, left or right, clear of its frame.
    bar_height = int(side * rng.uniform(0.5, 0.9))
    module = max(2, side // 60)
    code_width = module * int(rng.integers(40, 70))
    gap = side * rng.uniform(0.65, 0.9)
    left = int(centre[0] - gap - code_width) if centre[0] - gap - code_width > 2 else int(centre[0] + gap)
    code_width = min(code_width, width - 2 - left)
    top = int(np.clip(centre[1] - bar_height / 2, 2, height - bar_height - 2))
    x = left
    while x < left + code_width:
        bar = module * int(rng.integers(1, 4))
        if rng.random() < 0.5:
            page[top : top + bar_height, x : min(x + bar, left + code_width)] = 0.1
        x += bar
    return _photo(page, rng)


FROZEN: dict[str, Render] = {
    "dot-grid": dot_grid,
    "spine-shadow": spine_shadow,
    "camera-shake": camera_shake,
    "thumbnail": thumbnail,
    "lamp-light": lamp_light,
    "barcode": barcode,
}


def build_frozen(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(FROZEN, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
