"""Icons for outlier exposure: real pictograms drawn by people, not by this project's generators.

Outlier exposure works best with many real images of things that are not the classes (Hendrycks,
Mazeika and Dietterich, ICLR 2019). Pictograms are what a drawing or a doodle looks like once fitted
into 20x20: a house, a cloud, a bell, a cup, in thin, regular, bold and filled strokes. They come from
two icon fonts that ship inside the ``qtawesome`` wheel (pinned in requirements.txt): Phosphor (MIT)
and Remix Icon (Apache 2.0). The files are read directly; ``qtawesome`` itself needs Qt and is never
imported.

Icons of numerals (``number-7``, ``dice-five``, ``creative-commons-zero``), of letters and quotation
marks, and plain
shapes that are a digit's shape (a circle, a ring, a dash, a line) are left out, as
:data:`train.outliers.LOOKS_LIKE_A_DIGIT` leaves out O and l: refusing them would teach the model to
refuse digits. The evaluation's outliers never read these fonts.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.preprocess import fit_to_mnist_frame
from train.typed import GLYPH_SIZE

ICON_FONTS = (  # (font file, its name -> code point map), in qtawesome's fonts folder
    ("phosphor-1.3.0.ttf", "phosphor-charmap-1.3.0.json"),
    ("remixicon-2.5.0.ttf", "remixicon-charmap-2.5.0.json"),
)
STYLES = frozenset({"thin", "light", "bold", "fill", "duotone", "line"})  # a name's last word, not its subject
NUMERALS = frozenset({*"0123456789", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight"})
NUMERALS |= {"nine", "number", "numbers", "numeric", "digit"}
LETTERING = frozenset({"text", "letter", "alpha", "font", "h", "heading", "paragraph", "quotes"})  # quotes: a 6, a 9
DIGIT_SHAPES = frozenset({"circle", "record", "minus", "subtract", "line", "checkbox-blank-circle", "dot"})


def font_dir() -> Path:
    """qtawesome's fonts folder, found without importing the package (its import needs Qt)."""
    spec = importlib.util.find_spec("qtawesome")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the icon fonts come with qtawesome: pip install -r requirements.txt")
    return Path(spec.submodule_search_locations[0]) / "fonts"


def kept(name: str) -> bool:
    """Whether an icon's name says it is neither a numeral, nor lettering, nor a digit's plain shape."""
    words = name.split("-")
    subject = "-".join(words[:-1]) if len(words) > 1 and words[-1] in STYLES else name
    return not (NUMERALS | LETTERING) & set(words) and subject not in DIGIT_SHAPES


@cache
def icon_glyphs() -> tuple[tuple[str, str], ...]:
    """(font file, character) of every kept icon, in a fixed order."""
    folder = font_dir()
    glyphs = []
    for font, charmap in ICON_FONTS:
        names = json.loads((folder / charmap).read_text())
        glyphs += [(font, chr(int(code, 16))) for name, code in sorted(names.items()) if kept(name)]
    return tuple(glyphs)


@cache
def _font(name: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / name), GLYPH_SIZE)


def icon_image(index: int) -> np.ndarray:
    """Icon ``index`` of :func:`icon_glyphs` in MNIST's frame (28x28, float32 in [0, 1], white on black)."""
    font, char = icon_glyphs()[index]
    side = 2 * GLYPH_SIZE
    canvas = Image.new("L", (side, side), 0)
    ImageDraw.Draw(canvas).text((side // 2, side // 2), char, fill=255, font=_font(font), anchor="mm")
    return fit_to_mnist_frame(np.asarray(canvas, dtype=np.float32) / 255.0)
