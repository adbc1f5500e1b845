"""Unit tests of the shared preprocessing: formats, modes, sizes, polarity, centring, limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from evaluation.imaging import digit_image, encode, png
from model.errors import InvalidImageError, NoDigitError
from model.preprocess import (
    DIGIT_BOX,
    IMAGE_SIZE,
    MNIST_MEAN,
    MNIST_STD,
    normalize,
    preprocess_upload,
)

BACKGROUND = -MNIST_MEAN / MNIST_STD  # a black pixel after normalization


def first_candidate(data: bytes, max_pixels: int | None = None) -> torch.Tensor:
    """The first candidate the preprocessing proposes: the page's likelier polarity, the digit gathered."""
    item = preprocess_upload(data) if max_pixels is None else preprocess_upload(data, max_pixels)
    assert item.tensors.ndim == 4 and item.tensors.shape[1:] == (1, IMAGE_SIZE, IMAGE_SIZE)
    return item.tensors[0]


def raw(tensor: torch.Tensor) -> np.ndarray:
    """Undo the normalization: intensities in [0, 1]."""
    return (tensor.squeeze(0) * MNIST_STD + MNIST_MEAN).numpy()


def test_an_mnist_png_equals_the_training_tensor(mnist_test, mnist_pixels):
    for index in range(300):
        got = first_candidate(png(mnist_pixels[index]))
        assert got.shape == (1, IMAGE_SIZE, IMAGE_SIZE) and got.dtype == torch.float32
        torch.testing.assert_close(got, normalize(mnist_test.images[index]), atol=1e-6, rtol=0)


def test_an_inverted_mnist_digit_is_turned_back(mnist_test, mnist_pixels):
    got = first_candidate(png(255 - mnist_pixels[7]))
    torch.testing.assert_close(got, normalize(mnist_test.images[7]), atol=1e-5, rtol=0)


def test_sixteen_bit_png_keeps_its_scale(mnist_test, mnist_pixels):
    wide = mnist_pixels[3].astype(np.uint16) * 257  # 8-bit v -> 16-bit v * 257, the same intensity
    image = Image.fromarray(wide)
    assert image.mode.startswith("I;16")
    got = first_candidate(encode(image, "PNG"))
    torch.testing.assert_close(got, normalize(mnist_test.images[3]), atol=1e-5, rtol=0)


def user_upload(pixels: np.ndarray, size: int = 200) -> Image.Image:
    """Dark ink on white paper, scaled up, like a scan or a screenshot."""
    return digit_image(255 - pixels).resize((size, size), Image.Resampling.BILINEAR)


FORMATS = [
    ("PNG", "L"),
    ("PNG", "RGB"),
    ("PNG", "RGBA"),
    ("PNG", "P"),
    ("PNG", "LA"),
    ("PNG", "1"),
    ("JPEG", "L"),
    ("JPEG", "RGB"),
    ("GIF", "P"),
    ("GIF", "L"),
    ("BMP", "RGB"),
    ("BMP", "L"),
    ("BMP", "P"),
    ("WEBP", "RGB"),
    ("WEBP", "RGBA"),
]


@pytest.mark.parametrize(("fmt", "mode"), FORMATS)
def test_every_format_and_mode_is_read_and_classified(
    fmt, mode, mnist_pixels, mnist_test, shipped_model, service_input
):
    correct = 0
    for index in range(10):
        data = encode(user_upload(mnist_pixels[index]).convert(mode), fmt)
        tensor = service_input(data)
        assert tensor.shape == (1, IMAGE_SIZE, IMAGE_SIZE)
        assert torch.isfinite(tensor).all()
        with torch.inference_mode():
            correct += int(shipped_model(tensor.unsqueeze(0)).argmax()) == int(mnist_test.labels[index])
    assert correct >= 9, f"{fmt}/{mode}: {correct}/10"


@pytest.mark.parametrize("pen", [0, 255], ids=["black pen", "white pen"])
def test_a_pen_on_a_transparent_canvas_is_read_as_ink_on_paper(pen, mnist_pixels):
    """A drawing app exports the pen on a fully transparent canvas: the digit is in the alpha channel.
    A black pen is composited onto white; a dark theme's white pen, which would vanish on white, onto
    black. Either reads as the same ink as a black pen on white paper."""
    ink = user_upload(mnist_pixels[0])
    rgba = Image.new("RGBA", ink.size, (pen, pen, pen, 0))
    rgba.putalpha(Image.eval(ink, lambda v: 255 - v))  # opaque where the ink is
    from_alpha = first_candidate(encode(rgba, "PNG"))
    on_white = first_candidate(encode(ink, "PNG"))
    torch.testing.assert_close(from_alpha, on_white, atol=0.02, rtol=0)


