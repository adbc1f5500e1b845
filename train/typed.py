"""Typed digits for training: the ten digits in the fonts that ship with matplotlib (STIX and Computer
Modern, serif, sans, italic, bold and typewriter), fitted into MNIST's frame by the service's own
framing.

MNIST holds only handwriting, and a bold "1" with a foot or a serif "4" is unlike any of it. A few of
these glyphs in every batch (augmented like the handwriting) teach the shapes of print. The machine's
own fonts (DejaVu here) are left out on purpose: evaluation/photos.py tests typed digits in those, so
the typed figures measure fonts the model never saw.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from model.preprocess import fit_to_mnist_frame

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
TRAINING_FONTS = (
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmb10.ttf",
    "cmss10.ttf",
    "cmti10.ttf",
    "cmtt10.ttf",
)
GLYPH_SIZE = 160  # font size of the rendering that is then fitted into 20x20, as an upload would be


def render_digit(font: ImageFont.FreeTypeFont, digit: int) -> np.ndarray:
    """The digit as MNIST-frame ink (28x28, float32 in [0, 1], white on black)."""
    side = 2 * GLYPH_SIZE
    canvas = Image.new("L", (side, side), 0)
    ImageDraw.Draw(canvas).text((side // 2, side // 2), str(digit), fill=255, font=font, anchor="mm")
    return fit_to_mnist_frame(np.asarray(canvas, dtype=np.float32) / 255.0)


def typed_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 1, 28, 28)`` in [0, 1] and their labels: every training font's ten digits."""
    images, labels = [], []
    for name in TRAINING_FONTS:
        font = ImageFont.truetype(str(FONT_DIR / name), GLYPH_SIZE)
        for digit in range(10):
            images.append(torch.from_numpy(render_digit(font, digit)))
            labels.append(digit)
    return torch.stack(images).unsqueeze(1), torch.tensor(labels)


def mix_in(
    images: torch.Tensor,
    labels: torch.Tensor,
    typed: tuple[torch.Tensor, torch.Tensor],
    share: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch with about ``share`` of its images replaced by random typed digits."""
    count = len(images)
    replace = torch.rand(count, generator=generator) < share
    picks = torch.randint(len(typed[1]), (count,), generator=generator)
    mixed = torch.where(replace.view(count, 1, 1, 1), typed[0][picks], images)
    return mixed, torch.where(replace, typed[1][picks], labels)
