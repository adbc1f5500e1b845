"""The trained model on the upload sets: accuracy per variant and plots.

The sets are evaluation/uploads.py (formats, polarity, placement) and evaluation/photos.py (phone
photos under uneven light, ruled paper, pencil and marker, typed digits). Training ends with them, so
every run shows how the model does on real-looking uploads (through the same preprocessing as the
service), not only on MNIST tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from evaluation.photos import build_photos, build_typed
from evaluation.uploads import Upload, build_uploads
from model.calibration import NOT_A_DIGIT, Calibration
from model.errors import NoDigitError
from model.network import NUM_CLASSES, MnistClassifier
from model.preprocess import Preprocessed, preprocess_upload
from model.verify import probabilities_of, read_uploads
from train import plots
from train.calibrate import reliability

GRID_NAME = "uploads_predictions.png"
MATRIX_NAME = "uploads_confusion_matrix.png"
NOT_FOUND = -1  # the prediction recorded for a file in which no digit was found (always wrong)
REFUSED = -2  # the answer recorded for a file refused as "not a digit"


@dataclass(frozen=True)
class Readings:
    """What the service would answer for each file, offline."""

    probabilities: torch.Tensor  # (N, 10) calibrated; zero rows where no digit was found
    found: torch.Tensor  # (N,) a digit was found (else 422 "no digit found")
    refused: torch.Tensor  # (N,) found, but refused as "not a digit" (422)

    @property
    def predictions(self) -> torch.Tensor:
        """The best digit of each file (what ``?best_guess=1`` answers), NOT_FOUND where none was found."""
        return torch.where(self.found, self.probabilities.argmax(dim=1), NOT_FOUND)

    def subset(self, members: torch.Tensor) -> Readings:
        """The readings of the files where ``members`` (a boolean mask) is true."""
        return Readings(self.probabilities[members], self.found[members], self.refused[members])

    @property
    def answers(self) -> torch.Tensor:
        """The digit answered, REFUSED where the file is refused, NOT_FOUND where no digit was found."""
        return torch.where(self.refused, REFUSED, self.predictions)


def served(status: int, body: dict) -> int:
    """A ``POST /classify`` answer recorded as :attr:`Readings.answers` records it offline."""
    if status == 200:
        return int(body["predicted_digit"])
    if status != 422:
        raise ValueError(f"not an answer about the image: HTTP {status} {body}")
    return REFUSED if body.get("error") == NOT_A_DIGIT else NOT_FOUND


def predict_files(model: MnistClassifier, calibration: Calibration, files: list[bytes]) -> Readings:
    """The model's reading of each image file, through the service's own preprocessing and choice
    among candidates."""
    inputs: list[Preprocessed | None] = []
    for data in files:
        try:
            inputs.append(preprocess_upload(data))
        except NoDigitError:
            inputs.append(None)
    found = torch.tensor([item is not None for item in inputs], dtype=torch.bool)
    probabilities = torch.zeros(len(files), NUM_CLASSES)
    model.eval()
    with torch.inference_mode():
        readings = read_uploads([item for item in inputs if item is not None], model, calibration)
    if readings:
        probabilities[found] = probabilities_of(readings)
    return Readings(probabilities, found, found & calibration.refused(probabilities))


def figures(readings: Readings, truth: torch.Tensor) -> dict[str, float]:
    """Accuracy (a refusal or no digit found counts as wrong), the share refused as not a digit, the
    accuracy on the files answered, and the expected calibration error on the files with a digit found."""
    answered = readings.answers >= 0
    found = readings.found
    return {
        "accuracy": (readings.answers == truth).float().mean().item(),
        "refused": readings.refused.float().mean().item(),
        "accuracy_answered": (readings.answers[answered] == truth[answered]).float().mean().item()
        if answered.any()
        else float("nan"),
        "ece": reliability(readings.probabilities[found], truth[found]).ece if found.any() else float("nan"),
    }


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
    model: MnistClassifier,
    calibration: Calibration,
    pixels: np.ndarray,
    labels: torch.Tensor,
    out: Path,
    digits: int,
    photo_digits: int,
) -> dict:
    """Accuracy, refusals and calibration on the upload sets, overall and per variant; writes the grid
    and confusion-matrix plots."""
    uploads, truth = upload_sets(pixels, labels, digits, photo_digits)
    readings = predict_files(model, calibration, [upload.data for upload in uploads])
    variants = np.array([upload.variant for upload in uploads])
    per_variant = {}
    for variant in dict.fromkeys(variants.tolist()):
        members = torch.from_numpy(variants == variant)
        per_variant[variant] = figures(readings.subset(members), truth[members])
    names = {NOT_FOUND: "none found", REFUSED: "not a digit"}
    plots.plot_upload_grid(uploads, truth, readings.answers, out / GRID_NAME, names)
    found = readings.found
    matrix = plots.confusion_matrix(truth[found], readings.predictions[found])
    title = f"Confusion matrix (upload sets, {len(uploads)} files, {int((~found).sum())} without a digit found)"
    plots.plot_confusion_matrix(matrix, out / MATRIX_NAME, title)
    return (
        {"images": len(uploads), "no_digit_found": int((~found).sum())}
        | figures(readings, truth)
        | {"per_variant": per_variant}
    )