def test_palette_with_transparency(mnist_pixels):
    image = user_upload(mnist_pixels[0]).convert("P")
    data = encode(image, "PNG", transparency=255)  # the white palette entry becomes transparent
    tensor = first_candidate(data)
    assert raw(tensor).max() > 0.9 and raw(tensor)[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_off_centre_digit_is_fitted_and_centred(mnist_pixels):
    canvas = Image.new("L", (600, 400), 255)
    canvas.paste(user_upload(mnist_pixels[0], 120), (430, 20))  # top-right corner
    ink = raw(first_candidate(encode(canvas, "PNG")))
    rows, cols = np.nonzero(ink > 0.05)
    assert rows.max() - rows.min() + 1 <= DIGIT_BOX and cols.max() - cols.min() + 1 <= DIGIT_BOX
    total = ink.sum()
    centre = ((ink.sum(axis=1) * np.arange(28)).sum() / total, (ink.sum(axis=0) * np.arange(28)).sum() / total)
    assert centre == pytest.approx((13.5, 13.5), abs=1.0)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (3, 3000), (3000, 3), (29, 27), (2000, 1500)])
def test_any_size_gives_a_28x28_tensor_or_no_digit(size):
    image = Image.new("L", size, 255)
    image.paste(0, (size[0] // 4, size[1] // 4, max(1, size[0] // 2), max(1, size[1] // 2)))
    try:
        tensor = first_candidate(encode(image, "PNG"))
    except NoDigitError:
        return
    assert tensor.shape == (1, IMAGE_SIZE, IMAGE_SIZE) and torch.isfinite(tensor).all()


@pytest.mark.parametrize(
    "blank",
    [
        Image.new("RGB", (64, 48), "white"),
        Image.new("RGB", (640, 480), (40, 90, 200)),
        Image.new("L", (28, 28), 0),
        Image.new("L", (28, 28), 255),
        Image.fromarray(np.clip(np.random.default_rng(3).normal(200, 4, (480, 640)), 0, 255).astype(np.uint8)),
    ],
    ids=["white", "blue", "black-28", "white-28", "grey-paper-with-noise"],
)
def test_an_image_without_ink_has_no_digit(blank):
    with pytest.raises(NoDigitError, match="no digit found in the image") as caught:
        first_candidate(encode(blank, "JPEG" if blank.mode == "RGB" else "PNG"))
    assert caught.value.status == 422


def test_exif_orientation_is_honoured(mnist_pixels):
    upright = user_upload(mnist_pixels[0])
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": stored rotated the other way
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    rotated = first_candidate(encode(stored, "JPEG", exif=exif, quality=95))
    straight = first_candidate(encode(upright, "JPEG", quality=95))
    torch.testing.assert_close(rotated, straight, atol=0.15, rtol=0)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"", 400, "empty"),
        (b"definitely not an image", 400, "not a decodable image"),
        (encode(Image.new("L", (28, 28)), "TIFF"), 400, "unsupported image format"),
        (encode(Image.new("L", (300, 300), 255), "PNG")[:200], 400, "truncated"),
    ],
)
def test_bad_input_raises_a_client_error(data, status, message):
    with pytest.raises(InvalidImageError, match=message) as caught:
        first_candidate(data)
    assert caught.value.status == status


def test_pixel_cap_is_checked_before_decoding():
    image = Image.new("L", (3000, 2000), 255)
    image.paste(0, (1400, 800, 1600, 1200))  # something to find once decoding is allowed
    data = encode(image, "PNG")
    with pytest.raises(InvalidImageError, match="too large") as caught:
        preprocess_upload(data, max_pixels=5_000_000)
    assert caught.value.status == 413
    assert first_candidate(data, max_pixels=6_000_000).shape == (1, 28, 28)


def test_mutated_files_never_escape_as_other_errors():
    """Bytes flipped, cut and inserted into valid files: a tensor or an InvalidImageError, nothing else."""
    rng = np.random.default_rng(0)
    source = Image.fromarray(rng.integers(0, 256, size=(60, 50), dtype=np.uint8))
    files = [
        encode(source.convert(mode), fmt)
        for fmt, mode in [("PNG", "L"), ("PNG", "RGBA"), ("JPEG", "RGB"), ("GIF", "P"), ("BMP", "RGB"), ("WEBP", "RGB")]
    ]
    for _ in range(600):
        data = bytearray(files[rng.integers(len(files))])
        for _ in range(rng.integers(1, 6)):
            position = int(rng.integers(len(data)))
            if rng.random() < 0.7:
                data[position] = int(rng.integers(256))
            else:
                del data[position : position + int(rng.integers(1, 40))]
        try:
            assert first_candidate(bytes(data)).shape == (1, IMAGE_SIZE, IMAGE_SIZE)
        except InvalidImageError as error:
            assert 400 <= error.status < 500
