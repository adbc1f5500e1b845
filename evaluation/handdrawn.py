"""Hand-drawn digits: strokes as a mouse or finger draws them, rendered onto a drawing pad.

Each digit is a list of strokes (polylines in a 100x100 box, smoothed with Catmull-Rom splines),
drawn by three "writers" that differ in slant, proportions, pen width, position and ink. Run
``python -m evaluation.handdrawn`` to write them to ``evaluation/handdrawn/<digit>_<writer>.png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUTPUT = Path(__file__).parent / "handdrawn"
PAD = 280  # a square drawing pad, in pixels
Point = tuple[float, float]


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = -90, sweep: float = 360) -> list[Point]:
    steps = max(8, int(abs(sweep) / 15))
    angles = (math.radians(start + sweep * k / steps) for k in range(steps + 1))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


STROKES: dict[int, list[list[Point]]] = {
    0: [_ellipse(50, 50, 27, 40)],
    1: [[(36, 24), (52, 10), (52, 92)]],
    2: [[(24, 30), (34, 14), (52, 10), (70, 18), (74, 34), (62, 52), (24, 90), (80, 90)]],
    3: [[(24, 16), (50, 8), (70, 18), (68, 38), (46, 48), (72, 58), (74, 78), (54, 92), (24, 86)]],
    4: [[(58, 8), (20, 64), (80, 64)], [(62, 34), (62, 94)]],
    5: [[(74, 10), (34, 10), (28, 46), (50, 40), (70, 50), (74, 72), (58, 90), (26, 86)]],
    6: [[(66, 10), (42, 26), (28, 56), (32, 82), (52, 92), (70, 80), (68, 60), (48, 52), (30, 64)]],
    7: [[(20, 12), (80, 12), (44, 92)]],
    8: [_ellipse(50, 28, 19, 19, 90, 360), _ellipse(50, 70, 24, 22, -90, 360)],
    9: [[*_ellipse(50, 32, 22, 21, 0, 360), (72, 60), (66, 92)]],
}


@dataclass(frozen=True)
class Writer:
    name: str
    slant: float  # horizontal shear: positive leans right
    squash: float  # width factor
    size: float  # height of the digit on the pad, as a fraction
    pen: int  # stroke width in pad pixels
    offset: Point  # where the digit's centre sits on the pad, as fractions
    ink: tuple[int, int, int]
    paper: tuple[int, int, int]


WRITERS = (
    Writer("a", slant=0.0, squash=1.0, size=0.70, pen=14, offset=(0.5, 0.5), ink=(0, 0, 0), paper=(255, 255, 255)),
    Writer("b", slant=0.25, squash=0.8, size=0.45, pen=9, offset=(0.35, 0.6), ink=(20, 40, 150), paper=(250, 248, 240)),
    Writer(
        "c", slant=-0.1, squash=1.15, size=0.85, pen=22, offset=(0.55, 0.48), ink=(40, 40, 40), paper=(235, 235, 235)
    ),
)


def catmull_rom(points: list[Point], per_segment: int = 12) -> list[Point]:
    """A smooth curve through ``points``, like the path a hand traces."""
    if len(points) < 3:
        return points
    p = np.array([points[0], *points, points[-1]], dtype=np.float64)
    curve = []
    for i in range(1, len(p) - 2):
        for t in np.linspace(0, 1, per_segment, endpoint=False):
            t2, t3 = t * t, t * t * t
            curve.append(
                0.5
                * (
                    (2 * p[i])
                    + (-p[i - 1] + p[i + 1]) * t
                    + (2 * p[i - 1] - 5 * p[i] + 4 * p[i + 1] - p[i + 2]) * t2
                    + (-p[i - 1] + 3 * p[i] - 3 * p[i + 1] + p[i + 2]) * t3
                )
            )
    curve.append(p[-2])
    return [(float(x), float(y)) for x, y in curve]


def draw(digit: int, writer: Writer) -> Image.Image:
    pad = Image.new("RGB", (PAD, PAD), writer.paper)
    pen = ImageDraw.Draw(pad)
    scale = writer.size * PAD / 100
    centre_x, centre_y = writer.offset[0] * PAD, writer.offset[1] * PAD
    for stroke in STROKES[digit]:
        path = [
            (centre_x + ((x - 50) * writer.squash - (y - 50) * writer.slant) * scale, centre_y + (y - 50) * scale)
            for x, y in catmull_rom(stroke)
        ]
        pen.line(path, fill=writer.ink, width=writer.pen, joint="curve")
        radius = writer.pen / 2  # round pen tips
        for x, y in (path[0], path[-1]):
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=writer.ink)
    return pad


def handdrawn_set() -> list[tuple[int, str, Image.Image]]:
    """(digit, writer name, image) for every digit and writer."""
    return [(digit, writer.name, draw(digit, writer)) for digit in STROKES for writer in WRITERS]


def main() -> None:
    OUTPUT.mkdir(exist_ok=True)
    for digit, writer, image in handdrawn_set():
        image.save(OUTPUT / f"{digit}_{writer}.png", optimize=True)
    print(f"wrote {len(STROKES) * len(WRITERS)} drawings to {OUTPUT}")


if __name__ == "__main__":
    main()
