"""An eleventh held-out set of everyday conditions, written and frozen unread before any change of its
session (docs/accuracy.md says when it was read).

The tenth held-out set (evaluation/tenth_conditions.py) was read once and is a development set now.
This one is new code (its own paper, pens and camera) with conditions that no earlier set has, from
MNIST validation digits (55,000-59,999) and its own seed. Each image is one clearly written digit that
a person reads at a glance:

- **dry-pen**: a ballpoint running dry, its stroke skipping in places and pressed unevenly;
- **index-card**: on a ruled index card (a red header line, blue rules crossing the digit) lying on a
  desk, turned a little;
- **photo-filter**: shared through a photo app's filter: a colour tint, lifted blacks and faded whites,
  a strong vignette and film grain;
- **black-paper**: a light gel pen (white, silver, gold) on black or navy craft paper, the ink
  glittering in specks and the paper's fibres showing;
- **fingerprint**: an inky fingerprint, its ridges in whorls, pressed on the page beside the digit;
- **price-tag**: on a hang tag (card, its corners cut, a reinforced punched hole and its string) lying
  on a desk or cloth.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import encode

SEED = 11_011_011
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
Colour = tuple[float, float, float]
BALLPOINTS: tuple[Colour, ...] = ((0.08, 0.1, 0.5), (0.06, 0.06, 0.08), (0.55, 0.08, 0.1), (0.1, 0.12, 0.3))
DESKS: tuple[Colour, ...] = ((0.42, 0.27, 0.15), (0.3, 0.31, 0.33), (0.12, 0.12, 0.13), (0.66, 0.55, 0.4))


def _paper(rng: np.random.Generator, tone: Colour = (0.96, 0.95, 0.93)) -> np.ndarray:
    """A plain page filling the frame, rows x cols x 3 in [0, 1], shaped like a phone photo."""
    cols = int(rng.integers(640, 1400))
    rows = int(cols * rng.uniform(0.72, 1.35))
    page = np.empty((rows, cols, 3), np.float32)
    page[:] = np.asarray(tone, np.float32) * rng.uniform(0.86, 1.0)
    return page


def _handwriting(pixels: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """The digit written ``side`` pixels square, coverage in [0, 1], slanted and turned a little."""
    ink = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-8, 8), rng.uniform(0.92, 1.04))
    slant = rng.uniform(-0.15, 0.1)
    turn[0, 1] += slant
    turn[0, 2] -= slant * side / 2
    return np.clip(cv2.warpAffine(ink, turn, (side, side), flags=cv2.INTER_LINEAR), 0, 1)


def _put(shape: tuple[int, int], patch: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """A plane of ``shape`` with ``patch`` centred at ``centre`` (x, y), cut where it falls outside."""
    plane = np.zeros(shape, np.float32)
    top, left = round(centre[1] - patch.shape[0] / 2), round(centre[0] - patch.shape[1] / 2)
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(shape[0], top + patch.shape[0]), min(shape[1], left + patch.shape[1])
    if y1 > y0 and x1 > x0:
        plane[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]
    return plane


def _lay(page: np.ndarray, cover: np.ndarray, colour: Colour, opacity: float = 1.0) -> None:
    """Lays ``colour`` on ``page`` with coverage ``cover``, in place."""
    alpha = (np.clip(cover, 0, 1) * opacity)[..., None]
    page *= 1 - alpha
    page += alpha * np.asarray(colour, np.float32)


def _camera(page: np.ndarray, rng: np.random.Generator, quality: tuple[int, int] = (68, 94)) -> bytes:
    """The phone's picture of ``page``: a little out of focus, light uneven, noisy, saved as JPEG."""
    rows, cols = page.shape[:2]
    ys, xs = np.ogrid[0 : 1 : rows * 1j, 0 : 1 : cols * 1j]
    light = 1 - rng.uniform(0, 0.2) * np.abs(xs - rng.uniform(0, 1)) - rng.uniform(0, 0.15) * np.abs(ys - 0.5)
    shot = cv2.GaussianBlur(page * light[..., None].astype(np.float32), (0, 0), rng.uniform(0.5, 1.4))
    shot += rng.normal(0, rng.uniform(0.005, 0.018), shot.shape).astype(np.float32)
    return _jpeg(shot, rng, quality)


