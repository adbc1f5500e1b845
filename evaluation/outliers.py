"""The held-out "not a digit" set: uploads that are not one digit, from sources training never reads.

Training's outliers (train/outliers.py) are glyphs in matplotlib's STIX and Computer Modern fonts,
random pen shapes and scribbles, MNIST *training* digits side by side, and synthetic textures. This
set is made by other code from other sources, so its figure measures whether refusing generalises:

- **typed-symbols**: letters and symbols in the machine's own fonts (DejaVu here), photographed on
  paper by evaluation/photos.py's camera (light, tilt, blur, noise, JPEG);
- **doodles**: hand-drawn pictures (a star, a smiley, a house, a sun, a cloud, a flower, a tree, a
  heart, a lightning bolt, an envelope, a cat's face, a check mark, a spiral, an arrow), drawn with
  the hand-drawn digits' pen (evaluation/handdrawn.py) by writers of random slant, size and ink;
- **photos**: real photographs that ship with scikit-image (a cat, an astronaut, faces, coffee,
  coins, a camera man, a rocket, a horse, the moon, a page of text...), cropped as a phone would frame them;
- **numbers**: two or three MNIST *test* digits side by side on paper, as a number is written.

Characters that are a digit's shape in some hand (train/outliers.py's LOOKS_LIKE_A_DIGIT) are left
out, as in training. Deterministic: the same seed gives the same bytes. Frozen: written once, before
the model was tuned, and only reported.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np
from PIL import Image, ImageDraw

from evaluation.handdrawn import _ellipse, catmull_rom
from evaluation.imaging import encode
from evaluation.photos import Scene, installed_fonts, render, typed_digit
from train.outliers import LOOKS_LIKE_A_DIGIT

SEED = 4242
KINDS = ("typed-symbols", "doodles", "photos", "numbers")
SYMBOLS = "".join(c for c in string.ascii_letters + "#$%&*+<=>?@/\\[]{}()~^" if c not in LOOKS_LIKE_A_DIGIT)
# Real photographs in scikit-image's wheel (skimage/data); read as files, the library is not imported.
PHOTO_FILES = (
    "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "coffee.png", "coins.png",
    "color.png", "grass.png", "gravel.png", "horse.png", "hubble_deep_field.jpg", "ihc.png", "logo.png",
    "moon.png", "motorcycle_left.png", "page.png", "retina.jpg", "rocket.jpg", "text.png",
)  # fmt: skip
Point = tuple[float, float]


def _circle(cx: float, cy: float, r: float) -> list[Point]:
    return _ellipse(cx, cy, r, r)


def _rays(cx: float, cy: float, inner: float, outer: float, count: int) -> list[list[Point]]:
    angles = [2 * math.pi * k / count for k in range(count)]
    return [
        [(cx + inner * math.cos(a), cy + inner * math.sin(a)), (cx + outer * math.cos(a), cy + outer * math.sin(a))]
        for a in angles
    ]


def _star() -> list[list[Point]]:
    outline = [
        (
            50 + (40 if k % 2 == 0 else 17) * math.sin(math.pi * k / 5),
            52 - (40 if k % 2 == 0 else 17) * math.cos(math.pi * k / 5),
        )
        for k in range(11)
    ]
    return [outline]


DOODLES: dict[str, list[list[Point]]] = {
    "star": _star(),
    "smiley": [_circle(50, 50, 40), _circle(36, 38, 4), _circle(64, 38, 4), _ellipse(50, 58, 22, 16, 20, 140)],
    "house": [
        [(20, 45), (50, 12), (80, 45)],
        [(25, 42), (25, 90), (75, 90), (75, 42)],
        [(43, 90), (43, 66), (57, 66), (57, 90)],
    ],
    "sun": [_circle(50, 50, 18), *_rays(50, 50, 26, 44, 8)],
    "cloud": [
        [
            *_ellipse(30, 60, 18, 16, 90, 180),
            *_ellipse(45, 40, 20, 20, 180, 180),
            *_ellipse(70, 48, 18, 17, 250, 200),
            (70, 65),
            (30, 76),
        ]
    ],
    "flower": [
        _circle(50, 40, 8),
        *[_ellipse(50 + 18 * math.cos(a), 40 + 18 * math.sin(a), 9, 9) for a in (0, 1.26, 2.51, 3.77, 5.03)],
        [(50, 62), (50, 95)],
        [(50, 80), (66, 70)],
    ],
    "tree": [_circle(50, 36, 28), [(44, 62), (44, 95)], [(56, 62), (56, 95)]],
    "heart": [
        [
            (50, 88),
            (16, 50),
            *_ellipse(32, 34, 17, 17, 150, 200),
            *_ellipse(68, 34, 17, 17, 190, 200),
            (84, 50),
            (50, 88),
        ]
    ],
    "lightning": [[(58, 5), (30, 52), (52, 52), (38, 95), (74, 40), (52, 40), (66, 5)]],
    "envelope": [[(12, 25), (88, 25), (88, 78), (12, 78), (12, 25)], [(12, 25), (50, 55), (88, 25)]],
    "cat-face": [
        _circle(50, 56, 32),
        [(24, 38), (26, 10), (44, 26)],
        [(56, 26), (74, 10), (76, 38)],
        [(10, 58), (38, 62)],
        [(62, 62), (90, 58)],
        _circle(38, 48, 3),
        _circle(62, 48, 3),
    ],
    "check-mark": [[(15, 55), (40, 85), (88, 12)], [(5, 5), (95, 5), (95, 95), (5, 95), (5, 5)]],
    "spiral": [[(50 + 4 * t * math.cos(t), 50 + 4 * t * math.sin(t)) for t in np.linspace(0, 11, 80)]],
    "arrow": [[(10, 50), (90, 50)], [(66, 28), (90, 50), (66, 72)], [(10, 40), (20, 50), (10, 60)]],
}


@dataclass(frozen=True)
class Outlier:
    kind: str
    name: str  # what it is: the character, the doodle, the photo's file
    data: bytes


def _doodle(strokes: list[list[Point]], rng: np.random.Generator) -> bytes:
    """One doodle on a drawing pad, by a writer of random slant, proportions, size, pen and ink."""
    side = int(rng.integers(200, 420))
    paper = tuple(int(v) for v in rng.integers(225, 256, size=3))
    pad = Image.new("RGB", (side, side), paper)
    pen = ImageDraw.Draw(pad)
    slant, squash, size = rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.2), rng.uniform(0.45, 0.85) * side / 100
    centre = rng.uniform(0.4, 0.6, size=2) * side
    ink = tuple(int(v) for v in rng.integers(0, 90, size=3))
    width = max(2, round(rng.uniform(0.012, 0.05) * side))
    for stroke in strokes:
        path = [
            (centre[0] + ((x - 50) * squash - (y - 50) * slant) * size, centre[1] + (y - 50) * size)
            for x, y in catmull_rom(stroke)
        ]
        pen.line(path, fill=ink, width=width, joint="curve")
    return encode(pad, "PNG")


def _crop(photo: Image.Image, rng: np.random.Generator) -> bytes:
    """A crop of 40-100 % of the photo's shorter side, as a phone frames its subject."""
    side = round(min(photo.size) * rng.uniform(0.4, 1.0))
    left, top = (int(rng.integers(0, extent - side + 1)) for extent in photo.size)
    crop = photo.crop((left, top, left + side, top + side))
    return encode(crop, "JPEG", quality=int(rng.integers(75, 95)))


