"""A photo-like evaluation set: MNIST *test* digits (and typed digits) as a phone camera sees them.

Each image is a page photographed at 500-1,400 px, with a little blur, sensor noise, a white-balance
cast and JPEG compression, as every phone photo has. Each variant then adds **one** difficulty: light
falling off across the page, a shadow in a corner, the table at the border, a tilted page, camera
shake, heavy noise, strong JPEG, ruled or squared paper, pencil, marker, blue or red ink; and typed
digits in every font installed on the machine. Deterministic: the same seed and digits give the same
bytes. Nothing here is used by the preprocessing or by training, so the set measures, it does not teach.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evaluation.imaging import encode

SEED = 2027
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
TYPED_MINIMUM = 300  # typed images at least, whatever the number of fonts


@dataclass
class Scene:
    """What the camera sees; each variant changes one field from the even-light default."""

    ink: tuple[float, float, float] = (0.12, 0.12, 0.16)  # RGB in [0, 1]
    ink_strength: float = 1.0  # 1: full ink; pencil is fainter
    stroke: float = 0.0  # dilation (+) or erosion (-) of the strokes, in MNIST pixels
    light: str = "even"  # even, gradient, shadow
    page_edge: bool = False
    tilt: float = 0.0  # degrees
    blur: float = 0.35  # camera blur sigma, in MNIST pixels
    noise: float = 3.0  # sensor noise sigma, of 255
    quality: int = 92  # JPEG
    ruling: str = "none"  # none, ruled, squared
    extras: dict[str, float] = field(default_factory=dict)


def _mask_at_scale(pixels: np.ndarray, scale: float, scene: Scene) -> np.ndarray:
    """The digit's ink coverage in [0, 1], ``scale`` photo pixels per MNIST pixel, tilted and thickened."""
    side = max(8, round(28 * scale))
    mask = cv2.resize(pixels.astype(np.float32) / 255.0, (side, side), interpolation=cv2.INTER_CUBIC)
    mask = np.clip(mask, 0.0, 1.0)
    if scene.stroke > 0:  # a broader pen: the strokes dilated
        radius = round(scene.stroke * scale)
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    elif scene.stroke < 0:  # a finer pen: each stroke's centre line, redrawn |stroke| MNIST pixels wide
        shape = (mask >= 0.3).astype(np.uint8)
        distance = cv2.distanceTransform(shape, cv2.DIST_L2, 5)
        # The ridge of the distance map (near its local maximum) is the centre line.
        ridge = distance >= cv2.dilate(distance, np.ones((3, 3), np.uint8)) - 0.3
        centre = (ridge & (distance >= 1.0)).astype(np.float32)
        radius = max(1, round(-scene.stroke * scale / 2))
        mask = cv2.dilate(centre, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, radius / 3))
    if scene.tilt:
        pad = side // 4
        mask = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        centre = (mask.shape[1] / 2, mask.shape[0] / 2)
        rotation = cv2.getRotationMatrix2D(centre, scene.tilt, 1.0)
        mask = cv2.warpAffine(mask, rotation, mask.shape[::-1], flags=cv2.INTER_LINEAR)
    return mask