def _jpeg(picture: np.ndarray, rng: np.random.Generator, quality: tuple[int, int]) -> bytes:
    pixels = (np.clip(picture, 0, 1) * 255 + 0.5).astype(np.uint8)
    return encode(Image.fromarray(pixels, "RGB"), "JPEG", quality=int(rng.integers(*quality)))


def _write(page: np.ndarray, pixels: np.ndarray, rng: np.random.Generator, size: tuple[float, float]) -> np.ndarray:
    """Writes the digit in a ballpoint near the page's middle, ``size`` of its shorter side; its coverage."""
    rows, cols = page.shape[:2]
    side = max(14, round(min(rows, cols) * rng.uniform(*size)))
    centre = (cols * rng.uniform(0.38, 0.62), rows * rng.uniform(0.38, 0.62))
    cover = _put((rows, cols), _handwriting(pixels, side, rng), centre)
    _lay(page, cover, BALLPOINTS[int(rng.integers(len(BALLPOINTS)))], rng.uniform(0.85, 1.0))
    return cover


def dry_pen(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _paper(rng)
    rows, cols = page.shape[:2]
    side = max(14, round(min(rows, cols) * rng.uniform(0.25, 0.42)))
    written = _handwriting(pixels, side, rng)
    # Where the ball skips: blotches a stroke or two wide, a fifth to a third of the stroke left faint.
    grain = max(2.0, side * rng.uniform(0.015, 0.03))
    field = cv2.GaussianBlur(rng.normal(0, 1, (side, side)).astype(np.float32), (0, 0), grain)
    field /= field.std() + 1e-6
    skipped = np.clip((field - np.quantile(field, rng.uniform(0.2, 0.33))) * 2.5, 0, 1)
    pressure = 0.55 + 0.45 * np.clip(cv2.GaussianBlur(field, (0, 0), grain * 3) * 0.8 + 0.6, 0, 1)
    cover = written * (rng.uniform(0.08, 0.2) + (1 - 0.2) * skipped) * pressure
    centre = (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6))
    _lay(page, _put((rows, cols), cover, centre), BALLPOINTS[int(rng.integers(len(BALLPOINTS)))])
    return _camera(page, rng)


def _on_desk(card: np.ndarray, rng: np.random.Generator, fill: tuple[float, float]) -> np.ndarray:
    """``card`` (with an alpha channel, its shape cut) turned a little on a desk filling a photo."""
    height, width = card.shape[:2]
    share = rng.uniform(*fill)  # of the photo's longer side taken by the card's
    longest = round(max(height, width) / share)
    rows, cols = (
        (longest, round(longest * rng.uniform(0.75, 1.0)))
        if height > width
        else (
            round(longest * rng.uniform(0.75, 1.0)),
            longest,
        )
    )
    desk = np.empty((rows, cols, 3), np.float32)
    desk[:] = np.asarray(DESKS[int(rng.integers(len(DESKS)))], np.float32)
    desk *= (1 + 0.08 * cv2.resize(rng.normal(0, 1, (8, 8)).astype(np.float32), (cols, rows)))[..., None]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-10, 10), 1.0)
    turn[:, 2] += ((cols - width) / 2 + rng.uniform(-0.05, 0.05) * cols, (rows - height) / 2)
    placed = cv2.warpAffine(card, turn, (cols, rows), flags=cv2.INTER_LINEAR)
    shadow = cv2.GaussianBlur(placed[..., 3], (0, 0), max(2.0, longest * 0.01))
    shadow = np.roll(shadow, (round(longest * 0.008),) * 2, axis=(0, 1))
    desk *= (1 - 0.4 * shadow)[..., None]
    _lay(desk, placed[..., 3], (0, 0, 0), 1.0)
    desk += placed[..., :3]
    return desk


