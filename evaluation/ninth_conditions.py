"""A ninth held-out set of everyday conditions, frozen in f160ce2 and read once on its digit finding
(docs/accuracy.md); a development set since.

The eighth held-out set (evaluation/eighth_conditions.py) was read once and is a development set now.
This one is new code (its own paper, hand and camera) with conditions that no earlier set has, from
MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit that
a person reads at a glance:

- **calendar-cell**: written in a day's square of a printed wall calendar, the day's small printed
  number in the square's corner and the neighbouring squares at the frame's edges;
- **thumb-in-frame**: the writer's thumb holds the page down at one edge of the photo;
- **paint-screenshot**: a screenshot (PNG) of a drawing app, the digit drawn with a round brush on its
  canvas, the app's toolbar and colour palette along one side and, half the time, its mouse pointer;
- **security-pattern**: on a cheque's background of fine, pale, wavy printed lines;
- **retraced**: written twice over, the second pass a little off the first;
- **crumpled-paper**: on a sheet crumpled and smoothed out again, creased and unevenly lit.

Deterministic for a seed: no installed font is used (OpenCV's own Hershey font prints the dates).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode

SEED = 9_009_009
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
Rgb = tuple[float, float, float]
INKS: tuple[Rgb, ...] = ((0.06, 0.06, 0.08), (0.08, 0.12, 0.5), (0.12, 0.12, 0.12), (0.35, 0.08, 0.1))


def _paper(rng: np.random.Generator, shape: tuple[int, int] | None = None, tint: Rgb = (0.94, 0.93, 0.9)) -> np.ndarray:
    """A sheet (rows, cols, 3) in [0, 1], darker toward the corners as a phone lens makes it."""
    if shape is None:
        rows = int(rng.integers(640, 1400))
        shape = (rows, int(rows * rng.uniform(0.65, 1.45)))
    rows, cols = shape
    ys, xs = np.ogrid[-1 : 1 : rows * 1j, -1 : 1 : cols * 1j]
    falloff = 1 - rng.uniform(0.05, 0.2) * (xs**2 + ys**2) / 2
    return (falloff[..., None] * np.asarray(tint, np.float32) * rng.uniform(0.9, 1.03)).astype(np.float32)


def _hand(pixels: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """The digit's coverage (side x side) in [0, 1], slanted and turned a little as a hand writes."""
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    slant, turn = rng.uniform(-0.15, 0.15), rng.uniform(-6, 6)
    warp = cv2.getRotationMatrix2D((side / 2, side / 2), turn, 1.0)
    warp[0, 1] += slant
    warp[0, 2] -= slant * side / 2
    return np.clip(cv2.warpAffine(digit, warp, (side, side), flags=cv2.INTER_LINEAR), 0, 1)


def _at(shape: tuple[int, int], patch: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """``patch`` placed with its middle at ``centre`` (x, y) on an empty plane of ``shape``, clipped."""
    plane = np.zeros(shape, np.float32)
    side_y, side_x = patch.shape
    x, y = round(centre[0] - side_x / 2), round(centre[1] - side_y / 2)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + side_x, shape[1]), min(y + side_y, shape[0])
    if x1 > x0 and y1 > y0:
        plane[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]
    return plane


def _apply(sheet: np.ndarray, cover: np.ndarray, colour: Rgb, opacity: float = 1.0) -> None:
    alpha = np.clip(cover * opacity, 0, 1)[..., None]
    sheet *= 1 - alpha
    sheet += alpha * np.asarray(colour, np.float32)


def _camera(sheet: np.ndarray, rng: np.random.Generator) -> bytes:
    """The phone: a little defocus, noise that grows with the light (shot noise), a JPEG."""
    shot = cv2.GaussianBlur(sheet, (0, 0), rng.uniform(0.5, 1.2))
    grain = rng.normal(0, 1, shot.shape).astype(np.float32) * np.sqrt(np.clip(shot, 0, 1)) * rng.uniform(0.008, 0.02)
    image = Image.fromarray(np.round(np.clip(shot + grain, 0, 1) * 255).astype(np.uint8), "RGB")
    return encode(image, "JPEG", quality=int(rng.integers(70, 95)))


