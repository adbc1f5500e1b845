"""The third held-out "not a digit" set, written and frozen before the icon outliers were trained.

The second set (evaluation/heldout_outliers.py) has been read for several recipes, so it no longer
measures only what generalises. This one is new code and a new seed, read once for the model it was
written for and reported:

- **other-icons**: pictograms from icon fonts training never reads (Font Awesome 6, regular and
  solid, and Material Design Icons 6, all from the ``qtawesome`` wheel; training reads Phosphor and
  Remix Icon from it), printed on paper and photographed by evaluation/photos.py's camera;
- **dingbats**: the Miscellaneous Symbols and Dingbats of DejaVu Sans (the copy in matplotlib's
  wheel, so every machine draws the same bytes): chess pieces, weather, hands, stars, arrows,
  printed and photographed the same way.

Icons are left out by train/icons.py's rule (numerals, lettering, plain digit shapes), and symbols
by the same rule on their Unicode names (numerals, letters, brackets, quotation marks, a plain
circle or ring), as
train/outliers.py's LOOKS_LIKE_A_DIGIT leaves out O and l everywhere.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import matplotlib
import numpy as np
from fontTools.ttLib import TTFont

from evaluation.outliers import Outlier
from evaluation.photos import Scene, render, typed_digit
from train.icons import font_dir, kept

SEED = 31130
KINDS = ("other-icons", "dingbats")
OTHER_ICON_FONTS = (
    ("fontawesome6-regular-webfont-6.7.2.ttf", "fontawesome6-regular-webfont-charmap-6.7.2.json"),
    ("fontawesome6-solid-webfont-6.7.2.ttf", "fontawesome6-solid-webfont-charmap-6.7.2.json"),
    ("materialdesignicons6-webfont-6.9.96.ttf", "materialdesignicons6-webfont-charmap-6.9.96.json"),
)
DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
SYMBOL_BLOCKS = (range(0x2600, 0x2700), range(0x2700, 0x27C0))  # Miscellaneous Symbols, Dingbats
NUMERALS = {"DIGIT", "NUMBER", "NUMERAL", "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT"}
NOT_OUTLIER_WORDS = frozenset(NUMERALS | {"NINE", "TEN", "LETTER"})
NOT_OUTLIER_WORDS |= {"PARENTHESIS", "BRACKET", "QUOTATION", "COMMA", "MONOGRAM"}  # a 1's stroke, a 6 or 9, a dash
PLAIN_SHAPES = ("CIRCLE", "RING", "VERTICAL BAR", "VERTICAL LINE", "DASH", "HYPHEN", "MINUS")


def other_icons() -> list[tuple[Path, str]]:
    """(font, character) of every kept icon in the fonts training never reads."""
    icons = []
    for font, charmap in OTHER_ICON_FONTS:
        names = json.loads((font_dir() / charmap).read_text())
        icons += [(font_dir() / font, chr(int(code, 16))) for name, code in sorted(names.items()) if kept(name)]
    return icons


def dingbats() -> list[str]:
    """Symbols DejaVu Sans draws in the two blocks, without numerals, letters or plain shapes."""
    drawn = TTFont(DEJAVU).getBestCmap()  # the code points the font has a glyph for
    chosen = []
    for block in SYMBOL_BLOCKS:
        for code in block:
            name = unicodedata.name(chr(code), "")
            if code not in drawn or not name or NOT_OUTLIER_WORDS & set(name.split()) or name.endswith(PLAIN_SHAPES):
                continue
            chosen.append(chr(code))
    return chosen


def _photographed(font: Path, char: str, rng: np.random.Generator) -> bytes:
    scene = Scene(tilt=float(rng.uniform(-8, 8)), light=str(rng.choice(["even", "gradient", "shadow"])))
    return render(typed_digit(font, char), scene, rng)


def build_third_outliers(per_kind: int = 150, seed: int = SEED) -> list[Outlier]:
    """``per_kind`` uploads of each kind, the same bytes for the same seed."""
    outliers: list[Outlier] = []
    rng = np.random.default_rng([seed, 0])
    icons = other_icons()
    for i in rng.choice(len(icons), size=per_kind, replace=False):
        font, char = icons[int(i)]
        outliers.append(Outlier("other-icons", f"{font.name} U+{ord(char):04X}", _photographed(font, char, rng)))
    rng = np.random.default_rng([seed, 1])
    symbols = dingbats()
    for i in rng.choice(len(symbols), size=per_kind, replace=False):
        char = symbols[int(i)]
        outliers.append(Outlier("dingbats", unicodedata.name(char), _photographed(DEJAVU, char, rng)))
    return outliers
