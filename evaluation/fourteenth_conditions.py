"""A fourteenth held-out set of everyday conditions, written and frozen unread after the thirteenth
set was read, and read once on c758856, after the next two changes of digit finding
(docs/accuracy.md has its figures); a development set since.

The thirteenth set (evaluation/thirteenth_conditions.py) is a development set now. This one is new
code (its own surfaces, media and camera) with conditions that no earlier set has, from MNIST
validation digits (55,000-59,999) and its own seed. Each image is one digit that a person reads at a
glance:

- **crayon**: a wax crayon on drawing paper: the wax catches only the paper's raised tooth, so each
  stroke is broken into flecks, in a bright colour;
- **embroidery**: stitched in thread on woven cloth: each stroke a run of short satin stitches with
  gaps between them, the weave showing all round;
- **frosting**: piped in icing on a cake: a raised, glossy stroke lit from one side, a little lighter
  than the iced top around it, and the plate and table beyond its rim;
- **mug**: written on a mug and photographed on it: the surface curves away at both sides, a
  highlight runs down the glaze, and the room shows beyond its edges;
- **forwarded**: a photo of a note sent on through chat apps several times: each time shrunk,
  sharpened and saved as a low-quality JPEG;
- **raindrops**: a photo of a note taken through a wet window or with drops on the lens: blurred
  discs of light and dark scattered over the page.

Deterministic for a seed: no installed font is used.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from evaluation.conditions import Case, Render, sample_cases
from evaluation.imaging import cover_with, encode, placed

SEED = 14_014_014
FIRST_DIGIT = 55_000  # the validation split: the model never trained on these
DIGITS_USED = 5_000
Colour = tuple[float, float, float]


def _surface(rng: np.random.Generator, colour: Colour, mottle: float = 0.05) -> np.ndarray:
    """A surface filling the frame, rows x cols x 3 in [0, 1], mottled at a coarse scale."""
    rows = int(rng.integers(640, 1200))
    cols = int(rows * rng.uniform(0.75, 1.35))
    blotches = cv2.resize(rng.normal(0, 1, (7, 7)).astype(np.float32), (cols, rows), interpolation=cv2.INTER_CUBIC)
    return np.asarray(colour, np.float32) * (1 + mottle * blotches)[..., None]


def _colour(rng: np.random.Generator, low: float, high: float) -> Colour:
    red, green, blue = (float(c) for c in rng.uniform(low, high, 3))
    return red, green, blue


def _digit_plane(pixels: np.ndarray, shape: tuple[int, int], rng: np.random.Generator, size: float) -> np.ndarray:
    """The digit's coverage on a plane of ``shape``: about ``size`` of its shorter side, slanted a
    little, somewhere near the middle."""
    rows, cols = shape
    side = max(16, round(min(rows, cols) * size * rng.uniform(0.85, 1.15)))
    digit = cv2.resize(pixels.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_CUBIC)
    slant = np.float32([[1, rng.uniform(-0.15, 0.15), 0], [0, 1, 0]])
    digit = np.clip(cv2.warpAffine(digit, slant, (side, side)), 0, 1)
    return placed(digit, rows, cols, rng, (0.3, 0.7))


def _shoot(picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The phone's capture as 8-bit RGB: uneven light from one side, a little blur and sensor noise."""
    rows, cols = picture.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    ramp = (np.cos(angle) * xs / cols + np.sin(angle) * ys / rows).astype(np.float32)
    light = 1 + rng.uniform(0.04, 0.16) * (ramp - ramp.mean())
    shot = cv2.GaussianBlur(picture * light[..., None], (0, 0), rng.uniform(0.6, 1.2))
    shot += rng.normal(0, rng.uniform(0.005, 0.015), shot.shape).astype(np.float32)
    return (np.clip(shot, 0, 1) * 255 + 0.5).astype(np.uint8)


def _jpeg(rgb: np.ndarray, rng: np.random.Generator, quality: tuple[int, int] = (75, 95)) -> bytes:
    return encode(Image.fromarray(rgb, "RGB"), "JPEG", quality=int(rng.integers(*quality)))


