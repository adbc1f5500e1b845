"""Decoding an upload within a worker's memory: the two pixel limits, strip-by-strip conversion, and
the worst upload the limits allow measured in a worker-like process (docs/scaling.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from bench.worst_case import measure, worst_files
from evaluation.imaging import encode
from model import decode
from model.decode import MAX_DECODED_PIXELS, MAX_PIXELS, WORK_SIDE, darkest_channel, decode_image, to_grayscale
from model.errors import InvalidImageError
from tests.malformed import HEIC_START

# What one image may add to a worker's resident memory, and take on one core (docs/scaling.md).
WORKER_IMAGE_MB = 150
WORKER_IMAGE_SECONDS = 0.5


def test_an_iphone_photo_in_heic_is_named_and_the_way_to_jpeg_said():
    with pytest.raises(InvalidImageError, match="unsupported image format HEIC") as caught:
        decode_image(HEIC_START + bytes(256))
    assert caught.value.status == 400 and "Most Compatible" in str(caught.value)
    with pytest.raises(InvalidImageError, match="not a decodable image"):  # another ISO media file: a video
        decode_image(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(256))


def test_a_png_over_the_decoded_limit_is_refused_from_its_header():
    side = math.isqrt(MAX_DECODED_PIXELS) + 1
    with pytest.raises(InvalidImageError, match="too large") as caught:
        decode_image(encode(Image.new("L", (side, side), 255), "PNG"))
    assert caught.value.status == 413


def test_a_jpeg_over_the_decoded_limit_is_decoded_reduced():
    side = math.isqrt(MAX_PIXELS) - 10
    image, decoded_at = decode_image(encode(Image.new("RGB", (side, side), (200, 200, 200)), "JPEG"))
    assert decoded_at == pytest.approx(8, rel=0.01) and max(image.size) >= WORK_SIDE


def test_a_jpeg_that_cannot_be_decoded_reduced_counts_in_full():
    """A long thin JPEG: reducing it would make its short side too small, so it decodes full size."""
    data = encode(Image.new("L", (MAX_DECODED_PIXELS // 700 + 100, 700), 255), "JPEG")
    with pytest.raises(InvalidImageError, match="too large"):
        decode_image(data)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "RGBa", "I;16", "I", "P", "1", "CMYK"])
def test_strip_by_strip_is_the_same_as_the_whole_image(mode, monkeypatch):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(1999, 1301, 4), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA").convert(mode) if mode not in ("I;16", "I") else None
    if image is None:
        image = Image.fromarray(rng.integers(0, 65536, size=(1999, 1301), dtype=np.uint16)).convert(mode)
    whole, whole_scale = to_grayscale(image, WORK_SIDE)
    monkeypatch.setattr(decode, "STRIP_PIXELS", 7 * 1301)  # a strip of a few rows
    strips, strips_scale = to_grayscale(image, WORK_SIDE)
    assert whole.shape == strips.shape and max(whole.shape) == WORK_SIDE and whole_scale == strips_scale
    np.testing.assert_array_equal(whole, strips)


def test_the_darkest_channel_is_luma_on_a_grey_image_and_shows_a_pale_colour():
    rng = np.random.default_rng(2)
    grey = rng.integers(0, 256, size=(900, 1300), dtype=np.uint8)
    image = Image.fromarray(np.stack([grey] * 3, axis=-1), "RGB")
    np.testing.assert_allclose(darkest_channel(image, WORK_SIDE), to_grayscale(image, WORK_SIDE)[0], atol=1e-6)
    page = np.full((300, 400, 3), (247, 247, 242), np.uint8)
    page[100:200, 150:250] = (250, 237, 77)  # a yellow highlighter's patch
    image = Image.fromarray(page, "RGB")
    luma, darkest = to_grayscale(image)[0], darkest_channel(image)
    assert luma[150, 200] > 0.85 * luma[20, 20]  # luma hardly shows it
    assert darkest[150, 200] < 0.4 * darkest[20, 20]  # its darkest channel does
    assert darkest[20, 20] == pytest.approx(luma[20, 20], abs=0.01)  # the paper, balanced to grey


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "I;16", "1"])
def test_an_image_without_colour_or_with_alpha_has_no_darkest_channel(mode):
    assert darkest_channel(Image.new(mode, (40, 30))) is None


def test_the_darkest_channel_strip_by_strip_is_the_same_as_the_whole_image(monkeypatch):
    pixels = np.random.default_rng(3).integers(0, 256, size=(1999, 1301, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    whole = darkest_channel(image, WORK_SIDE)
    monkeypatch.setattr(decode, "STRIP_PIXELS", 7 * 1301)
    np.testing.assert_array_equal(whole, darkest_channel(image, WORK_SIDE))


@pytest.mark.parametrize("name", list(worst_files()))
def test_the_worst_upload_the_limits_allow_stays_within_a_workers_bound(name):
    """The bound that sets the pod's memory for TorchServe (docs/scaling.md): asserted on resident memory,
    which this machine's load does not change; the time is reported (make bench-worst), not asserted."""
    got = measure(worst_files()[name])
    print(f"\n{name}: {got['seconds'] * 1000:.0f} ms, peak RSS +{got['rss_rise_mb']:.0f} MB")
    assert got["rss_rise_mb"] <= WORKER_IMAGE_MB


def test_a_batch_of_the_worst_pngs_peaks_as_one_does():
    """The handler decodes a batch one image after another: 16 of the worst PNG stay within one's bound."""
    name = next(name for name in worst_files() if "alpha" in name)
    got = measure(worst_files()[name], copies=16)
    print(f"\n16 x {name}: {got['seconds']:.1f} s, peak RSS +{got['rss_rise_mb']:.0f} MB")
    assert got["rss_rise_mb"] <= WORKER_IMAGE_MB
