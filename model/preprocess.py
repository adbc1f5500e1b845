"""Preprocessing shared by training-time evaluation, the TorchServe handler and the tests: an
uploaded file becomes the candidate inputs the model verifies.

One pipeline, top to bottom: **decode** (model/decode.py: safe decoding, EXIF, the pixel cap) →
**grayscale** (model/decode.py: alpha on white, 16-bit kept, reduced to the analysed size while still
integer) → **sheet** (model/sheet.py: a card or a note on a darker desk is the page) → **candidates**
(model/candidates.py: the digits the page may hold) → **frame** (here: each candidate fitted into
MNIST's 28x28 frame as MNIST's digits were, and normalized) → **verify** (model/verify.py: the
model's scores choose the candidate).

MNIST digits are white ink on black, fitted by aspect ratio into a 20x20 box and centred by centre
of mass in a 28x28 frame, then normalized with the training set's mean and std. Only this module
knows the normalization constants; training calls :func:`normalize` and serving calls
:func:`preprocess_upload`, which ends in the same :func:`normalize`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
from PIL import Image

from model.candidates import Candidate, SecondLook, propose
from model.decode import MAX_PIXELS, WORK_SIDE, darkest_channel, decode_image, to_grayscale
from model.errors import NoDigitError
from model.sheet import Offset, on_the_sheet

# Normalization of the MNIST training set (the values used by pytorch/examples' mnist).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

IMAGE_SIZE = 28  # side of the frame the network reads
DIGIT_BOX = 20  # MNIST fits each digit into a box this size before centring it

# Ink below this fraction of full intensity (after background removal) is paper texture or JPEG
# noise: it neither widens the digit's bounding box nor shifts its centre of mass.
INK_THRESHOLD = 0.2

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive)


@dataclass(frozen=True)
class Preprocessed:
    """An upload's candidate inputs for the model, and where each was found."""

    tensors: torch.Tensor  # (K, 1, 28, 28) normalized, K >= 1
    # Each candidate's box in the upload's pixels; None for an upload in MNIST's frame (one candidate,
    # whose box is the ink's in the input itself, found only when asked: the hot path of MNIST-sized
    # uploads does not pay for it).
    found_boxes: tuple[Box, ...] | None = None
    sources: tuple[str, ...] = ("as uploaded",)  # how each candidate was proposed
    tiers: tuple[int, ...] = (0,)  # each candidate's tier (model/candidates.py), which verify.py reads
    defaults: int = 1  # the first this many candidates are default readings (model/verify.py)
    # The upload with the page's stable regions added as candidates (model/candidates.py), or None
    # if it has none: model/verify.py looks again only where no default reading is a digit.
    second_look: Callable[[], Preprocessed | None] | None = None

    def box(self, index: int) -> Box:
        if self.found_boxes is not None:
            return self.found_boxes[index]
        ink = self.tensors[index, 0] * MNIST_STD + MNIST_MEAN
        rows, cols = torch.nonzero(ink >= INK_THRESHOLD - 1e-6, as_tuple=True)
        return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def normalize(images: torch.Tensor) -> torch.Tensor:
    """Normalize intensities in [0, 1] (white ink on black) exactly as in training."""
    return (images - MNIST_MEAN) / MNIST_STD


def preprocess_upload(data: bytes | bytearray, max_pixels: int = MAX_PIXELS) -> Preprocessed:
    """The candidate inputs of an uploaded file. Raises :class:`InvalidImageError` for anything that
    is not a usable image (model/errors.py), and its subclass :class:`NoDigitError` (422) for an image without ink."""
    image, decoded_at = decode_image(data, max_pixels)
    if image.size == (IMAGE_SIZE, IMAGE_SIZE):
        # An upload already in MNIST's 28x28 frame is left in place: re-centring it would move the
        # pixels of every MNIST digit a little and so change what the model was trained on.
        frame = to_ink(image)
        if frame.max() < INK_THRESHOLD:
            raise NoDigitError
        return Preprocessed(normalize(torch.from_numpy(frame).view(1, 1, IMAGE_SIZE, IMAGE_SIZE)))
    page, scale = to_grayscale(image, WORK_SIDE)
    sheet, offset = on_the_sheet(page)
    # Read on a whole page only: where a sheet is cut from a desk, the desk is painted as paper in luma.
    darkest = darkest_channel(image, WORK_SIDE) if sheet is page else None
    found, later = propose(sheet, darkest)
    place = partial(_in_upload_pixels, offset=offset, scale=scale, size=image.size, decoded_at=decoded_at)
    if not found:  # no mask holds ink: the page's stable regions are all it has to read
        found = later.candidates()
        if not found:
            raise NoDigitError
        return _framed(found, place)
    item = _framed(found, place)
    return replace(item, second_look=partial(_looked_again, item, later, place))


