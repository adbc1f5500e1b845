"""The digit-finding *development* set: everyday uploads that put something beside or around the digit.

Each image is one handwritten digit (an MNIST *validation* image, 55,000-57,499: never trained on,
never the test set) photographed on paper in one of these conditions:

- **form-box**: written in a printed box of a form: one box, or a row of boxes with one filled;
- **sticky-note**: on a coloured sticky note lying on a desk, the note 40-80 % of the frame;
- **dim-light**: photographed in dim light: the paper dark grey, the picture noisy;
- **worksheet-label**: a printed question number ("6)", "Q3", "b.") just left of the answer, which
  is sometimes written on a printed answer line.

This is the set the digit finding is tuned on. The frozen held-out set (evaluation/heldout_conditions.py)
is other code with other conditions, digits and seeds, and is only reported. Deterministic: the same
seed gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evaluation.imaging import encode
from evaluation.photos import installed_fonts

SEED = 5150
FIRST_DIGIT = 55_000  # validation split of the training images: this set uses 55,000-57,499
DIGITS_USED = 2_500
Colour = tuple[float, float, float]
PRINT_COLOURS: tuple[Colour, ...] = ((0.1, 0.1, 0.1), (0.35, 0.35, 0.38), (0.55, 0.6, 0.7), (0.2, 0.3, 0.6))
PEN_COLOURS: tuple[Colour, ...] = ((0.1, 0.1, 0.14), (0.12, 0.2, 0.62), (0.05, 0.05, 0.05), (0.3, 0.3, 0.32))
NOTE_COLOURS: tuple[Colour, ...] = (
    (1.0, 0.93, 0.45),
    (1.0, 0.62, 0.76),
    (0.62, 0.95, 0.6),
    (0.56, 0.8, 1.0),
    (1.0, 0.7, 0.35),
)
DESK_COLOURS: tuple[Colour, ...] = ((0.32, 0.21, 0.12), (0.45, 0.45, 0.47), (0.08, 0.08, 0.09), (0.62, 0.5, 0.36))
LABELS = ("{n})", "{n}.", "Q{n}", "{a})", "{a}.", "{n}.)", "({n})")


@dataclass(frozen=True)
class Case:
    """One image of one condition (this set's, or a held-out set's)."""

    condition: str
    label: int
    data: bytes
    index: int  # the MNIST training image's index


Render = Callable[[np.ndarray, np.random.Generator], bytes]  # a digit's pixels and a generator to an image file


def _ink(pixels: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """The digit's ink coverage in [0, 1], its 20 px box ``height`` pixels tall, pen a little thicker or not."""
    side = max(8, round(height * 28 / 20))
    mask = np.clip(cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC), 0, 1)
    if rng.random() < 0.3:
        radius = max(1, round(side / 60))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
    return mask


def _paint(image: np.ndarray, cover: np.ndarray, top: int, left: int, colour: Colour) -> None:
    """Lay ink of ``colour`` with coverage ``cover`` onto ``image`` at (top, left), clipped to it."""
    height, width = image.shape[:2]
    t, l_ = max(top, 0), max(left, 0)
    b, r = min(top + cover.shape[0], height), min(left + cover.shape[1], width)
    if b <= t or r <= l_:
        return
    part = cover[t - top : b - top, l_ - left : r - left, None]
    area = image[t:b, l_:r]
    area += part * (np.asarray(colour, np.float32) - area)


def _frame(rng: np.random.Generator) -> tuple[int, int]:
    long_side = int(rng.integers(600, 1601))
    short_side = round(long_side * 0.75)
    return (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)


