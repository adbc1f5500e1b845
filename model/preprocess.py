"""Image preprocessing shared by training-time evaluation, the TorchServe handler and the tests.

MNIST digits are white ink on black, fitted by aspect ratio into a 20x20 box and centred by
centre of mass in a 28x28 frame, then normalized with the training set's mean and std. Real
uploads (phone photos under uneven light, scans, drawings, off-centre digits, alpha, palettes,
16-bit PNGs) are brought into that same form here, so that the model sees at serving time what it
saw in training. Finding the digit on the page is model/find_digit.py's part.

Only this module knows the normalization constants; training calls :func:`normalize` and serving
calls :func:`preprocess_upload`, which ends in the same :func:`normalize`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps

from model.errors import ClientError
from model.find_digit import find_digit, work_copy

# Normalization of the MNIST training set (the values used by pytorch/examples' mnist).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

IMAGE_SIZE = 28  # side of the frame the network reads
DIGIT_BOX = 20  # MNIST fits each digit into a box this size before centring it

# Formats that an upload may be in. Anything else Pillow can open (TIFF, PSD, ICO...) is refused:
# a smaller decoder surface, and the documented contract stays the tested one.
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "BMP", "WEBP"})

# Decompression-bomb guard: a few-kB PNG can declare a gigapixel canvas. 40 MP covers phone photos
# and caps the decoded RGBA buffer at about 160 MB. Checked from the header, before decoding.
MAX_PIXELS = 40_000_000

# Ink below this fraction of full intensity (after background removal) is paper texture or JPEG
# noise: it neither widens the digit's bounding box nor shifts its centre of mass.
INK_THRESHOLD = 0.2

# Big JPEGs are decoded at a reduced scale (libjpeg's DCT scaling): the digit ends up 20 px tall,
# so decoding a 12 MP photo in full would only cost time and memory.
JPEG_DRAFT_SIDE = 4 * IMAGE_SIZE * 8


class InvalidImageError(ClientError):
    """The upload cannot be used as a digit image; the message says why, for the client."""


class NoDigitError(InvalidImageError):
    """The image decodes, but holds no ink: a blank page, a uniform colour. Answered 422, not guessed."""

    def __init__(self) -> None:
        super().__init__("no digit found in the image", status=422)


@dataclass(frozen=True)
class Preprocessed:
    tensor: torch.Tensor  # the normalized (1, 28, 28) model input
    # The digit's left, top, right, bottom (exclusive) in the upload's pixels; None for an upload in
    # MNIST's frame, whose box is the ink's in the input itself, found only when asked (the hot path
    # of MNIST-sized uploads does not pay for it).
    found_box: tuple[int, int, int, int] | None = None

    @property
    def box(self) -> tuple[int, int, int, int]:
        if self.found_box is not None:
            return self.found_box
        ink = self.tensor[0] * MNIST_STD + MNIST_MEAN
        rows, cols = torch.nonzero(ink >= INK_THRESHOLD - 1e-6, as_tuple=True)
        return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def normalize(images: torch.Tensor) -> torch.Tensor:
    """Normalize intensities in [0, 1] (white ink on black) exactly as in training."""
    return (images - MNIST_MEAN) / MNIST_STD


def preprocess_image_bytes(data: bytes | bytearray, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Turn an uploaded image file into the network's input: a normalized ``(1, 28, 28)`` tensor.

    Raises :class:`InvalidImageError` for anything that is not a usable image, and its subclass
    :class:`NoDigitError` (422) for an image without ink.
    """
    return preprocess_upload(data, max_pixels).tensor


def preprocess_upload(data: bytes | bytearray, max_pixels: int = MAX_PIXELS) -> Preprocessed:
    """The network's input and where the digit was found in the upload (as displayed, EXIF applied)."""
    image, decoded_at = decode_image(data, max_pixels)
    if image.size == (IMAGE_SIZE, IMAGE_SIZE):
        # An upload already in MNIST's 28x28 frame is left in place: re-centring it would move the
        # pixels of every MNIST digit a little and so change what the model was trained on.
        frame = to_ink(image)
        if frame.max() < INK_THRESHOLD:
            raise NoDigitError
        box = None
    else:
        page, scale = work_copy(to_grayscale(image))
        found = find_digit(page)
        if found is None:
            raise NoDigitError
        frame = fit_to_mnist_frame(found.ink)
        box = _in_upload_pixels(found.box, scale, image.size, decoded_at)
    return Preprocessed(normalize(torch.from_numpy(frame).unsqueeze(0)), box)


