"""PNG plots of a training run: learning curves, grids of predictions and confusion matrices (MNIST test
set and user-upload set)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: training runs on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from evaluation.uploads import Upload
from model.network import NUM_CLASSES

GRID_COLUMNS = 8
GRID_FIRST = 32  # the first test images, as they come
GRID_MISTAKES = 16  # then misclassified ones, which are the interesting part


def plot_curves(history: list[dict[str, float]], path: Path) -> None:
    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    loss_axis.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    loss_axis.plot(epochs, [row["test_loss"] for row in history], marker="o", label="test")
    loss_axis.set(title="Cross-entropy loss", xlabel="epoch", ylabel="loss")
    loss_axis.legend()
    accuracy_axis.plot(epochs, [100 * row["test_accuracy"] for row in history], marker="o", color="C2")
    accuracy_axis.set(title="Test accuracy", xlabel="epoch", ylabel="accuracy (%)")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
    _save(figure, path)


def plot_prediction_grid(images: torch.Tensor, labels: torch.Tensor, predictions: torch.Tensor, path: Path) -> None:
    """First test images, then misclassified ones; mistakes titled in red."""
    wrong = torch.nonzero(predictions != labels).flatten()[:GRID_MISTAKES]
    chosen = torch.cat([torch.arange(min(GRID_FIRST, len(images))), wrong]).tolist()
    cells = [(images[i].squeeze(0).numpy(), "", int(labels[i]), int(predictions[i])) for i in chosen]
    _grid(cells, "Test predictions (first images, then misclassified ones in red)", path, cell_size=(1.3, 1.5))


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """Counts, rows = true digit, columns = predicted digit."""
    flat = labels * NUM_CLASSES + predictions
    return torch.bincount(flat, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def plot_upload_grid(uploads: list[Upload], labels: torch.Tensor, predictions: torch.Tensor, path: Path) -> None:
    """The first two files of each upload variant as a user sent them, then mistakes; mistakes in red."""
    firsts: dict[str, list[int]] = {}
    for index, upload in enumerate(uploads):
        firsts.setdefault(upload.variant, []).append(index)
    chosen = [i for indices in firsts.values() for i in indices[:2]]
    chosen += [i for i in torch.nonzero(predictions != labels).flatten().tolist() if i not in chosen][:GRID_MISTAKES]
    cells = [
        (_thumbnail(uploads[i].data), f"{uploads[i].variant}\n", int(labels[i]), int(predictions[i])) for i in chosen
    ]
    title = "User-upload set: files as sent, with the model's answers (mistakes in red)"
    _grid(cells, title, path, cell_size=(1.5, 1.8))


def _thumbnail(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if image.mode.startswith("I"):  # 16-bit: Pillow cannot convert it for display directly
        image = Image.fromarray((np.asarray(image, dtype=np.float64) / 257).clip(0, 255).astype(np.uint8))
    image = image.convert("RGBA")
    image.thumbnail((112, 112))
    return image


def _grid(cells: list[tuple[object, str, int, int]], title: str, path: Path, cell_size: tuple[float, float]) -> None:
    """Images in rows of GRID_COLUMNS, each titled with a caption and true/predicted digit."""
    rows = -(-len(cells) // GRID_COLUMNS)
    size = (GRID_COLUMNS * cell_size[0], rows * cell_size[1])
    figure, axes = plt.subplots(rows, GRID_COLUMNS, figsize=size, squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (image, caption, true, predicted) in zip(axes.flat, cells, strict=False):
        if isinstance(image, Image.Image):
            axis.imshow(image)
        else:
            axis.imshow(image, cmap="gray", vmin=0, vmax=1)
        mistake = true != predicted
        label = f"{caption}true {true} / pred {predicted}" + (" ✗" if mistake else "")
        axis.set_title(label, fontsize=6 if caption else 7, color="red" if mistake else "black")
    figure.suptitle(title)
    _save(figure, path)


def plot_confusion_matrix(matrix: torch.Tensor, path: Path, title: str = "Confusion matrix (MNIST test set)") -> None:
    figure, axis = plt.subplots(figsize=(7, 6))
    shown = axis.imshow(matrix.numpy(), cmap="Blues", norm=matplotlib.colors.LogNorm(vmin=1))
    figure.colorbar(shown, ax=axis, label="count (log scale)")
    for true in range(NUM_CLASSES):
        for predicted in range(NUM_CLASSES):
            count = int(matrix[true, predicted])
            if count:
                axis.text(
                    predicted,
                    true,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if true == predicted else "black",
                )
    axis.set(
        xticks=range(NUM_CLASSES),
        yticks=range(NUM_CLASSES),
        xlabel="predicted digit",
        ylabel="true digit",
        title=title,
    )
    _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