def _framed(found: list[Candidate], place: Callable[[Box], Box]) -> Preprocessed:
    """The candidates fitted into MNIST's frame, with their boxes in the upload (``place``)."""
    frames = np.stack([fit_to_mnist_frame(candidate.ink, candidate.frame_side) for candidate in found])
    boxes = tuple(place(candidate.box) for candidate in found)
    sources = tuple(candidate.source for candidate in found)
    tiers = tuple(candidate.tier for candidate in found)
    # The first candidate is always a default reading; the whole-page readings of its polarity follow it.
    defaults = next((k for k, c in enumerate(found) if k and (not c.whole or c.tier != found[0].tier)), len(found))
    return Preprocessed(normalize(torch.from_numpy(frames).unsqueeze(1)), boxes, sources, tiers, defaults)


def _looked_again(item: Preprocessed, later: SecondLook, place: Callable[[Box], Box]) -> Preprocessed | None:
    """``item`` with the page's stable regions after its candidates, or None where there are none."""
    more = later.candidates()
    if not more:
        return None
    extra = _framed(more, place)
    return Preprocessed(
        torch.cat([item.tensors, extra.tensors]),
        (item.found_boxes or ()) + (extra.found_boxes or ()),
        item.sources + extra.sources,
        item.tiers + extra.tiers,
        item.defaults,
    )


def _in_upload_pixels(box: Box, *, offset: Offset, scale: float, size: tuple[int, int], decoded_at: float) -> Box:
    """A box in the analysed sheet (at ``offset`` in the page, ``scale`` decoded pixels each, the
    decoded image ``size``) scaled back to the upload's own pixel grid, clipped to it."""
    width, height = round(size[0] * decoded_at), round(size[1] * decoded_at)
    shifted = (box[0] + offset[0], box[1] + offset[1], box[2] + offset[0], box[3] + offset[1])
    left, top, right, bottom = (round(v * scale * decoded_at) for v in shifted)
    return min(left, width), min(top, height), min(right, width), min(bottom, height)


def to_ink(image: Image.Image) -> np.ndarray:
    """Grayscale intensities in [0, 1] as MNIST has them: bright ink on a black background.

    For an upload already in MNIST's frame: the paper is one level, read off the border ring.
    """
    gray, _ = to_grayscale(image)
    background = float(np.median(_border(gray)))
    if background > 0.5:  # dark ink on light paper: invert to MNIST's polarity
        gray = 1.0 - gray
        background = 1.0 - background
    if background > 0.0:
        # Stretch so the paper becomes 0; an MNIST digit (background 0) is untouched.
        gray = np.clip((gray - background) / (1.0 - background), 0.0, 1.0)
    return gray.astype(np.float32)


def fit_to_mnist_frame(ink: np.ndarray, side: int = 0) -> np.ndarray:
    """Crop to the ink, scale it into a 20x20 box by aspect ratio, centre by mass in 28x28.

    Ink under INK_THRESHOLD is dropped first: it neither widens the box nor moves the centre. With
    ``side`` larger than the ink, the box stands for ``side`` pixels, not the ink's own larger side:
    evidence is framed at the scale of the reading it is weighed against (model/candidates.py).
    """
    ink = np.where(ink >= INK_THRESHOLD, ink, 0.0)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    frame = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    if rows.size == 0:
        return frame
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = _scale_into_box(crop, DIGIT_BOX, side)
    top, left = _centre_of_mass_offset(digit)
    height, width = digit.shape
    frame[top : top + height, left : left + width] = digit
    return frame


def _scale_into_box(crop: np.ndarray, box: int, side: int = 0) -> np.ndarray:
    height, width = crop.shape
    scale = box / max(height, width, side)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Mode "F" keeps full precision; LANCZOS anti-aliases like MNIST's own downscaling.
    resized = Image.fromarray(crop.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _centre_of_mass_offset(digit: np.ndarray) -> tuple[int, int]:
    """Top-left position that puts the digit's centre of mass at the frame's centre."""
    height, width = digit.shape
    total = float(digit.sum())
    if total == 0.0:
        centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    else:
        centre_y = float((digit.sum(axis=1) * np.arange(height)).sum()) / total
        centre_x = float((digit.sum(axis=0) * np.arange(width)).sum()) / total
    middle = (IMAGE_SIZE - 1) / 2
    top = min(max(round(middle - centre_y), 0), IMAGE_SIZE - height)
    left = min(max(round(middle - centre_x), 0), IMAGE_SIZE - width)
    return top, left


def _border(gray: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels, where the paper (background) is."""
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
