"""The trained model on the upload sets: accuracy per variant and plots.

The sets are evaluation/uploads.py (formats, polarity, placement) and evaluation/photos.py (phone
photos under uneven light, ruled paper, pencil and marker, typed digits). Training ends with them, so
every run shows how the model does on real-looking uploads (through the same preprocessing as the
service), not only on MNIST tensors.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from evaluation.photos import build_photos, build_typed
from evaluation.uploads import Upload, build_uploads
from model.network import MnistClassifier
from model.preprocess import NoDigitError, preprocess_image_bytes
from train import plots

GRID_NAME = "uploads_predictions.png"
MATRIX_NAME = "uploads_confusion_matrix.png"
NOT_FOUND = -1  # the prediction recorded for a file in which no digit was found (always wrong)


def predict_files(model: MnistClassifier, files: list[bytes]) -> torch.Tensor:
    """The digit the model reads in each image file, through the service's own preprocessing;
    NOT_FOUND where the preprocessing finds no digit."""
    inputs: list[torch.Tensor | None] = []
    for data in files:
        try:
            inputs.append(preprocess_image_bytes(data))
        except NoDigitError:
            inputs.append(None)
    found = [tensor for tensor in inputs if tensor is not None]
    model.eval()
    with torch.inference_mode():
        read = iter(model(torch.stack(found)).argmax(dim=1).tolist() if found else [])
    return torch.tensor([next(read) if tensor is not None else NOT_FOUND for tensor in inputs])


def upload_sets(
    pixels: np.ndarray, labels: torch.Tensor, digits: int, photo_digits: int
) -> tuple[list[Upload], torch.Tensor]:
    """``digits`` test digits spread over the test set in every upload variant, ``photo_digits`` in
    every photo variant, and the typed digits; with the true digit of each."""
    uploads = build_uploads(pixels, range(0, len(pixels), len(pixels) // max(digits, 1))[:digits])
    truth = [int(labels[upload.index]) for upload in uploads]
    if photo_digits == 0:  # no photos, no typed digits (quick runs)
        return uploads, torch.tensor(truth)
    spread = range(0, len(pixels), len(pixels) // photo_digits)[:photo_digits]
    for photo in build_photos(pixels, labels.numpy(), spread) + build_typed():
        uploads.append(Upload(photo.variant, photo.index, photo.data))
        truth.append(photo.label)
    return uploads, torch.tensor(truth)


def evaluate_on_uploads(
    model: MnistClassifier, pixels: np.ndarray, labels: torch.Tensor, out: Path, digits: int, photo_digits: int
) -> dict:
    """Accuracy on the upload sets, overall and per variant; writes the grid and confusion-matrix plots."""
    uploads, truth = upload_sets(pixels, labels, digits, photo_digits)
    predictions = predict_files(model, [upload.data for upload in uploads])
    right: dict[str, list[bool]] = defaultdict(list)
    for upload, true, predicted in zip(uploads, truth.tolist(), predictions.tolist(), strict=True):
        right[upload.variant].append(true == predicted)
    plots.plot_upload_grid(uploads, truth, predictions, out / GRID_NAME)
    found = predictions != NOT_FOUND
    matrix = plots.confusion_matrix(truth[found], predictions[found])
    title = f"Confusion matrix (upload sets, {len(uploads)} files, {int((~found).sum())} without a digit found)"
    plots.plot_confusion_matrix(matrix, out / MATRIX_NAME, title)
    return {
        "images": len(uploads),
        "no_digit_found": int((~found).sum()),
        "accuracy": float((predictions == truth).float().mean()),
        "per_variant_accuracy": {variant: sum(hits) / len(hits) for variant, hits in right.items()},
    }
