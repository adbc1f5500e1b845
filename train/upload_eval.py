"""The trained model on the user-upload set (evaluation/uploads.py): accuracy per variant and plots.

Training ends with it, so every run shows how the model does on real-looking uploads (through the
same preprocess_image_bytes as the service), not only on MNIST tensors.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from evaluation.uploads import build_uploads
from model.network import MnistClassifier
from model.preprocess import preprocess_image_bytes
from train import plots

GRID_NAME = "uploads_predictions.png"
MATRIX_NAME = "uploads_confusion_matrix.png"


def predict_files(model: MnistClassifier, files: list[bytes]) -> torch.Tensor:
    """The digit the model reads in each image file, through the service's own preprocessing."""
    model.eval()
    with torch.inference_mode():
        return model(torch.stack([preprocess_image_bytes(data) for data in files])).argmax(dim=1)


def evaluate_on_uploads(
    model: MnistClassifier, pixels: np.ndarray, labels: torch.Tensor, out: Path, digits: int
) -> dict:
    """Accuracy on the upload set made of ``digits`` test digits spread over the test set, each in
    every variant, overall and per variant; writes the grid and confusion-matrix plots."""
    uploads = build_uploads(pixels, range(0, len(pixels), len(pixels) // digits))
    truth = torch.tensor([int(labels[upload.index]) for upload in uploads])
    predictions = predict_files(model, [upload.data for upload in uploads])
    right: dict[str, list[bool]] = defaultdict(list)
    for upload, true, predicted in zip(uploads, truth.tolist(), predictions.tolist(), strict=True):
        right[upload.variant].append(true == predicted)
    plots.plot_upload_grid(uploads, truth, predictions, out / GRID_NAME)
    matrix = plots.confusion_matrix(truth, predictions)
    plots.plot_confusion_matrix(matrix, out / MATRIX_NAME, f"Confusion matrix (user-upload set, {len(uploads)} files)")
    return {
        "images": len(uploads),
        "accuracy": float((predictions == truth).float().mean()),
        "per_variant_accuracy": {variant: sum(hits) / len(hits) for variant, hits in right.items()},
    }