def index_card(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    width = int(rng.integers(560, 1100))
    height = round(width * 0.6)
    card = np.ones((height, width, 3), np.float32) * np.asarray((0.97, 0.97, 0.95), np.float32)
    spacing = height / rng.uniform(10, 13)
    thin = max(1, round(height * 0.003))
    header = round(spacing * rng.uniform(1.8, 2.3))
    rules = np.zeros((height, width), np.float32)
    for y in np.arange(header + spacing, height - spacing * 0.3, spacing):
        cv2.line(rules, (0, round(y)), (width, round(y)), 1.0, thin, cv2.LINE_AA)
    _lay(card, rules, (0.45, 0.65, 0.9), rng.uniform(0.6, 0.9))
    red = np.zeros((height, width), np.float32)
    cv2.line(red, (0, header), (width, header), 1.0, thin + 1, cv2.LINE_AA)
    _lay(card, red, (0.85, 0.25, 0.3), rng.uniform(0.7, 0.95))
    _write(card, pixels, rng, (spacing * 2.2 / height, spacing * 4 / height))
    opaque = np.dstack([card, np.ones((height, width), np.float32)])
    return _camera(_on_desk(opaque, rng, (0.6, 0.85)), rng)


def photo_filter(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _paper(rng)
    _write(page, pixels, rng, (0.22, 0.4))
    rows, cols = page.shape[:2]
    soft = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.6, 1.2))
    # The filter: blacks lifted and whites faded, a tint (warm, sepia, teal), a vignette and grain.
    floor, ceiling = rng.uniform(0.12, 0.3), rng.uniform(0.8, 0.95)
    toned = floor + (ceiling - floor) * soft
    tints: tuple[Colour, ...] = ((1.08, 0.98, 0.82), (1.05, 0.92, 0.75), (0.85, 1.0, 1.08), (1.0, 0.9, 1.05))
    toned *= np.asarray(tints[int(rng.integers(len(tints)))], np.float32)
    ys, xs = np.ogrid[-1 : 1 : rows * 1j, -1 : 1 : cols * 1j]
    vignette = 1 - rng.uniform(0.35, 0.6) * np.clip((xs**2 + ys**2) / 2, 0, 1) ** rng.uniform(0.8, 1.5)
    toned *= vignette[..., None].astype(np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)).astype(np.float32), (0, 0), 0.8)
    toned += (grain * rng.uniform(0.02, 0.05))[..., None]
    return _jpeg(toned, rng, (75, 95))


def black_paper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    tones: tuple[Colour, ...] = ((0.07, 0.07, 0.08), (0.08, 0.1, 0.22), (0.13, 0.12, 0.12), (0.1, 0.16, 0.12))
    page = _paper(rng, tones[int(rng.integers(len(tones)))])
    rows, cols = page.shape[:2]
    fibres = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)).astype(np.float32), (0, 0), 1.2)
    page *= (1 + 0.25 * fibres)[..., None]
    side = max(14, round(min(rows, cols) * rng.uniform(0.25, 0.42)))
    written = _handwriting(pixels, side, rng)
    # Gel ink on dark paper: a little translucent, glittering where the light catches it.
    sparkle = (rng.random((side, side)) < rng.uniform(0.02, 0.06)).astype(np.float32)
    sparkle = cv2.GaussianBlur(sparkle, (0, 0), 0.7) * 3
    centre = (cols * rng.uniform(0.4, 0.6), rows * rng.uniform(0.4, 0.6))
    gels: tuple[Colour, ...] = ((0.93, 0.93, 0.93), (0.78, 0.79, 0.82), (0.86, 0.72, 0.4), (0.7, 0.85, 0.95))
    _lay(page, _put((rows, cols), written, centre), gels[int(rng.integers(len(gels)))], rng.uniform(0.75, 0.95))
    _lay(page, _put((rows, cols), np.clip(written * sparkle, 0, 1), centre), (1.0, 1.0, 1.0))
    return _camera(page, rng)


def _whorl(size: int, rng: np.random.Generator) -> np.ndarray:
    """A fingertip's print, size x size coverage: ridges in loops around a core, fading to its edge."""
    ys, xs = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j].astype(np.float32)
    squash = rng.uniform(0.6, 0.8)
    radius = np.sqrt((xs / squash) ** 2 + ys**2)
    warp = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 12) * 4
    ridges = 0.5 + 0.5 * np.sin(radius * rng.uniform(28, 40) + warp + np.arctan2(ys, xs) * rng.uniform(0, 0.8))
    edge = np.clip((1 - radius) * 6, 0, 1) * (0.6 + 0.4 * np.clip(1 - ys, 0, 1))
    return (ridges**1.5 * edge).astype(np.float32)