def _written_digit(
    sheet: np.ndarray, pixels: np.ndarray, rng: np.random.Generator, centre: tuple[float, float], side: float
) -> np.ndarray:
    """Writes the digit (its 28 px frame ``side`` across) at ``centre`` in a pen; returns its coverage."""
    cover = _at(sheet.shape[:2], _hand(pixels, max(10, round(side)), rng), centre)
    _apply(sheet, cover, INKS[int(rng.integers(len(INKS)))])
    return cover


def _written_page(pixels: np.ndarray, rng: np.random.Generator, size: tuple[float, float], spread: float) -> np.ndarray:
    """A sheet with the digit written ``size`` (a fraction of its shorter side) across, near its middle."""
    sheet = _paper(rng)
    rows, cols = sheet.shape[:2]
    side = min(rows, cols) * rng.uniform(*size)
    centre = (cols * rng.uniform(0.5 - spread, 0.5 + spread), rows * rng.uniform(0.5 - spread, 0.5 + spread))
    _written_digit(sheet, pixels, rng, centre, side)
    return sheet


def calendar_cell(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _paper(rng)
    rows, cols = sheet.shape[:2]
    cell = min(rows, cols) * rng.uniform(0.55, 0.8)
    left, top = cols / 2 - cell / 2 + rng.uniform(-0.08, 0.08) * cell, rows / 2 - cell / 2
    grid = np.zeros((rows, cols), np.float32)
    thickness = max(1, round(cell * rng.uniform(0.004, 0.012)))
    for k in range(-3, 4):
        x, y = round(left + k * cell), round(top + k * cell)
        cv2.line(grid, (x, 0), (x, rows), 1.0, thickness)
        cv2.line(grid, (0, y), (cols, y), 1.0, thickness)
    # Each square's day number in its top corner, printed small.
    day, corner_right = int(rng.integers(1, 25)), rng.random() < 0.5
    scale = cell * rng.uniform(0.12, 0.18) / 22
    for row in range(-2, 3):
        for col in range(-2, 3):
            text = str(day + 7 * row + col)
            if not 1 <= int(text) <= 31:
                continue
            width = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
            x0 = left + col * cell + (cell - width - cell * 0.06 if corner_right else cell * 0.06)
            origin = (round(x0), round(top + row * cell + cell * 0.06 + 22 * scale))
            cv2.putText(grid, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 1.0, max(1, round(scale * 2)), cv2.LINE_AA)
    _apply(sheet, grid, (0.25, 0.25, 0.3), rng.uniform(0.55, 0.9))
    centre = (left + cell * rng.uniform(0.42, 0.58), top + cell * rng.uniform(0.55, 0.62))
    _written_digit(sheet, pixels, rng, centre, cell * rng.uniform(0.55, 0.7))
    return _camera(sheet, rng)


def thumb_in_frame(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _written_page(pixels, rng, (0.25, 0.38), 0.05)
    rows, cols = sheet.shape[:2]
    # A thumb from one edge: a long ellipse reaching a fifth to a third into the frame, its nail paler,
    # shaded toward its sides and casting a soft shadow on the page.
    edge = int(rng.integers(4))
    along, depth = (cols, rows) if edge in (0, 2) else (rows, cols)
    width, reach = along * rng.uniform(0.14, 0.22), depth * rng.uniform(0.2, 0.33)
    position = along * rng.uniform(0.2, 0.8)
    axes_yx = (reach, width / 2)
    skin_tones: tuple[Rgb, ...] = ((0.93, 0.76, 0.65), (0.8, 0.6, 0.46), (0.55, 0.38, 0.27), (0.36, 0.24, 0.17))
    skin = np.asarray(skin_tones[int(rng.integers(len(skin_tones)))], np.float32)
    ys, xs = np.mgrid[0:depth, 0:along].astype(np.float32)
    inside = ((xs - position) / axes_yx[1]) ** 2 + (ys / axes_yx[0]) ** 2
    thumb = np.clip((1 - inside) * 8, 0, 1)
    shadow = cv2.GaussianBlur(np.clip((1.15 - inside) * 3, 0, 1), (0, 0), width * 0.15)
    roundness = np.clip(1 - ((xs - position) / axes_yx[1]) ** 2, 0, 1) ** 0.35
    nail = np.clip(
        (1 - ((xs - position) / (axes_yx[1] * 0.6)) ** 2 - ((ys - reach * 0.72) / (reach * 0.22)) ** 2) * 6, 0, 1
    )
    planes = [thumb, shadow, roundness, nail]
    turns = {0: lambda a: a, 1: lambda a: np.rot90(a, -1), 2: lambda a: a[::-1], 3: lambda a: np.rot90(a, 1)}
    thumb, shadow, roundness, nail = (np.ascontiguousarray(turns[edge](p)) for p in planes)
    sheet *= (1 - rng.uniform(0.25, 0.45) * shadow)[..., None]
    colour = skin[None, None, :] * (0.7 + 0.3 * roundness[..., None]) * rng.uniform(0.85, 1.05)
    colour = colour * (1 - 0.35 * nail[..., None]) + 0.35 * nail[..., None] * np.asarray((0.95, 0.85, 0.82), np.float32)
    sheet[:] = sheet * (1 - thumb[..., None]) + colour * thumb[..., None]
    return _camera(sheet, rng)


def _toolbar(screen: np.ndarray, rng: np.random.Generator, band: int, vertical: bool) -> None:
    """A drawing app's toolbar ``band`` pixels thick along the top or left: tool icons and a palette."""
    chrome = rng.uniform(0.82, 0.94)
    if vertical:
        screen[:, :band] = chrome
    else:
        screen[:band, :] = chrome
    length = screen.shape[0] if vertical else screen.shape[1]
    icon = round(band * 0.6)
    gap = round(band * 0.25)
    step = icon + gap
    palette = rng.random((int(rng.integers(8, 16)), 3)).astype(np.float32)
    for n in range(max(1, (length - gap) // step - 1)):
        a = gap + n * step
        b = (band - icon) // 2
        x, y = (b, a) if vertical else (a, b)
        if n < len(palette):
            cv2.rectangle(screen, (x, y), (x + icon, y + icon), palette[n].tolist(), -1)
        elif n % 3 == 0:
            cv2.circle(screen, (x + icon // 2, y + icon // 2), icon // 3, (0.3, 0.3, 0.3), max(1, icon // 10))
        else:
            cv2.rectangle(screen, (x + icon // 5, y + icon // 5), (x + icon * 4 // 5, y + icon * 4 // 5), (0.3,) * 3, 1)


def _pointer(screen: np.ndarray, tip: tuple[int, int], size: int) -> None:
    """The mouse pointer: a black-edged white arrow with its tip at ``tip``."""
    shape = np.asarray([(0, 0), (0, 16), (4, 12), (7, 18), (9, 17), (6, 11), (11, 11)], np.float32)
    points = np.round(shape * size / 18 + np.asarray(tip, np.float32)).astype(np.int32)
    cv2.fillPoly(screen, [points], (1.0, 1.0, 1.0), cv2.LINE_AA)
    cv2.polylines(screen, [points], True, (0.0, 0.0, 0.0), 1, cv2.LINE_AA)


def paint_screenshot(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    rows = int(rng.integers(600, 1000))
    cols = int(rows * rng.uniform(1.3, 1.78))
    screen = np.full((rows, cols, 3), rng.uniform(0.97, 1.0), np.float32)
    band, vertical = round(rows * rng.uniform(0.06, 0.1)), bool(rng.random() < 0.4)
    _toolbar(screen, rng, band, vertical)
    # The brush: the digit's ink over a third of its range, its edge anti-aliased, broadened to a round brush.
    side = round(min(rows, cols) * rng.uniform(0.3, 0.55))
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    radius = max(1, round(side * rng.uniform(0.0, 0.025)))
    brush = cv2.dilate(
        np.clip((digit - 0.33) * 4, 0, 1), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    )
    canvas_middle = ((cols + (band if vertical else 0)) / 2, (rows + (0 if vertical else band)) / 2)
    centre = (canvas_middle[0] + rng.uniform(-0.15, 0.15) * cols, canvas_middle[1] + rng.uniform(-0.1, 0.1) * rows)
    colours: tuple[Rgb, ...] = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.85, 0.1, 0.1), (0.1, 0.2, 0.85), (0.1, 0.5, 0.15))
    _apply(screen, _at((rows, cols), brush, centre), colours[int(rng.integers(len(colours)))])
    if rng.random() < 0.5:
        tip = (round(centre[0] + side * rng.uniform(0.55, 0.8)), round(centre[1] + side * rng.uniform(-0.3, 0.3)))
        _pointer(screen, tip, max(12, round(rows * 0.025)))
    image = Image.fromarray(np.round(np.clip(screen, 0, 1) * 255).astype(np.uint8), "RGB")
    return encode(image, "PNG")


def security_pattern(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    tints: tuple[Rgb, ...] = ((0.88, 0.94, 0.97), (0.9, 0.96, 0.88), (0.97, 0.9, 0.92), (0.95, 0.93, 0.85))
    sheet = _paper(rng, tint=tints[int(rng.integers(len(tints)))])
    rows, cols = sheet.shape[:2]
    # Guilloche: families of fine sine waves, their phase drifting, printed pale over the whole cheque.
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    pattern = np.zeros((rows, cols), np.float32)
    for _ in range(int(rng.integers(2, 4))):
        pitch = min(rows, cols) * rng.uniform(0.012, 0.03)
        wave = (
            rng.uniform(0.02, 0.08)
            * min(rows, cols)
            * np.sin(xs / (cols * rng.uniform(0.08, 0.25)) + rng.uniform(0, 6.3))
        )
        phase = (ys + wave) / pitch
        pattern = np.maximum(
            pattern, np.clip(1 - np.abs(phase - np.round(phase)) * pitch / rng.uniform(0.6, 1.4), 0, 1)
        )
    middle = np.asarray(sheet[rows // 2, cols // 2]) * rng.uniform(0.6, 0.8)
    pattern_colour: Rgb = (float(middle[0]), float(middle[1]), float(middle[2]))
    _apply(sheet, pattern, pattern_colour, rng.uniform(0.5, 1.0))
    side = min(rows, cols) * rng.uniform(0.25, 0.4)
    _written_digit(sheet, pixels, rng, (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6)), side)
    return _camera(sheet, rng)


def retraced(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _paper(rng)
    rows, cols = sheet.shape[:2]
    side = round(min(rows, cols) * rng.uniform(0.25, 0.4))
    centre = (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6))
    ink = INKS[int(rng.integers(len(INKS)))]
    first = _hand(pixels, side, rng)
    _apply(sheet, _at((rows, cols), first, centre), ink, rng.uniform(0.6, 0.9))
    # The second pass goes over the first, a little off it and turned, as a writer retraces a digit.
    shift = side * rng.uniform(0.015, 0.04)
    angle = rng.uniform(0, 2 * math.pi)
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-3, 3), rng.uniform(0.97, 1.03))
    second = np.clip(cv2.warpAffine(first, turn, (side, side)), 0, 1)
    again = (centre[0] + shift * math.cos(angle), centre[1] + shift * math.sin(angle))
    _apply(sheet, _at((rows, cols), second, again), ink)
    return _camera(sheet, rng)


def crumpled_paper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _written_page(pixels, rng, (0.25, 0.4), 0.1)
    rows, cols = sheet.shape[:2]
    # The paper's relief: creases (ridges along random straight lines) over a soft bumpy field; lit
    # from one side, each facet is lighter or darker, and the sheet shifts a little along the relief.
    height = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)).astype(np.float32), (0, 0), min(rows, cols) * 0.08)
    height /= np.abs(height).max() + 1e-6
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    for _ in range(int(rng.integers(6, 14))):
        turn, through = rng.uniform(0, math.pi), (rng.uniform(0, cols), rng.uniform(0, rows))
        distance = (xs - through[0]) * math.sin(turn) - (ys - through[1]) * math.cos(turn)
        height += (
            rng.uniform(0.15, 0.4) * rng.choice([-1.0, 1.0]) * np.exp(-np.abs(distance) / (min(rows, cols) * 0.04))
        )
    light = rng.uniform(0, 2 * math.pi)
    slope_x, slope_y = np.gradient(height)
    shade = 1 + rng.uniform(0.01, 0.025) * (slope_x * math.cos(light) + slope_y * math.sin(light)) * min(rows, cols)
    shift = rng.uniform(0.004, 0.01) * min(rows, cols)
    map_x, map_y = xs + shift * height, ys + shift * np.roll(height, 7, axis=0)
    bent = cv2.remap(sheet, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return _camera(bent * np.clip(shade, 0.55, 1.1)[..., None].astype(np.float32), rng)


NINTH: dict[str, Render] = {
    "calendar-cell": calendar_cell,
    "thumb-in-frame": thumb_in_frame,
    "paint-screenshot": paint_screenshot,
    "security-pattern": security_pattern,
    "retraced": retraced,
    "crumpled-paper": crumpled_paper,
}


def build_ninth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(NINTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