def _camera(image: np.ndarray, rng: np.random.Generator, light: float = 1.0, noise: float = 3.0) -> bytes:
    """Uneven light, blur, sensor noise and JPEG, as every phone photo has."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / math.hypot(width, height)
    image = image * (light * (1 - rng.uniform(0, 0.25) * (ramp - ramp.min())))[..., None]
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.2))
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(noise / 255)
    return encode(
        Image.fromarray(cv2.convertScaleAbs(image, alpha=255.0), mode="RGB"), "JPEG", quality=int(rng.integers(70, 93))
    )


def _paper(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    tone = rng.uniform(0.84, 0.96) * rng.uniform(0.96, 1.0, size=3)
    return np.ones((height, width, 3), np.float32) * tone.astype(np.float32)


def form_box(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _frame(rng)
    image = _paper(height, width, rng)
    count = 1 if rng.random() < 0.5 else int(rng.integers(3, 7))
    gap_share = 0.0 if rng.random() < 0.5 else rng.uniform(0.05, 0.3)
    # The whole row in the frame, as a person photographs the box they filled in.
    widest = 0.9 * width / (count + (count - 1) * gap_share)
    box = round(min(rng.uniform(0.12, 0.3) * min(height, width), widest))
    gap = round(gap_share * box)
    filled = int(rng.integers(count))
    row = count * box + (count - 1) * gap
    left0 = round((width - row) / 2 + rng.uniform(-0.5, 0.5) * (width - row) * 0.8)
    top = round((height - box) / 2 + rng.uniform(-0.2, 0.2) * height)
    line = np.zeros((height, width), np.float32)
    thickness = max(1, round(box * rng.uniform(0.01, 0.04)))
    for k in range(count):
        left = left0 + k * (box + gap)
        cv2.rectangle(line, (left, top), (left + box, top + box), 1.0, thickness)
    _paint(image, line, 0, 0, PRINT_COLOURS[int(rng.integers(len(PRINT_COLOURS)))])
    digit = _ink(pixels, round(box * rng.uniform(0.55, 0.85)), rng)
    slack = box - digit.shape[0] * 20 / 28
    dx, dy = rng.uniform(-0.5, 0.5, size=2) * max(slack, 0) / 2
    cx, cy = left0 + filled * (box + gap) + box / 2 + dx, top + box / 2 + dy
    _paint(
        image, digit, round(cy - digit.shape[0] / 2), round(cx - digit.shape[1] / 2), PEN_COLOURS[int(rng.integers(4))]
    )
    return _camera(image, rng)


def sticky_note(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _frame(rng)
    desk = np.asarray(DESK_COLOURS[int(rng.integers(len(DESK_COLOURS)))], np.float32) * rng.uniform(0.8, 1.2)
    grain = cv2.GaussianBlur(rng.uniform(0.75, 1.25, size=(height, width)).astype(np.float32), (0, 0), 3)
    image = np.clip(desk * grain[..., None], 0, 1).astype(np.float32)
    side = math.sqrt(rng.uniform(0.4, 0.8) * height * width)
    note = np.zeros((height, width), np.float32)
    centre = (width / 2 + rng.uniform(-0.12, 0.12) * width, height / 2 + rng.uniform(-0.12, 0.12) * height)
    corners = cv2.boxPoints((centre, (side, side), float(rng.uniform(-15, 15))))
    cv2.fillConvexPoly(note, np.round(corners).astype(np.int32), 1.0, lineType=cv2.LINE_AA)
    shadow = cv2.GaussianBlur(np.roll(note, (round(side * 0.02), round(side * 0.02)), (0, 1)), (0, 0), side * 0.02)
    image *= (1 - 0.5 * shadow)[..., None]
    colour = np.asarray(NOTE_COLOURS[int(rng.integers(len(NOTE_COLOURS)))], np.float32) * rng.uniform(0.85, 1.0)
    image += note[..., None] * (colour - image)
    marker = rng.random() < 0.5
    digit = _ink(pixels, round(side * rng.uniform(0.3, 0.55)), rng)
    if marker:
        radius = max(1, round(digit.shape[0] / 40))
        digit = cv2.dilate(digit, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
    offset = rng.uniform(-0.1, 0.1, size=2) * side
    top, left = round(centre[1] + offset[1] - digit.shape[0] / 2), round(centre[0] + offset[0] - digit.shape[1] / 2)
    _paint(image, digit, top, left, PEN_COLOURS[int(rng.integers(4))])
    return _camera(image, rng)


def dim_light(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _frame(rng)
    image = _paper(height, width, rng)
    digit = _ink(pixels, round(rng.uniform(0.2, 0.45) * min(height, width)), rng)
    top = round((height - digit.shape[0]) / 2 + rng.uniform(-0.15, 0.15) * height)
    left = round((width - digit.shape[1]) / 2 + rng.uniform(-0.15, 0.15) * width)
    _paint(image, digit, top, left, PEN_COLOURS[int(rng.integers(4))])
    warm = np.asarray([1.0, rng.uniform(0.85, 1.0), rng.uniform(0.6, 0.9)], np.float32)  # indoor light
    return _camera(image * warm, rng, light=float(rng.uniform(0.15, 0.4)), noise=float(rng.uniform(4, 12)))


def worksheet_label(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height, width = _frame(rng)
    image = _paper(height, width, rng)
    size = round(rng.uniform(0.18, 0.35) * min(height, width))
    digit = _ink(pixels, size, rng)
    text = LABELS[int(rng.integers(len(LABELS)))].format(n=int(rng.integers(1, 20)), a="abcdefgh"[int(rng.integers(8))])
    fonts = installed_fonts()
    font = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), max(8, round(size * rng.uniform(0.35, 0.7))))
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    label_box = draw.textbbox((0, 0), text, font=font)
    gap = rng.uniform(0.2, 0.8) * size
    row_top = round((height - digit.shape[0]) / 2 + rng.uniform(-0.15, 0.15) * height)
    left = round(rng.uniform(0.08, 0.25) * width)
    baseline = row_top + (digit.shape[0] + size) / 2  # bottom of the digit's 20 px box
    draw.text((left, baseline - label_box[3]), text, fill=255, font=font)
    digit_left = round(left + label_box[2] + gap - (digit.shape[1] - size) / 2)
    if rng.random() < 0.5:  # a printed answer line under the digit
        y = round(baseline + size * rng.uniform(0.0, 0.1))
        draw.line(
            (digit_left, y, digit_left + round(size * rng.uniform(1.3, 2.5)), y), fill=255, width=max(1, size // 50)
        )
    _paint(image, np.asarray(canvas, np.float32) / 255, 0, 0, PRINT_COLOURS[0])
    _paint(image, digit, row_top, digit_left, PEN_COLOURS[int(rng.integers(4))])
    return _camera(image, rng)


CONDITIONS: dict[str, Render] = {
    "form-box": form_box,
    "sticky-note": sticky_note,
    "dim-light": dim_light,
    "worksheet-label": worksheet_label,
}


def build_conditions(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 150, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, the digits spread over this set's validation images."""
    cases = []
    step = DIGITS_USED // per_condition
    for number, (name, render) in enumerate(CONDITIONS.items()):
        rng = np.random.default_rng([seed, number])
        for k in range(per_condition):
            index = FIRST_DIGIT + (k * step + number) % DIGITS_USED
            cases.append(Case(name, int(train_labels[index]), render(train_pixels[index], rng), index))
    return cases


