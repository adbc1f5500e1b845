"""The first two stages of preprocessing: decode an upload safely, and make it a grayscale page no
larger than the digit finding analyses.

A worker's memory per image is bounded by what is decoded at full size, and nothing else grows with
the upload: big JPEGs are decoded at a reduced scale, every other image is converted to grayscale and
reduced strip by strip (a strip at a time is the only copy at full resolution besides the decoded
image), and only the reduced page becomes float. docs/scaling.md has the figures.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image, ImageOps

from model.errors import InvalidImageError

# Formats that an upload may be in. Anything else Pillow can open (TIFF, PSD, ICO...) is refused:
# a smaller decoder surface, and the documented contract stays the tested one.
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "BMP", "WEBP"})
ALLOWED_IN_WORDS = "PNG, JPEG, GIF, BMP or WebP"  # the same, as the error messages name them
# HEIF's brands (ISO/IEC 23008-12), named by its file-type box: an iPhone's photos are HEIC unless
# its camera is set to "Most Compatible". Pillow has no decoder for them, so they are named, not opened.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})

# Decompression-bomb guards, checked from the header before decoding: a few-kB PNG can declare a
# gigapixel canvas. MAX_PIXELS bounds any upload (a JPEG's decoding time grows with it even when it is
# decoded reduced); MAX_DECODED_PIXELS bounds what is decoded at full size (Pillow holds up to four
# bytes a pixel), which sets a worker's peak memory per image (docs/scaling.md).
MAX_PIXELS = 40_000_000
MAX_DECODED_PIXELS = 16_000_000

# The page is analysed at most this many pixels on its longer side: enough for the digit to keep
# 20x20 detail when it fills a tenth of the photo, and cheap for the filters.
WORK_SIDE = 640

# Big JPEGs are decoded at a reduced scale (libjpeg's DCT scaling) no smaller than the analysed size:
# decoding a 12 MP photo in full would only cost time and memory.
JPEG_DRAFT_SIDE = WORK_SIDE

SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")
ALPHA_MODES = ("RGBA", "LA", "La", "PA")
# Modes whose pixels have colour and no alpha, and ITU-R 601's luma weights (Pillow's "L").
COLOUR_MODES = frozenset({"RGB", "YCbCr", "CMYK", "P", "RGBX"})
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# Pixels of the full-size image converted at a time (a strip of whole rows).
STRIP_PIXELS = 1 << 20


def decode_image(
    data: bytes | bytearray, max_pixels: int = MAX_PIXELS, max_decoded: int = MAX_DECODED_PIXELS
) -> tuple[Image.Image, float]:
    """Decode an upload safely: known formats only, pixel counts capped, truncation detected.

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
        if data[4:8] == b"ftyp" and bytes(data[8:12]) in HEIF_BRANDS:
            raise InvalidImageError(
                f"unsupported image format HEIC (an iPhone's photos); use {ALLOWED_IN_WORDS} "
                "(an iPhone takes JPEGs with Settings > Camera > Formats > Most Compatible)"
            ) from exc
        raise InvalidImageError(f"not a decodable image (expected {ALLOWED_IN_WORDS})") from exc
    if image.format not in ALLOWED_FORMATS:
        raise InvalidImageError(f"unsupported image format {image.format}; use {ALLOWED_IN_WORDS}")
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidImageError(f"image too large: {width}x{height} pixels, limit is {max_pixels} pixels", 413)
    if _is_animated(image):
        # Which frame holds "the" digit is anyone's guess; refuse rather than guess.
        raise InvalidImageError("animated images are not accepted: send a single still image")
    if image.format == "JPEG" and max(width, height) > JPEG_DRAFT_SIDE:
        image.draft(image.mode, (JPEG_DRAFT_SIDE, JPEG_DRAFT_SIDE))  # the size it will decode at, from here
    if image.size[0] * image.size[1] > max_decoded:
        limit = f"{max_decoded} pixels ({max_pixels} for a JPEG, which is decoded reduced)"
        raise InvalidImageError(f"image too large: {width}x{height} pixels, limit is {limit}", 413)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"the image data is truncated or corrupt: {exc}") from exc
    decoded_at = max(width, height) / max(image.size)
    # Phone photos are stored sideways with an EXIF orientation tag; honour it (in place: otherwise
    # Pillow returns a full-size copy even of an image that needs no turning).
    ImageOps.exif_transpose(image, in_place=True)
    return image, decoded_at


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
    """Luma in [0, 1] (float32), alpha composited onto white or black, 16-bit depth kept; at most ``max_side``
    on the longer side. Returns it and how many of the image's pixels each of its pixels spans.

    Converted and box-reduced by the largest whole factor a strip at a time, then area-averaged to
    ``max_side``: the same average as one resize, without a full-size copy in the converted mode."""
    mode = _analysed_mode(image)
    levels = _reduced_levels(image, mode, max_side)
    if mode == "I":  # OpenCV's area resize takes 16-bit, not 32-bit, integers
        levels = np.clip(levels, 0, 65535).astype(np.uint16)
    levels = _shrink(levels, max_side)
    if mode == "I":
        return levels.astype(np.float32) / 65535.0, _spans(image, levels)
    if mode == "La":
        # Premultiplied, so that reducing averages what is seen; then composited onto a ground it shows on.
        luma, alpha = levels[..., 0].astype(np.float32), levels[..., 1].astype(np.float32)
        return _composited(luma, alpha), _spans(image, levels)
    return levels.astype(np.float32) / 255.0, _spans(image, levels)


