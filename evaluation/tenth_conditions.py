"""A tenth held-out set of everyday conditions, frozen unread in 38bfa7a and read once on 1d75307's
digit finding (docs/accuracy.md); a development set since.

The ninth held-out set (evaluation/ninth_conditions.py) was read once and is a development set now.
This one is new code (its own sheet, pen and phone) with conditions that no earlier set has, from
MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit that
a person reads at a glance:

- **spiral-notebook**: on a page of a spiral notebook, its wire coil along one edge, each turn a dark
  loop over its punched hole;
- **timestamp-overlay**: the camera has printed the date and time (orange digits) into a corner;
- **dark-mode-app**: a screenshot (PNG) of a phone's notes app in dark mode, the digit a light stroke
  on the dark canvas, with the phone's status bar (its clock) above and the app's tool row below;
- **brush-pen**: written with a chisel-tip marker, its stroke broad in one direction and thin in the
  other;
- **aged-paper**: on an old, yellowed sheet with foxing (brown spots, small and large) and darker edges;
- **on-palm**: written in pen on the palm of a hand, its creases and the skin's shading around it.

Deterministic for a seed: no installed font is used (OpenCV's Hershey fonts print the text).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode

SEED = 10_010_010
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
Colour = tuple[float, float, float]
PENS: tuple[Colour, ...] = ((0.05, 0.05, 0.07), (0.1, 0.15, 0.55), (0.15, 0.13, 0.12), (0.05, 0.3, 0.45))


def _sheet(rng: np.random.Generator, colour: Colour = (0.95, 0.94, 0.91)) -> np.ndarray:
    """An evenly lit sheet, rows x cols x 3 in [0, 1], its size and shape a phone photo's."""
    rows = int(rng.integers(600, 1300))
    cols = int(rows * rng.uniform(0.7, 1.4))
    level = rng.uniform(0.88, 1.02)
    return np.broadcast_to(np.asarray(colour, np.float32) * level, (rows, cols, 3)).copy()


def _stroke_plane(pixels: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """The digit's ink (side x side) in [0, 1], a little turned and sheared as a hand writes it."""
    ink = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_LINEAR)
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-7, 7), rng.uniform(0.95, 1.05))
    shear = rng.uniform(-0.12, 0.12)
    matrix[0, 1] += shear
    matrix[0, 2] -= shear * side / 2
    return np.clip(cv2.warpAffine(ink, matrix, (side, side)), 0, 1)


def _place(rows: int, cols: int, patch: np.ndarray, middle: tuple[float, float]) -> np.ndarray:
    """A rows x cols plane holding ``patch`` centred on ``middle`` (x, y); what falls outside is cut."""
    plane = np.zeros((rows, cols), np.float32)
    height, width = patch.shape
    left, top = round(middle[0] - width / 2), round(middle[1] - height / 2)
    bottom, right = height - max(0, top + height - rows), width - max(0, left + width - cols)
    src = patch[max(0, -top) : bottom, max(0, -left) : right]
    if src.size:
        plane[max(0, top) : max(0, top) + src.shape[0], max(0, left) : max(0, left) + src.shape[1]] = src
    return plane


def _ink(sheet: np.ndarray, coverage: np.ndarray, colour: Colour, strength: float = 1.0) -> None:
    """Lays ``colour`` over the sheet where ``coverage`` is, in place."""
    weight = (np.clip(coverage, 0, 1) * strength)[..., None]
    sheet[:] = sheet * (1 - weight) + np.asarray(colour, np.float32) * weight