def crayon(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    paper = _surface(rng, (0.95, 0.94, 0.91), 0.03)
    rows, cols = paper.shape[:2]
    tooth = cv2.GaussianBlur(rng.random((rows, cols)).astype(np.float32), (0, 0), 1.5)
    tooth = (tooth - tooth.mean()) / tooth.std()
    stroke = cv2.dilate(_digit_plane(pixels, (rows, cols), rng, 0.38), np.ones((5, 5), np.uint8))
    waxed = stroke * (tooth > rng.uniform(-0.6, 0.1))  # the wax skips the paper's hollows
    colours: tuple[Colour, ...] = ((0.85, 0.15, 0.1), (0.1, 0.35, 0.8), (0.15, 0.6, 0.2), (0.55, 0.2, 0.6))
    cover_with(paper, waxed * rng.uniform(0.75, 0.95), colours[int(rng.integers(len(colours)))])
    return _jpeg(_shoot(paper, rng), rng)


def embroidery(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    cloth = _surface(rng, _colour(rng, 0.55, 0.9), 0.04)
    rows, cols = cloth.shape[:2]
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    pitch = rng.uniform(3.0, 5.0)
    weave = 0.06 * np.sin(2 * np.pi * xs / pitch) * np.sin(2 * np.pi * ys / pitch)
    cloth *= (1 + weave)[..., None]
    stroke = cv2.dilate(_digit_plane(pixels, (rows, cols), rng, 0.35), np.ones((5, 5), np.uint8)) > 0.5
    # Satin stitches: bands across the stroke, with a gap where the needle went down and up again.
    period = max(6, round(min(rows, cols) * 0.015))
    direction = rng.uniform(0, np.pi)
    bands = (np.cos(direction) * xs + np.sin(direction) * ys) % period > period * 0.3
    stitched = (stroke & bands).astype(np.float32)
    threads: tuple[Colour, ...] = ((0.75, 0.05, 0.1), (0.05, 0.1, 0.35), (0.95, 0.95, 0.95), (0.1, 0.1, 0.1))
    thread = threads[int(rng.integers(len(threads)))]
    sheen = 1 + 0.15 * np.sin(2 * np.pi * (xs + ys) / period)
    cover_with(cloth, stitched, thread)
    cloth *= np.where(stitched > 0, sheen, 1)[..., None]
    return _jpeg(_shoot(cloth, rng), rng)


def frosting(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    table = _surface(rng, (0.35, 0.25, 0.18), 0.15)
    rows, cols = table.shape[:2]
    icing = _colour(rng, 0.6, 0.95)
    cake = np.zeros((rows, cols), np.float32)
    radius = round(min(rows, cols) * rng.uniform(0.55, 0.7))
    cv2.ellipse(cake, (cols // 2, rows // 2), (radius, round(radius * 0.8)), 0, 0, 360, 1.0, -1)
    cover_with(table, cv2.GaussianBlur(cake, (0, 0), 3), icing)
    piped = cv2.GaussianBlur(
        cv2.dilate(_digit_plane(pixels, (rows, cols), rng, 0.3), np.ones((9, 9), np.uint8)), (0, 0), 3
    )
    angle = rng.uniform(0, 2 * np.pi)
    relief = np.cos(angle) * cv2.Sobel(piped, cv2.CV_32F, 1, 0, ksize=5) + np.sin(angle) * cv2.Sobel(
        piped, cv2.CV_32F, 0, 1, ksize=5
    )
    relief /= np.abs(relief).max() + 1e-6
    darker = rng.uniform(0.5, 0.8)
    piping: Colour = (icing[0] * darker, icing[1] * darker, icing[2] * darker)
    cover_with(table, piped * rng.uniform(0.7, 0.9), piping)
    table *= (1 + 0.3 * relief)[..., None]
    return _jpeg(_shoot(table, rng), rng)


def mug(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    room = _surface(rng, _colour(rng, 0.2, 0.6), 0.2)
    rows, cols = room.shape[:2]
    half = round(cols * rng.uniform(0.3, 0.42))  # half the mug's width in the frame
    flat = _digit_plane(pixels, (rows, 2 * half), rng, 0.45)
    # The mug's face seen from the front: column x of the frame shows the surface at arcsin(x / half).
    xs = np.linspace(-0.999, 0.999, 2 * half, dtype=np.float32)
    source = (np.arcsin(xs) / (np.pi / 2) * (half - 1) + half).astype(np.float32)
    map_x = np.repeat(source[None, :], rows, axis=0)
    map_y = np.repeat(np.arange(rows, dtype=np.float32)[:, None], 2 * half, axis=1)
    written = cv2.remap(flat, map_x, map_y, cv2.INTER_LINEAR)
    glaze = rng.uniform(0.75, 0.97, 3).astype(np.float32)
    shade = np.sqrt(1 - xs**2) * 0.35 + 0.65
    highlight = np.exp(-(((xs - rng.uniform(-0.5, 0.5)) / 0.06) ** 2)) * 0.25
    face = np.repeat(glaze[None, None, :] * shade[None, :, None] + highlight[None, :, None], rows, axis=0)
    cover_with(face, written * rng.uniform(0.85, 0.95), (0.08, 0.08, 0.1))
    top = round(rows * rng.uniform(0.05, 0.15))
    left = cols // 2 - half
    room[top:, left : left + 2 * half] = face[top:]
    return _jpeg(_shoot(room, rng), rng)


def forwarded(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _surface(rng, (0.93, 0.92, 0.88), 0.05)
    cover_with(page, _digit_plane(pixels, page.shape[:2], rng, 0.32), (0.12, 0.12, 0.2))
    rgb = _shoot(page, rng)
    for _ in range(int(rng.integers(2, 5))):  # each app shrinks, sharpens and re-saves it
        rows, cols = rgb.shape[:2]
        scale = rng.uniform(0.6, 0.85)
        rgb = cv2.resize(
            rgb, (max(64, round(cols * scale)), max(64, round(rows * scale))), interpolation=cv2.INTER_AREA
        )
        soft = cv2.GaussianBlur(rgb, (0, 0), 1.0)
        rgb = cv2.addWeighted(rgb, 1.6, soft, -0.6, 0)
        rgb = cv2.imdecode(cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 60))])[1], 1)
    return _jpeg(rgb, rng, (40, 60))


def raindrops(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    page = _surface(rng, (0.92, 0.91, 0.87), 0.05)
    rows, cols = page.shape[:2]
    cover_with(page, _digit_plane(pixels, (rows, cols), rng, 0.33), (0.1, 0.1, 0.12))
    drops = np.zeros((rows, cols), np.float32)
    for _ in range(int(rng.integers(15, 40))):
        centre = (int(rng.integers(cols)), int(rng.integers(rows)))
        radius = int(min(rows, cols) * rng.uniform(0.01, 0.05))
        cv2.circle(drops, centre, max(2, radius), float(rng.uniform(-1, 1)), -1)
    blurred = cv2.GaussianBlur(page, (0, 0), 6)  # what a drop shows: the page out of focus
    inside = cv2.GaussianBlur(np.abs(drops), (0, 0), 2)[..., None]
    wet = blurred * (1 + 0.25 * cv2.GaussianBlur(drops, (0, 0), 2))[..., None]
    page = page * (1 - inside) + wet * inside
    return _jpeg(_shoot(page, rng), rng)


FOURTEENTH: dict[str, Render] = {
    "crayon": crayon,
    "embroidery": embroidery,
    "frosting": frosting,
    "mug": mug,
    "forwarded": forwarded,
    "raindrops": raindrops,
}


def build_fourteenth(
    train_pixels: np.ndarray, train_labels: np.ndarray, per_condition: int = 100, seed: int = SEED
) -> list[Case]:
    """``per_condition`` images of each condition, deterministic for a seed."""
    return sample_cases(FOURTEENTH, train_pixels, train_labels, per_condition, seed, FIRST_DIGIT, DIGITS_USED)