def _illumination(height: int, width: int, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if scene.light == "gradient":  # from about 95 % to 55 % of full light, in a random direction
        angle = rng.uniform(0, 2 * math.pi)
        ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / math.hypot(width, height)
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        return 1.0 - float(rng.uniform(0.35, 0.45)) * ramp
    if scene.light == "shadow":  # a soft dark blob over one corner: a hand or the phone
        corner_x, corner_y = rng.choice([0, width]), rng.choice([0, height])
        radius = rng.uniform(0.35, 0.6) * math.hypot(width, height)
        distance = np.hypot(xs - corner_x, ys - corner_y) / radius
        softness = rng.uniform(0.15, 0.35)
        shade = 1.0 / (1.0 + np.exp((distance - 1.0) / softness))
        return 1.0 - float(rng.uniform(0.35, 0.5)) * shade
    return np.ones((height, width), np.float32)


def _ruling(height: int, width: int, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Darkness of printed lines on the paper, in [0, 1]."""
    lines = np.zeros((height, width), np.float32)
    if scene.ruling == "none":
        return lines
    spacing = max(8, round(rng.uniform(0.035, 0.075) * min(height, width)))
    thickness = max(1, round(min(height, width) / rng.uniform(300, 600)))
    offset = int(rng.integers(spacing))
    for y in range(offset, height, spacing):
        cv2.line(lines, (0, y), (width, y), 1.0, thickness)
    if scene.ruling == "squared":
        for x in range(int(rng.integers(spacing)), width, spacing):
            cv2.line(lines, (x, 0), (x, height), 1.0, thickness)
    elif rng.random() < 0.5:  # a margin line
        x = round(rng.uniform(0.08, 0.2) * width)
        cv2.line(lines, (x, 0), (x, height), 1.0, thickness + 1)
    return lines * float(rng.uniform(0.25, 0.45))


def render(pixels: np.ndarray, scene: Scene, rng: np.random.Generator) -> bytes:
    """A photo (JPEG) of the 28x28 ink coverage ``pixels`` written on a page as ``scene`` says."""
    long_side = int(rng.integers(500, 1401))
    short_side = round(long_side * 0.75)
    height, width = (long_side, short_side) if rng.random() < 0.5 else (short_side, long_side)
    scale = rng.uniform(0.22, 0.45) * min(height, width) / 20  # the digit's 20 px box: 22-45 % of the photo
    mask = _mask_at_scale(pixels, scale, scene) * scene.ink_strength
    if "grain" in scene.extras:  # graphite leaves a broken, grainy line
        grain = rng.uniform(1 - scene.extras["grain"], 1.0, size=mask.shape).astype(np.float32)
        mask *= cv2.GaussianBlur(grain, (0, 0), 0.6)
    coverage = np.zeros((height, width), np.float32)
    top = round((height - mask.shape[0]) / 2 + rng.uniform(-0.15, 0.15) * height)
    left = round((width - mask.shape[1]) / 2 + rng.uniform(-0.15, 0.15) * width)
    top, left = min(max(top, 0), height - mask.shape[0]), min(max(left, 0), width - mask.shape[1])
    coverage[top : top + mask.shape[0], left : left + mask.shape[1]] = mask[: height - top, : width - left]

    paper = np.array([rng.uniform(0.86, 0.96)] * 3, np.float32) * rng.uniform(0.96, 1.0, size=3).astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    image[:] = paper
    if scene.ruling != "none":
        line_colour = np.array([0.35, 0.45, 0.75], np.float32)  # the light blue of printed rulings
        ruling = _ruling(height, width, scene, rng)[..., None]
        image -= ruling * (paper * (1 - line_colour))
    # Ink over the paper, only where the digit is.
    area = image[top : top + mask.shape[0], left : left + mask.shape[1]]
    cover = coverage[top : top + mask.shape[0], left : left + mask.shape[1], None]
    area += cover * (np.array(scene.ink, np.float32) - area)
    if scene.page_edge:
        image = _on_table(image, rng)
    if scene.light != "even":
        image *= _illumination(height, width, scene, rng)[..., None]
    image = cv2.GaussianBlur(image, (0, 0), max(0.3, scene.blur * scale / 2))
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(scene.noise / 255)
    rgb = cv2.convertScaleAbs(image, alpha=255.0)  # saturating cast to uint8, rounded
    return encode(Image.fromarray(rgb, mode="RGB"), "JPEG", quality=scene.quality)


def _on_table(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The page slightly turned and shifted, so a dark, textured table shows along one or two sides."""
    height, width = page.shape[:2]
    angle = rng.uniform(-6, 6)
    shift = rng.uniform(0.04, 0.12, size=2) * (width, height) * rng.choice([-1, 1], size=2)
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    rotation[:, 2] += shift
    table = np.full_like(page, rng.uniform(0.1, 0.35)) * np.array([1.0, 0.8, 0.6], np.float32)  # wood-ish
    table *= cv2.GaussianBlur(rng.uniform(0.8, 1.2, size=(height, width)).astype(np.float32), (0, 0), 2)[..., None]
    cover = cv2.warpAffine(np.ones((height, width), np.float32), rotation, (width, height))[..., None]
    moved = cv2.warpAffine(page, rotation, (width, height), flags=cv2.INTER_LINEAR)
    return moved * cover + table * (1 - cover)


BLUE, RED = (0.12, 0.2, 0.62), (0.78, 0.12, 0.12)
VariantScene = Callable[[np.random.Generator], Scene]

VARIANTS: dict[str, VariantScene] = {
    "photo-even-light": lambda r: Scene(),
    "photo-gradient": lambda r: Scene(light="gradient"),
    "photo-shadow": lambda r: Scene(light="shadow"),
    "photo-page-edge": lambda r: Scene(page_edge=True),
    "photo-tilt": lambda r: Scene(tilt=float(r.uniform(-8, 8))),
    "photo-blur": lambda r: Scene(blur=float(r.uniform(0.8, 1.5))),
    "photo-noise": lambda r: Scene(noise=float(r.uniform(12, 25))),
    "photo-jpeg": lambda r: Scene(quality=int(r.integers(60, 91))),
    "photo-ruled": lambda r: Scene(ruling="ruled"),
    "photo-squared": lambda r: Scene(ruling="squared"),
    "photo-pencil": lambda r: Scene(
        ink=(0.3, 0.3, 0.32), ink_strength=float(r.uniform(0.45, 0.7)), stroke=-1.0, extras={"grain": 0.4}
    ),
    "photo-marker": lambda r: Scene(ink=(0.05, 0.05, 0.05), stroke=float(r.uniform(0.6, 1.2))),
    "photo-ballpoint": lambda r: Scene(ink=BLUE, stroke=-0.8),
    "photo-blue-ink": lambda r: Scene(ink=BLUE),
    "photo-red-ink": lambda r: Scene(ink=RED),
}


@dataclass(frozen=True)
class Photo:
    variant: str
    label: int
    data: bytes
    index: int = -1  # position in the MNIST test set; -1 for typed digits


def build_photos(pixels: np.ndarray, labels: np.ndarray, indices: range, seed: int = SEED) -> list[Photo]:
    """Every handwritten variant of every chosen test digit (``pixels``: the (N, 28, 28) uint8 test set)."""
    photos = []
    for number, (name, scene_of) in enumerate(VARIANTS.items()):
        rng = np.random.default_rng([seed, number])
        photos.extend(Photo(name, int(labels[i]), render(pixels[i], scene_of(rng), rng), i) for i in indices)
    return photos


@cache
def installed_fonts() -> tuple[Path, ...]:
    """Every TrueType/OpenType font on the machine that draws the ten digits."""
    found = sorted(p for d in FONT_DIRS if d.is_dir() for p in d.rglob("*") if p.suffix.lower() in {".ttf", ".otf"})
    usable = []
    for path in found:
        try:
            font = ImageFont.truetype(str(path), 40)
        except OSError:
            continue
        boxes = [font.getbbox(str(d)) for d in range(10)]
        if all(b[2] > b[0] and b[3] > b[1] for b in boxes):
            usable.append(path)
    return tuple(usable)


def typed_digit(font_path: Path, digit: int | str) -> np.ndarray:
    """The digit (or any character) in that font as 28x28 ink coverage, fitted as MNIST fits a digit
    (20 px box)."""
    font = ImageFont.truetype(str(font_path), 200)
    canvas = Image.new("L", (320, 320), 0)
    ImageDraw.Draw(canvas).text((160, 160), str(digit), fill=255, font=font, anchor="mm")
    box = canvas.getbbox() or (0, 0, 320, 320)
    glyph = canvas.crop(box)
    fit = 20 / max(glyph.size)
    glyph = glyph.resize(
        (max(1, round(glyph.width * fit)), max(1, round(glyph.height * fit))), Image.Resampling.LANCZOS
    )
    frame = Image.new("L", (28, 28), 0)
    frame.paste(glyph, ((28 - glyph.width) // 2, (28 - glyph.height) // 2))
    return np.asarray(frame)


def typed_cases(fonts: tuple[Path, ...]) -> Iterator[tuple[Path, int, bool]]:
    """Font, digit, rotated: each font's ten digits upright and slightly rotated, repeated to the minimum."""
    per_round = 20 * len(fonts)
    rounds = -(-TYPED_MINIMUM // per_round) if per_round else 0
    for _ in range(rounds):
        for font in fonts:
            for digit in range(10):
                yield font, digit, False
                yield font, digit, True


def build_typed(seed: int = SEED) -> list[Photo]:
    """Typed digits, photographed: every installed font, upright and rotated by 2-6 degrees."""
    rng = np.random.default_rng([seed, len(VARIANTS)])
    photos = []
    for font, digit, rotated in typed_cases(installed_fonts()):
        tilt = float(rng.uniform(2, 6) * rng.choice([-1, 1])) if rotated else 0.0
        scene = replace(Scene(tilt=tilt), ink=(0.08, 0.08, 0.08))
        photos.append(Photo("typed", digit, render(typed_digit(font, digit), scene, rng)))
    return photos