def _phone(sheet: np.ndarray, rng: np.random.Generator) -> bytes:
    """The photo: soft focus, light falling off to one side, sensor noise and a JPEG."""
    rows, cols = sheet.shape[:2]
    angle = rng.uniform(0, 2 * math.pi)
    ramp = np.add.outer(np.linspace(-0.5, 0.5, rows) * math.sin(angle), np.linspace(-0.5, 0.5, cols) * math.cos(angle))
    lit = sheet * (1 - rng.uniform(0.0, 0.25) * (ramp + 0.5))[..., None].astype(np.float32)
    soft = cv2.GaussianBlur(lit, (0, 0), rng.uniform(0.6, 1.3))
    noisy = soft + rng.normal(0, rng.uniform(0.006, 0.02), soft.shape).astype(np.float32)
    picture = Image.fromarray((np.clip(noisy, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")
    return encode(picture, "JPEG", quality=int(rng.integers(65, 93)))


def _digit_in_middle(sheet: np.ndarray, pixels: np.ndarray, rng: np.random.Generator, size: float) -> np.ndarray:
    """Writes the digit near the sheet's middle, its frame ``size`` of the shorter side; its coverage."""
    rows, cols = sheet.shape[:2]
    side = max(12, round(min(rows, cols) * size))
    middle = (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6))
    coverage = _place(rows, cols, _stroke_plane(pixels, side, rng), middle)
    _ink(sheet, coverage, PENS[int(rng.integers(len(PENS)))])
    return coverage


def spiral_notebook(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    # The coil along the left edge (the sheet is turned before the digit is written): holes, then a
    # wire loop over each.
    pitch = min(rows, cols) * rng.uniform(0.035, 0.06)
    hole_r, inset = pitch * 0.22, pitch * rng.uniform(0.7, 1.1)
    holes, wire = np.zeros((rows, cols), np.float32), np.zeros((rows, cols), np.float32)
    width = max(2, round(pitch * rng.uniform(0.1, 0.18)))
    for n in range(int(rows / pitch) + 1):
        y = round(pitch / 2 + n * pitch)
        cv2.circle(holes, (round(inset), y), max(2, round(hole_r)), 1.0, -1, cv2.LINE_AA)
        axes = (round(inset * 0.9), max(2, round(pitch * 0.28)))
        cv2.ellipse(wire, (round(inset * 0.5), y), axes, -15, 100, 340, 1.0, width, cv2.LINE_AA)
    _ink(sheet, holes, (0.22, 0.2, 0.2))
    _ink(sheet, wire, (0.35, 0.36, 0.38))
    turned = np.ascontiguousarray(np.rot90(sheet, int(rng.integers(4))))
    _digit_in_middle(turned, pixels, rng, rng.uniform(0.25, 0.4))
    return _phone(turned, rng)


def timestamp_overlay(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    _digit_in_middle(sheet, pixels, rng, rng.uniform(0.25, 0.4))
    photo = cv2.imdecode(np.frombuffer(_phone(sheet, rng), np.uint8), cv2.IMREAD_COLOR)
    # The stamp is added by the camera after the picture: sharp, glowing orange, in one corner.
    stamp = f"'{rng.integers(20, 27)} {rng.integers(1, 13):2d} {rng.integers(1, 29):2d}"
    if rng.random() < 0.5:
        stamp += f"  {rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}"
    scale = min(rows, cols) * rng.uniform(0.0012, 0.0022)
    thick = max(1, round(scale * 2))
    (width, height), _ = cv2.getTextSize(stamp, cv2.FONT_HERSHEY_DUPLEX, scale, thick)
    margin = round(min(rows, cols) * 0.04)
    right, bottom = rng.random() < 0.8, rng.random() < 0.8
    origin = (cols - margin - width if right else margin, rows - margin if bottom else margin + height)
    glow = np.zeros((rows, cols), np.float32)
    cv2.putText(glow, stamp, origin, cv2.FONT_HERSHEY_DUPLEX, scale, 1.0, thick, cv2.LINE_AA)
    halo = np.maximum(glow, cv2.GaussianBlur(glow, (0, 0), thick) * 0.6)[..., None]
    orange = np.asarray((30, 140, 255), np.float32)  # BGR
    mixed = photo.astype(np.float32) * (1 - halo) + orange * halo
    picture = Image.fromarray(cv2.cvtColor(np.clip(mixed, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB), "RGB")
    return encode(picture, "JPEG", quality=int(rng.integers(80, 95)))


def dark_mode_app(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    cols = int(rng.integers(540, 1080))
    rows = int(cols * rng.uniform(1.8, 2.2))
    screen = np.full((rows, cols, 3), rng.uniform(0.07, 0.16), np.float32)
    bar = round(rows * 0.035)
    scale = bar / 40
    clock = f"{rng.integers(0, 24)}:{rng.integers(0, 60):02d}"
    cv2.putText(screen, clock, (round(cols * 0.06), round(bar * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0.9,) * 3, 2)
    battery = (cols - round(cols * 0.12), round(bar * 0.3))
    cv2.rectangle(screen, battery, (battery[0] + round(bar * 0.9), battery[1] + round(bar * 0.45)), (0.9,) * 3, 2)
    # The app's tool row at the bottom: round buttons and a pen colour swatch.
    tools_top = rows - round(rows * 0.08)
    screen[tools_top:] = rng.uniform(0.18, 0.25)
    for n in range(5):
        x = round(cols * (0.15 + 0.175 * n))
        cv2.circle(screen, (x, tools_top + round(rows * 0.04)), round(rows * 0.018), (0.75,) * 3, 2, cv2.LINE_AA)
    strokes: tuple[Colour, ...] = ((0.95, 0.95, 0.95), (1.0, 0.85, 0.3), (0.5, 0.8, 1.0), (0.95, 0.5, 0.6))
    side = round(cols * rng.uniform(0.4, 0.7))
    middle = (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.35, 0.6))
    nib = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * int(rng.integers(0, 4)) + 1,) * 2)
    drawn = cv2.dilate(np.clip((_stroke_plane(pixels, side, rng) - 0.3) * 3, 0, 1), nib)
    _ink(screen, _place(rows, cols, drawn, middle), strokes[int(rng.integers(len(strokes)))])
    return encode(Image.fromarray((np.clip(screen, 0, 1) * 255).astype(np.uint8), "RGB"), "PNG")


def brush_pen(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng)
    rows, cols = sheet.shape[:2]
    side = round(min(rows, cols) * rng.uniform(0.28, 0.42))
    # A chisel nib: the thinned stroke swept by a flat, tilted rectangle, broad along one direction.
    centreline = (_stroke_plane(pixels, side, rng) > 0.6).astype(np.uint8)
    centreline = cv2.erode(centreline, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)), iterations=side // 60)
    length = max(3, round(side * rng.uniform(0.06, 0.1)))
    nib = np.zeros((length, length), np.uint8)
    tilt = rng.uniform(20, 70) * rng.choice([-1, 1])
    dx, dy = math.cos(math.radians(tilt)) * length / 2, math.sin(math.radians(tilt)) * length / 2
    middle = (length - 1) / 2
    cv2.line(nib, (round(middle - dx), round(middle - dy)), (round(middle + dx), round(middle + dy)), 1, 1)
    wide = cv2.dilate(centreline, nib).astype(np.float32)
    wide = cv2.GaussianBlur(wide, (0, 0), 0.8)
    coverage = _place(rows, cols, wide, (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6)))
    markers: tuple[Colour, ...] = ((0.05, 0.05, 0.05), (0.1, 0.1, 0.6), (0.6, 0.1, 0.15), (0.1, 0.4, 0.2))
    _ink(sheet, coverage, markers[int(rng.integers(len(markers)))], rng.uniform(0.85, 1.0))
    return _phone(sheet, rng)


def aged_paper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    sheet = _sheet(rng, colour=(0.9, 0.82, 0.62))
    rows, cols = sheet.shape[:2]
    _digit_in_middle(sheet, pixels, rng, rng.uniform(0.25, 0.4))
    # Foxing: soft brown spots of every size, most small; and the edges browned by age.
    spots = np.zeros((rows, cols), np.float32)
    for _ in range(int(rng.integers(15, 60))):
        radius = max(1.0, min(rows, cols) * rng.pareto(2.5) * 0.006)
        centre = (int(rng.integers(cols)), int(rng.integers(rows)))
        cv2.circle(spots, centre, round(radius), float(rng.uniform(0.3, 0.8)), -1, cv2.LINE_AA)
    spots = cv2.GaussianBlur(spots, (0, 0), 1.5)
    _ink(sheet, spots, (0.55, 0.38, 0.2))
    ys, xs = np.ogrid[-1 : 1 : rows * 1j, -1 : 1 : cols * 1j]
    edge = np.clip((np.maximum(np.abs(xs), np.abs(ys)) - rng.uniform(0.7, 0.85)) * 4, 0, 1)
    _ink(sheet, np.broadcast_to(edge, (rows, cols)).astype(np.float32), (0.6, 0.45, 0.25), rng.uniform(0.3, 0.6))
    return _phone(sheet, rng)


def on_palm(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    skins: tuple[Colour, ...] = ((0.92, 0.74, 0.64), (0.82, 0.62, 0.5), (0.62, 0.44, 0.33), (0.45, 0.31, 0.23))
    sheet = _sheet(rng, colour=skins[int(rng.integers(len(skins)))])
    rows, cols = sheet.shape[:2]
    # The palm's relief: broad soft shading, and three or four creases, curved, darker and blurred.
    relief = cv2.GaussianBlur(rng.normal(0, 1, (rows // 8 + 1, cols // 8 + 1)).astype(np.float32), (0, 0), 3)
    relief = cv2.resize(relief / (np.abs(relief).max() + 1e-6), (cols, rows))
    sheet *= (1 + 0.12 * relief)[..., None]
    creases = np.zeros((rows, cols), np.float32)
    for _ in range(int(rng.integers(3, 5))):
        start = np.asarray((rng.uniform(0, cols), rng.uniform(0, rows)))
        heading, points = rng.uniform(0, 2 * math.pi), [start]
        for _ in range(12):
            heading += rng.normal(0, 0.12)
            points.append(points[-1] + min(rows, cols) * 0.06 * np.asarray((math.cos(heading), math.sin(heading))))
        line = np.round(np.asarray(points)).astype(np.int32)
        cv2.polylines(creases, [line], False, 1.0, max(1, round(min(rows, cols) * 0.004)), cv2.LINE_AA)
    _ink(sheet, cv2.GaussianBlur(creases, (0, 0), 2.0), (0.35, 0.22, 0.17), rng.uniform(0.3, 0.6))
    side = max(12, round(min(rows, cols) * rng.uniform(0.25, 0.4)))
    # Ink on skin feathers a little and does not cover fully.
    written = cv2.GaussianBlur(_stroke_plane(pixels, side, rng), (0, 0), side * 0.006 + 0.5)
    coverage = _place(rows, cols, written, (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6)))
    _ink(sheet, coverage, PENS[int(rng.integers(len(PENS)))], rng.uniform(0.7, 0.95))
    return _phone(sheet, rng)


TENTH: dict[str, Render] = {
    "spiral-notebook": spiral_notebook,
    "timestamp-overlay": timestamp_overlay,
    "dark-mode-app": dark_mode_app,
    "brush-pen": brush_pen,
    "aged-paper": aged_paper,
    "on-palm": on_palm,
}


def build_tenth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(TENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
