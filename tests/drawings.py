"""Drawings that are not digits, for the tests and docs of "not a digit". ``python -m tests.drawings``
writes the star that docs/api.md sends, ``evaluation/examples/star.png``."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

from evaluation.imaging import encode
from harness.launcher import ROOT

STAR_FILE = ROOT / "evaluation" / "examples" / "star.png"


def star_png() -> bytes:
    """A five-pointed star drawn with a pen on paper: something, but no digit."""
    page = Image.new("L", (300, 300), 245)
    radii = [120 if k % 2 == 0 else 48 for k in range(10)]
    outline = [(150 + r * math.sin(math.pi * k / 5), 160 - r * math.cos(math.pi * k / 5)) for k, r in enumerate(radii)]
    ImageDraw.Draw(page).line([*outline, outline[0]], fill=20, width=10, joint="curve")
    return encode(page, "PNG")


if __name__ == "__main__":
    STAR_FILE.write_bytes(star_png())
    print(f"wrote {STAR_FILE.relative_to(ROOT)}")
