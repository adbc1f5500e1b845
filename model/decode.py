"""The first two stages of preprocessing: decode an upload safely, and make it a grayscale page no
larger than the digit finding analyses.

The image is reduced while it is still 8-bit (or 16-bit) and only the reduced page becomes float: a
40 MP upload never exists as a float array, so a worker's memory and time per image follow the size
analysed, not the size uploaded (docs/scaling.md has the figures).
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps

from model.errors import InvalidImageError

# Formats that an upload may be in. Anything else Pillow can open (TIFF, PSD, ICO...) is refused:
# a smaller decoder surface, and the documented contract stays the tested one.
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "BMP", "WEBP"})

# Decompression-bomb guard: a few-kB PNG can declare a gigapixel canvas. 40 MP covers phone photos;
# the decoded image is then at most four bytes a pixel. Checked from the header, before decoding.
MAX_PIXELS = 40_000_000

# The page is analysed at most this many pixels on its longer side: enough for the digit to keep
# 20x20 detail when it fills a tenth of the photo, and cheap for the filters.
WORK_SIDE = 640

# Big JPEGs are decoded at a reduced scale (libjpeg's DCT scaling) no smaller than the analysed size:
# decoding a 12 MP photo in full would only cost time and memory.
JPEG_DRAFT_SIDE = WORK_SIDE

SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")
ALPHA_MODES = ("RGBA", "LA", "La", "PA")


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


def to_grayscale(image: Image.Image, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """Luma in [0, 1] (float32), alpha composited onto white, 16-bit depth kept; at most ``max_side``
    on the longer side. Returns it and how many of the image's pixels each of its pixels spans."""
    if image.mode in SIXTEEN_BIT_MODES:
        # 16-bit PNGs open as I;16 or I (a 32-bit container holding 0..65535).
        levels, scale = _shrink(np.asarray(image).astype(np.uint16), max_side)
        return levels.astype(np.float32) / 65535.0, scale
    if image.mode == "RGBa":  # Pillow's LA conversion would drop its alpha
        image = image.convert("RGBA")
    if image.mode == "P":  # palette entries may carry transparency (tRNS, a GIF's transparency index)
        image = image.convert("LA" if "transparency" in image.info else "L")
    if image.mode in ALPHA_MODES:
        # Premultiplied, so that reducing averages what is seen; then composited onto white.
        levels, scale = _shrink(np.asarray(image.convert("LA").convert("La")), max_side)
        luma, alpha = levels[..., 0].astype(np.float32), levels[..., 1].astype(np.float32)
        return (luma + 255.0 - alpha) / 255.0, scale
    levels, scale = _shrink(np.asarray(image if image.mode == "L" else image.convert("L")), max_side)
    return levels.astype(np.float32) / 255.0, scale


def _shrink(levels: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """``levels`` (integer, any channels) area-averaged to at most ``max_side``, still integer."""
    height, width = levels.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return levels, 1.0
    scale = max(height, width) / max_side
    size = (max(1, round(width / scale)), max(1, round(height / scale)))
    return cv2.resize(levels, size, interpolation=cv2.INTER_AREA), max(height, width) / max(size[1], size[0])