def sample_cases(
    conditions: dict[str, Render],
    train_pixels: np.ndarray,
    train_labels: np.ndarray,
    per_condition: int,
    seed: int,
    first_digit: int,
    digits_used: int,
) -> list[Case]:
    """``per_condition`` images of each condition, each of a digit drawn at random (without repeats)
    from training images ``first_digit`` to ``first_digit + digits_used``; deterministic for a seed."""
    cases = []
    for number, (name, render) in enumerate(conditions.items()):
        rng = np.random.default_rng([seed, number])
        picks = rng.choice(digits_used, size=per_condition, replace=False)
        for pick in picks:
            index = first_digit + int(pick)
            cases.append(Case(name, int(train_labels[index]), render(train_pixels[index], rng), index))
    return cases


EXAMPLES = Path(__file__).parent / "examples"


def example_files() -> dict[str, Path]:
    """Where one image of each condition is committed (docs/api.md's and the tests' examples)."""
    return {name: EXAMPLES / f"{name}.jpg" for name in CONDITIONS}


def main() -> None:
    """Write the second image of each condition to evaluation/examples/ (``python -m evaluation.conditions``).

    The second, because the first worksheet image is one the service refuses (how many of each
    condition it reads is in docs/accuracy.md); the same position for every condition.
    """
    from train.data import load_split, prepare_mnist  # here: the module itself needs no dataset

    data_dir = Path(__file__).resolve().parent.parent / "data"
    prepare_mnist(data_dir)
    train = load_split(data_dir, train=True)
    cases = build_conditions(train.pixels(), train.labels.numpy())
    for name, path in example_files().items():
        case = [c for c in cases if c.condition == name][1]
        path.write_bytes(case.data)
        print(f"{path}: the digit {case.label} (training image {case.index})")


if __name__ == "__main__":
    main()
