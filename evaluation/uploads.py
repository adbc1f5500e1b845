"""A user-upload evaluation set built from MNIST *test* digits (never training ones).

Each variant renders a digit the way a real upload looks: dark ink on paper, enlarged, placed off
centre on a bigger canvas, in another file format or colour. The set is deterministic: the same
seed and digits give the same files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from evaluation.imaging import encode

SEED = 2026
INK_COLOURS = ((20, 40, 160), (170, 20, 30), (20, 110, 40), (60, 60, 60))  # blue, red, green, graphite


@dataclass(frozen=True)
class Upload:
    variant: str
    index: int  # position in the MNIST test set
    data: bytes


def _on_paper(pixels: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Dark ink on slightly grey, slightly noisy paper, enlarged 4-10x and placed off centre."""
    side = int(rng.integers(112, 281))
    digit = Image.fromarray(255 - pixels).resize((side, side), Image.Resampling.BICUBIC)
    width, height = side + int(rng.integers(40, 400)), side + int(rng.integers(40, 300))
    paper = int(rng.integers(215, 256))
    noise = rng.normal(0, 6, size=(height, width))
    canvas = Image.fromarray(np.clip(paper + noise, 0, 255).astype(np.uint8))
    ink = Image.fromarray(pixels).resize((side, side), Image.Resampling.BICUBIC)  # how much ink where
    place = (int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1)))
    canvas.paste(digit, place, mask=ink)
    return canvas


def _coloured(pixels: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Coloured ink on white, off centre: an RGB image whose luma is not its ink."""
    gray = _on_paper(pixels, rng)
    colour = np.array(INK_COLOURS[int(rng.integers(len(INK_COLOURS)))], dtype=np.float64)
    amount = 1.0 - np.asarray(gray, dtype=np.float64) / 255.0  # 0 on paper, 1 at full ink
    rgb = 255.0 * (1 - amount[..., None]) + colour * amount[..., None]
    return Image.fromarray(rgb.round().astype(np.uint8), mode="RGB")


def _transparent(pixels: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Black ink on a transparent canvas, as drawing apps export it."""
    side = int(rng.integers(112, 281))
    alpha = Image.fromarray(pixels).resize((side, side), Image.Resampling.BICUBIC)
    image = Image.new("RGBA", (side + 60, side + 60), (0, 0, 0, 0))
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 255))
    layer.putalpha(alpha)
    image.paste(layer, (int(rng.integers(0, 61)), int(rng.integers(0, 61))))
    return image


def _sixteen_bit(pixels: np.ndarray, rng: np.random.Generator) -> Image.Image:
    paper = np.asarray(_on_paper(pixels, rng), dtype=np.uint16) * 257
    return Image.fromarray(paper)


Variant = Callable[[np.ndarray, np.random.Generator], bytes]

VARIANTS: dict[str, Variant] = {
    "mnist-png": lambda p, r: encode(Image.fromarray(p), "PNG"),
    "inverted-png": lambda p, r: encode(Image.fromarray(255 - p), "PNG"),
    "scaled-png": lambda p, r: encode(Image.fromarray(255 - p).resize((224, 224), Image.Resampling.BICUBIC), "PNG"),
    "off-centre-png": lambda p, r: encode(_on_paper(p, r), "PNG"),
    "jpeg": lambda p, r: encode(_on_paper(p, r).convert("RGB"), "JPEG", quality=int(r.integers(50, 95))),
    "rgba-png": lambda p, r: encode(_transparent(p, r), "PNG"),
    "palette-png": lambda p, r: encode(_on_paper(p, r).convert("P"), "PNG"),
    "16bit-png": lambda p, r: encode(_sixteen_bit(p, r), "PNG"),
    "bmp": lambda p, r: encode(_on_paper(p, r).convert("RGB"), "BMP"),
    "webp": lambda p, r: encode(_on_paper(p, r).convert("RGB"), "WEBP", quality=80),
    "gif": lambda p, r: encode(_on_paper(p, r).convert("P"), "GIF"),
    "coloured-ink-png": lambda p, r: encode(_coloured(p, r), "PNG"),
}


def build_uploads(pixels: np.ndarray, indices: range, seed: int = SEED) -> list[Upload]:
    """Every variant of every chosen test digit; ``pixels`` is the (N, 28, 28) uint8 test set."""
    uploads = []
    for name, render in VARIANTS.items():
        rng = np.random.default_rng([seed, len(uploads)])
        uploads.extend(Upload(name, i, render(pixels[i], rng)) for i in indices)
    return uploads