def fingerprint(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _paper(rng)
    rows, cols = page.shape[:2]
    cover = _write(page, pixels, rng, (0.22, 0.36))
    ys, xs = np.nonzero(cover > 0.3)
    middle, reach = np.asarray((xs.mean(), ys.mean())), max(np.ptp(xs), np.ptp(ys))
    size = round(reach * rng.uniform(0.5, 0.85))
    heading = rng.uniform(0, 2 * math.pi)
    where = middle + (reach / 2 + size / 2 + reach * rng.uniform(0.1, 0.5)) * np.asarray(
        (math.cos(heading), math.sin(heading))
    )
    tilt = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(0, 180), 1.0)
    print_ = cv2.warpAffine(_whorl(size, rng), tilt, (size, size))
    inks: tuple[Colour, ...] = ((0.1, 0.1, 0.12), (0.15, 0.2, 0.55), (0.4, 0.35, 0.3))
    _lay(
        page,
        _put((rows, cols), print_, (float(where[0]), float(where[1]))),
        inks[int(rng.integers(3))],
        rng.uniform(0.4, 0.85),
    )
    return _camera(page, rng)


def price_tag(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    height = int(rng.integers(420, 800))
    width = round(height * rng.uniform(1.5, 2.0))
    cards: tuple[Colour, ...] = ((0.96, 0.96, 0.94), (0.86, 0.76, 0.58), (0.98, 0.9, 0.55), (0.95, 0.8, 0.82))
    tag = np.ones((height, width, 3), np.float32) * np.asarray(cards[int(rng.integers(len(cards)))], np.float32)
    # The tag's outline: its hole end cut at both corners.
    cut = round(height * rng.uniform(0.2, 0.3))
    shape = np.zeros((height, width), np.float32)
    outline = np.asarray([(cut, 0), (width, 0), (width, height), (cut, height), (0, height - cut), (0, cut)], np.int32)
    cv2.fillPoly(shape, [outline], 1.0, cv2.LINE_AA)
    hole = (round(height * 0.2), height // 2)
    radius = max(4, round(height * 0.06))
    ring = np.zeros((height, width), np.float32)
    cv2.circle(ring, hole, round(radius * 1.9), 1.0, -1, cv2.LINE_AA)
    _lay(tag, ring, (0.88, 0.88, 0.86) if rng.random() < 0.5 else (0.7, 0.55, 0.35), 0.9)
    cv2.circle(shape, hole, radius, 0.0, -1, cv2.LINE_AA)
    body = tag[:, round(height * 0.45) :]
    _write(body, pixels, rng, (0.45, 0.7))
    card = np.dstack([tag * shape[..., None], shape])
    photo = _on_desk(card, rng, (0.6, 0.85))
    # The string, through the hole and away out of the frame, a soft curve.
    rows, cols = photo.shape[:2]
    string = np.zeros((rows, cols), np.float32)
    start = np.asarray((cols * 0.1, rows * rng.uniform(0.3, 0.7)))
    bend = start + np.asarray((-cols * 0.3, rows * rng.uniform(-0.4, 0.4)))
    end = np.asarray((0.0, rows * rng.uniform(0, 1)))
    steps = np.linspace(0, 1, 40)[:, None]
    curve = (1 - steps) ** 2 * start + 2 * (1 - steps) * steps * bend + steps**2 * end
    cv2.polylines(string, [np.round(curve).astype(np.int32)], False, 1.0, max(2, round(rows * 0.006)), cv2.LINE_AA)
    strings: tuple[Colour, ...] = ((0.9, 0.9, 0.88), (0.6, 0.15, 0.15), (0.35, 0.3, 0.25))
    _lay(photo, string, strings[int(rng.integers(3))])
    return _camera(photo, rng)


ELEVENTH: dict[str, Render] = {
    "dry-pen": dry_pen,
    "index-card": index_card,
    "photo-filter": photo_filter,
    "black-paper": black_paper,
    "fingerprint": fingerprint,
    "price-tag": price_tag,
}


def build_eleventh(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(ELEVENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
