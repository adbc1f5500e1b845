"""The packed-batch format between the proxy and the handler (model/image_batch.py)."""

from __future__ import annotations

import pytest
from PIL import Image

from evaluation.imaging import encode
from model.image_batch import (
    LENGTH_BYTES,
    MAGIC,
    MAX_IMAGES_PER_REQUEST,
    ImageBatchError,
    is_packed,
    pack_images,
    unpack_images,
    wants_explanation,
)


def test_files_come_back_in_order_and_intact():
    files = [b"", b"\x00" * 5, bytes(range(256)) * 40, MAGIC]
    packed = pack_images(files)
    assert is_packed(packed) and unpack_images(packed) == files
    assert unpack_images(bytearray(packed)) == files  # TorchServe hands the handler a bytearray
    assert not wants_explanation(packed)


def test_an_explained_batch_says_so_and_unpacks_the_same():
    files = [b"one", b"two"]
    packed = pack_images(files, explain=True)
    assert is_packed(packed) and wants_explanation(packed) and unpack_images(packed) == files


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
def test_no_image_file_is_mistaken_for_a_batch(image_format):
    assert not is_packed(encode(Image.new("RGB", (28, 28), "white"), image_format))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (MAGIC, "no images"),
        (MAGIC + b"\x00\x00", "truncated length"),
        (MAGIC + (10).to_bytes(LENGTH_BYTES, "big") + b"short", "file 0 is truncated"),
        (pack_images([b"ok"]) + (2**32 - 1).to_bytes(LENGTH_BYTES, "big"), "file 1 is truncated"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body, message):
    with pytest.raises(ImageBatchError, match=message) as refused:
        unpack_images(body)
    assert refused.value.status == 400


def test_the_image_cap_holds_on_both_sides():
    with pytest.raises(ValueError):
        pack_images([b"x"] * (MAX_IMAGES_PER_REQUEST + 1))
    over = MAGIC + ((1).to_bytes(LENGTH_BYTES, "big") + b"x") * (MAX_IMAGES_PER_REQUEST + 1)
    with pytest.raises(ImageBatchError) as refused:
        unpack_images(over)
    assert refused.value.status == 413
    assert len(unpack_images(pack_images([b"x"] * MAX_IMAGES_PER_REQUEST))) == MAX_IMAGES_PER_REQUEST
