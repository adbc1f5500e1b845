"""PNG plots of a training run: learning curves, grids of predictions and confusion matrices (MNIST test
set and user-upload set), the refusal trade-off and a reliability diagram."""

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
from train.calibrate import Reliability, TradeOff

GRID_COLUMNS = 8
GRID_FIRST = 32  # the first test images, as they come
GRID_MISTAKES = 16  # then misclassified ones, which are the interesting part


def plot_curves(history: list[dict[str, float]], path: Path) -> None:
    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    loss_axis.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    loss_axis.plot(epochs, [row["validation_loss"] for row in history], marker="o", label="validation")
    loss_axis.set(title="Loss (train: digits + outlier exposure)", xlabel="epoch", ylabel="loss")
    loss_axis.legend()
    accuracy_axis.plot(epochs, [100 * row["validation_accuracy"] for row in history], marker="o", color="C2")
    accuracy_axis.set(title="Validation accuracy", xlabel="epoch", ylabel="accuracy (%)")
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


def plot_upload_grid(
    uploads: list[Upload],
    labels: torch.Tensor,
    predictions: torch.Tensor,
    path: Path,
    answer_names: dict[int, str] | None = None,
) -> None:
    """The first two files of each upload variant as a user sent them, then mistakes; mistakes in red.
    ``answer_names``: how to show answers that are not digits (a refusal, no digit found)."""
    firsts: dict[str, list[int]] = {}
    for index, upload in enumerate(uploads):
        firsts.setdefault(upload.variant, []).append(index)
    chosen = [i for indices in firsts.values() for i in indices[:2]]
    chosen += [i for i in torch.nonzero(predictions != labels).flatten().tolist() if i not in chosen][:GRID_MISTAKES]
    cells = [
        (_thumbnail(uploads[i].data), f"{uploads[i].variant}\n", int(labels[i]), int(predictions[i])) for i in chosen
    ]
    title = "User-upload set: files as sent, with the model's answers (mistakes in red)"
    _grid(cells, title, path, cell_size=(1.5, 1.8), answer_names=answer_names)


def _thumbnail(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if image.mode.startswith("I"):  # 16-bit: Pillow cannot convert it for display directly
        image = Image.fromarray((np.asarray(image, dtype=np.float64) / 257).clip(0, 255).astype(np.uint8))
    image = image.convert("RGBA")
    image.thumbnail((112, 112))
    return image


def _grid(
    cells: list[tuple[object, str, int, int]],
    title: str,
    path: Path,
    cell_size: tuple[float, float],
    answer_names: dict[int, str] | None = None,
) -> None:
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
        answer = (answer_names or {}).get(predicted, str(predicted))
        label = f"{caption}true {true} / pred {answer}" + (" ✗" if mistake else "")
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


def plot_refusal(curve: TradeOff, threshold: float, path: Path) -> None:
    """Outliers refused against digits refused as the threshold moves (validation), the operating point marked."""
    figure, axis = plt.subplots(figsize=(6.5, 5))
    axis.plot([100 * v for v in curve.digits_refused], [100 * v for v in curve.outliers_refused], color="C0")
    index = min(range(len(curve.thresholds)), key=lambda i: abs(curve.thresholds[i] - threshold))
    digits, outliers = 100 * curve.digits_refused[index], 100 * curve.outliers_refused[index]
    axis.plot([digits], [outliers], "o", color="C3")
    axis.annotate(
        f"shipped: refuse below {threshold:.3f}\n{digits:.2f} % digits, {outliers:.1f} % outliers refused",
        (digits, outliers),
        textcoords="offset points",
        xytext=(12, -30),
    )
    axis.set(
        xscale="symlog",
        xlim=(0, 100),
        ylim=(0, 101),
        xlabel="validation digits refused (%, each as written and as augmented in training)",
        ylabel="validation outliers refused (%)",
        title="Refusing non-digits: the trade-off on the validation split",
    )
    axis.grid(alpha=0.3)
    _save(figure, path)


def plot_reliability(diagram: Reliability, path: Path, title: str = "MNIST test set") -> None:
    """Accuracy against confidence per bin, with each bin's share of images."""
    figure, axis = plt.subplots(figsize=(6, 5.5))
    width = 1 / len(diagram.counts)
    centres = [width * (b + 0.5) for b in range(len(diagram.counts))]
    shown = [i for i, count in enumerate(diagram.counts) if count]
    axis.bar([centres[i] for i in shown], [diagram.accuracy[i] for i in shown], width=width * 0.9, label="accuracy")
    axis.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    axis.plot([centres[i] for i in shown], [diagram.confidence[i] for i in shown], "o", color="C3",
              label="mean top probability of the bin")  # fmt: skip
    for i in shown:
        axis.text(centres[i], 0.02, str(diagram.counts[i]), rotation=90, ha="center", fontsize=7, color="white")
    axis.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="top probability",
        ylabel="accuracy",
        title=f"Reliability ({title}): ECE {100 * diagram.ece:.2f} %",
    )
    axis.legend(loc="upper left")
    _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