def _number(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """Test digits side by side in dark ink on grey, noisy paper, a photo's JPEG."""
    scale = int(rng.integers(4, 10))
    step = round(28 * scale * rng.uniform(0.55, 0.8))  # MNIST's frame has empty margins
    ink = np.zeros((28 * scale, step * (len(digits) - 1) + 28 * scale), np.float32)
    for i, pixels in enumerate(digits):
        big = cv2.resize(pixels.astype(np.float32) / 255, (28 * scale, 28 * scale), interpolation=cv2.INTER_CUBIC)
        ink[:, i * step : i * step + 28 * scale] = np.maximum(ink[:, i * step : i * step + 28 * scale], big)
    margin = int(rng.integers(30, 200))
    ink = cv2.copyMakeBorder(ink, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    paper = rng.uniform(0.75, 0.95) + rng.normal(0, 0.02, size=ink.shape)
    page = np.clip(paper * (1 - 0.85 * np.clip(ink, 0, 1)), 0, 1)
    page = cv2.GaussianBlur(page.astype(np.float32), (0, 0), 0.3 * scale)
    return encode(Image.fromarray((page * 255).astype(np.uint8)), "JPEG", quality=int(rng.integers(70, 95)))


def build_outliers(test_pixels: np.ndarray, per_kind: int = 200, seed: int = SEED) -> list[Outlier]:
    """``per_kind`` uploads of each kind (``test_pixels``: the MNIST *test* digits, for numbers)."""
    outliers: list[Outlier] = []
    rng = np.random.default_rng([seed, 0])
    fonts = installed_fonts()
    for _ in range(per_kind):
        font, char = fonts[int(rng.integers(len(fonts)))], SYMBOLS[int(rng.integers(len(SYMBOLS)))]
        tilt = float(rng.uniform(-6, 6))
        outliers.append(Outlier("typed-symbols", char, render(typed_digit(font, char), Scene(tilt=tilt), rng)))
    rng = np.random.default_rng([seed, 1])
    names = list(DOODLES)
    for i in range(per_kind):
        name = names[i % len(names)]
        outliers.append(Outlier("doodles", name, _doodle(DOODLES[name], rng)))
    rng = np.random.default_rng([seed, 2])
    folder = resources.files("skimage") / "data"
    photos = [(name, Image.open(folder / name).convert("RGB")) for name in PHOTO_FILES]
    for i in range(per_kind):
        name, photo = photos[i % len(photos)]
        outliers.append(Outlier("photos", name, _crop(photo, rng)))
    rng = np.random.default_rng([seed, 3])
    for _ in range(per_kind):
        picks = rng.integers(len(test_pixels), size=int(rng.integers(2, 4)))
        digits = [test_pixels[i] for i in picks]
        outliers.append(Outlier("numbers", f"{len(digits)} digits", _number(digits, rng)))
    return outliers