def _in_upload_pixels(
    box: tuple[int, int, int, int], scale: float, size: tuple[int, int], decoded_at: float
) -> tuple[int, int, int, int]:
    """A box in the analysed page (``scale`` decoded pixels each, the decoded image ``size``) scaled
    back to the upload's own pixel grid, clipped to it."""
    width, height = round(size[0] * decoded_at), round(size[1] * decoded_at)
    left, top, right, bottom = (round(v * scale * decoded_at) for v in box)
    return min(left, width), min(top, height), min(right, width), min(bottom, height)


def decode_image(data: bytes | bytearray, max_pixels: int = MAX_PIXELS) -> tuple[Image.Image, float]:
    """Decode an upload safely: known formats only, pixel count capped, truncation detected.

    Returns the image (EXIF orientation applied) and how many upload pixels each of its pixels spans:
    more than 1 where a big JPEG was decoded at a reduced scale.
    """
    if not data:
        raise InvalidImageError("the image file is empty")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; our own cap decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise InvalidImageError(f"image too large: {exc}", status=413) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError("not a decodable image (expected PNG, JPEG, GIF, BMP or WebP)") from exc
    if image.format not in ALLOWED_FORMATS:
        raise InvalidImageError(f"unsupported image format {image.format}; use PNG, JPEG, GIF, BMP or WebP")
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidImageError(f"image too large: {width}x{height} pixels, limit is {max_pixels} pixels", 413)
    if _is_animated(image):
        # Which frame holds "the" digit is anyone's guess; refuse rather than guess.
        raise InvalidImageError("animated images are not accepted: send a single still image")
    if image.format == "JPEG" and max(width, height) > JPEG_DRAFT_SIDE:
        image.draft(image.mode, (JPEG_DRAFT_SIDE, JPEG_DRAFT_SIDE))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"the image data is truncated or corrupt: {exc}") from exc
    decoded_at = max(width, height) / max(image.size)
    # Phone photos are stored sideways with an EXIF orientation tag; honour it.
    return ImageOps.exif_transpose(image), decoded_at


def _is_animated(image: Image.Image) -> bool:
    """True for a multi-frame GIF, APNG or WebP (Pillow only seeks as far as the second frame)."""
    try:
        animated = bool(getattr(image, "is_animated", False))
    except (OSError, EOFError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"the image data is truncated or corrupt: {exc}") from exc
    if animated:
        image.seek(0)
    return animated


def to_ink(image: Image.Image) -> np.ndarray:
    """Grayscale intensities in [0, 1] as MNIST has them: bright ink on a black background.

    For an upload already in MNIST's frame: the paper is one level, read off the border ring.
    """
    gray = to_grayscale(image)
    background = float(np.median(_border(gray)))
    if background > 0.5:  # dark ink on light paper: invert to MNIST's polarity
        gray = 1.0 - gray
        background = 1.0 - background
    if background > 0.0:
        # Stretch so the paper becomes 0; an MNIST digit (background 0) is untouched.
        gray = np.clip((gray - background) / (1.0 - background), 0.0, 1.0)
    return gray.astype(np.float32)


def to_grayscale(image: Image.Image) -> np.ndarray:
    """Luma in [0, 1] as float64, alpha composited onto white, 16-bit depth kept."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit PNGs open as I;16 or I (32-bit container holding 0..65535).
        return np.asarray(image, dtype=np.float64) / 65535.0
    if image.mode in ("P", "PA"):
        # Palette entries may carry transparency (tRNS / GIF transparency index).
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def fit_to_mnist_frame(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, scale it into a 20x20 box by aspect ratio, centre by mass in 28x28.

    Ink under INK_THRESHOLD is dropped first: it neither widens the box nor moves the centre.
    """
    ink = np.where(ink >= INK_THRESHOLD, ink, 0.0)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    frame = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    if rows.size == 0:
        return frame
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = _scale_into_box(crop, DIGIT_BOX)
    top, left = _centre_of_mass_offset(digit)
    height, width = digit.shape
    frame[top : top + height, left : left + width] = digit
    return frame


def _scale_into_box(crop: np.ndarray, box: int) -> np.ndarray:
    height, width = crop.shape
    scale = box / max(height, width)
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