def _composited(luma: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Premultiplied luma and its alpha (8-bit levels) composited onto white, or onto black where what
    is drawn is nearer white than black: a drawing app's export in a dark theme's white pen is a
    digit in the alpha channel, and on white it would vanish. An opaque image is the same on both."""
    drawn = float(luma.sum()) / max(float(alpha.sum()), 1.0)  # the visible pixels' mean luma, in [0, 1]
    if drawn > 1.0 - drawn:
        return luma / 255.0
    return (luma + 255.0 - alpha) / 255.0


def darkest_channel(image: Image.Image, max_side: int | None = None) -> np.ndarray | None:
    """A second page for ink in a colour that luma hardly shows (a yellow highlighter on white paper
    is nearly white in luma and dark in blue): the image white-balanced on its median colour (the
    majority surface becomes grey), then each pixel's darkest channel. Same shape as
    :func:`to_grayscale`'s page; on a grey image it is that page. None for images without colour,
    with alpha or 16-bit depth (their luma is all there is, or what they are composited onto)."""
    if image.mode not in COLOUR_MODES or _analysed_mode(image) != "L":  # a palette may carry transparency
        return None
    levels = _reduced_levels(image, "RGB", max_side)
    median = np.median(levels[::4, ::4].reshape(-1, 3), axis=0)
    gains = float(median @ LUMA) / np.maximum(median, 1.0)
    # In 8-bit levels with OpenCV, channel by channel (saturating at white), then reduced as luma is.
    balanced = [cv2.convertScaleAbs(np.ascontiguousarray(levels[..., c]), alpha=float(gains[c])) for c in range(3)]
    darkest = _shrink(cv2.min(cv2.min(balanced[0], balanced[1]), balanced[2]), max_side)
    return darkest.astype(np.float32) / 255.0


def _spans(image: Image.Image, levels: np.ndarray) -> float:
    return max(image.size) / max(levels.shape[:2])


def _analysed_mode(image: Image.Image) -> str:
    """Pillow's mode the image is reduced in: 16-bit depth in 32-bit integers (I), luma with
    premultiplied alpha (La), or 8-bit luma (L)."""
    if image.mode in SIXTEEN_BIT_MODES:
        return "I"  # 16-bit PNGs open as I;16 or I (a 32-bit container holding 0..65535)
    if image.mode in ALPHA_MODES or image.mode == "RGBa" or (image.mode == "P" and "transparency" in image.info):
        return "La"  # palette entries may carry transparency (tRNS, a GIF's transparency index)
    return "L"


def _reduced_levels(image: Image.Image, mode: str, max_side: int | None) -> np.ndarray:
    """The image in ``mode``, converted and box-reduced by the largest whole factor that keeps it at
    least ``max_side`` on its longer side, a strip at a time, as one integer array."""
    factor = max(1, max(image.size) // max_side) if max_side else 1
    pieces = [np.asarray(_reduced(_converted(strip, mode), factor)) for strip in _strips(image, factor)]
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def _converted(strip: Image.Image, mode: str) -> Image.Image:
    if strip.mode == mode:
        return strip
    if mode in ("I", "RGB"):
        return strip.convert(mode)
    if mode == "La":
        if strip.mode == "RGBa":  # Pillow's LA conversion would drop its alpha
            strip = strip.convert("RGBA")
        return strip.convert("LA").convert("La")
    return strip.convert("L")


def _reduced(image: Image.Image, factor: int) -> Image.Image:
    return image.reduce(factor) if factor > 1 else image  # reduce(1) would be a copy


def _strips(image: Image.Image, factor: int) -> Iterator[Image.Image]:
    """The image as strips of whole rows, each a multiple of ``factor`` rows high (so that reducing
    the strips gives the rows that reducing the whole would), about STRIP_PIXELS each."""
    width, height = image.size
    rows = max(factor, STRIP_PIXELS // max(width, 1) // factor * factor)
    if rows >= height:
        yield image
        return
    for top in range(0, height, rows):  # one at a time: a list would be a full-size copy
        yield image.crop((0, top, width, min(top + rows, height)))


def _shrink(levels: np.ndarray, max_side: int | None) -> np.ndarray:
    """``levels`` (integer, any channels) area-averaged to at most ``max_side``, still integer."""
    height, width = levels.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return levels
    scale = max(height, width) / max_side
    size = (max(1, round(width / scale)), max(1, round(height / scale)))
    return cv2.resize(levels, size, interpolation=cv2.INTER_AREA)
