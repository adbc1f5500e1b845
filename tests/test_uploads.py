"""Accuracy on realistic uploads (built from MNIST test digits), on photo-like uploads, on typed digits
and on the hand-drawn set: offline through the shared preprocessing, and over HTTP."""

from __future__ import annotations

from collections import defaultdict

import pytest
import torch

from evaluation.handdrawn import OUTPUT, handdrawn_set
from evaluation.imaging import encode
from evaluation.over_http import classify_all
from evaluation.photos import VARIANTS as PHOTO_VARIANTS
from evaluation.photos import build_photos, build_typed
from evaluation.uploads import VARIANTS, build_uploads
from harness.launcher import Deployment
from tests.conftest import skip_unless_required
from train.upload_eval import predict_files, served

DIGITS_PER_VARIANT = 200
PHOTOS_PER_VARIANT = 60
# Floors a little under the measured figures (README): a regression in preprocessing trips them.
MIN_VARIANT_ACCURACY = 0.96
MIN_PHOTO_ACCURACY = 0.95  # per photo variant, 60 photos each (the README's figures are on 300)
MIN_TYPED_ACCURACY = 0.98
# Of 30, as docs/accuracy.md reports: 29 right; the 30th, a "1" with a long flag, the model reads as 7 or
# 1 (36 % against 33 %), under the refusal threshold, so the service refuses it rather than answer 7.
MIN_HANDDRAWN_CORRECT = 29


@pytest.fixture(scope="module")
def uploads(mnist_pixels):
    return build_uploads(mnist_pixels, range(DIGITS_PER_VARIANT))


def test_every_variant_is_read_accurately_offline(uploads, mnist_test, shipped_model, service_input):
    with torch.inference_mode():
        predictions = shipped_model(torch.stack([service_input(u.data) for u in uploads])).argmax(dim=1)
    hits: dict[str, int] = defaultdict(int)
    for upload, predicted in zip(uploads, predictions.tolist(), strict=True):
        hits[upload.variant] += predicted == int(mnist_test.labels[upload.index])
    accuracy = {variant: hits[variant] / DIGITS_PER_VARIANT for variant in VARIANTS}
    assert min(accuracy.values()) >= MIN_VARIANT_ACCURACY, accuracy


def test_the_upload_set_is_deterministic(mnist_pixels):
    first, second = build_uploads(mnist_pixels, range(3)), build_uploads(mnist_pixels, range(3))
    assert [u.data for u in first] == [u.data for u in second]


@pytest.fixture(scope="module")
def photos(mnist_pixels, mnist_test):
    return build_photos(mnist_pixels, mnist_test.labels.numpy(), range(PHOTOS_PER_VARIANT))


def test_every_photo_variant_is_read_accurately_offline(photos, shipped_model, shipped_calibration):
    # A photo refused as "not a digit" counts as wrong.
    predictions = predict_files(shipped_model, shipped_calibration, [photo.data for photo in photos]).answers.tolist()
    hits: dict[str, int] = defaultdict(int)
    for photo, predicted in zip(photos, predictions, strict=True):
        hits[photo.variant] += predicted == photo.label
    accuracy = {variant: hits[variant] / PHOTOS_PER_VARIANT for variant in PHOTO_VARIANTS}
    assert min(accuracy.values()) >= MIN_PHOTO_ACCURACY, accuracy


def test_typed_digits_in_every_installed_font(shipped_model, shipped_calibration):
    typed = build_typed()
    if not typed:
        skip_unless_required("no TrueType or OpenType font on this machine")
    assert len(typed) >= 300
    predictions = predict_files(shipped_model, shipped_calibration, [photo.data for photo in typed]).answers.tolist()
    correct = sum(p == photo.label for p, photo in zip(predictions, typed, strict=True))
    assert correct / len(typed) >= MIN_TYPED_ACCURACY


def test_the_photo_set_is_deterministic(mnist_pixels, mnist_test):
    labels = mnist_test.labels.numpy()
    first, second = build_photos(mnist_pixels, labels, range(2)), build_photos(mnist_pixels, labels, range(2))
    assert [p.data for p in first] == [p.data for p in second]
    assert len({p.variant for p in first}) == len(PHOTO_VARIANTS) >= 14


def test_photos_over_http_agree_with_offline(deployment: Deployment, photos, shipped_model, shipped_calibration):
    """One photo of each variant in four through the live service: the same answer as offline (the
    digit, or the same refusal)."""
    chosen = photos[::4]
    offline = predict_files(shipped_model, shipped_calibration, [photo.data for photo in chosen]).answers.tolist()
    answers = classify_all(f"{deployment.proxy}/classify", [photo.data for photo in chosen])
    assert [served(a.status, a.body) for a in answers] == offline


def test_handdrawn_digits_offline(shipped_model, service_input):
    drawings = handdrawn_set()
    with torch.inference_mode():
        batch = torch.stack([service_input(encode(image, "PNG")) for _, _, image in drawings])
        predictions = shipped_model(batch).argmax(dim=1).tolist()
    correct = sum(p == digit for p, (digit, _, _) in zip(predictions, drawings, strict=True))
    assert correct >= MIN_HANDDRAWN_CORRECT


def test_handdrawn_files_over_http(deployment: Deployment):
    """The committed drawings (the README's curl examples) classified by the live service."""
    paths = sorted(OUTPUT.glob("*.png"))
    assert len(paths) == 30
    answers = classify_all(f"{deployment.proxy}/classify", [p.read_bytes() for p in paths])
    correct = sum(
        a.status == 200 and a.body["predicted_digit"] == int(p.name[0]) for a, p in zip(answers, paths, strict=True)
    )
    assert correct >= MIN_HANDDRAWN_CORRECT
    # Every other drawing is refused as "not a digit", never answered with a wrong digit.
    assert all(a.status == 200 or a.body["error"] == "not a digit" for a in answers)
    pairs = zip(answers, paths, strict=True)
    assert all(a.status != 200 or a.body["predicted_digit"] == int(p.name[0]) for a, p in pairs)
