"""Train the MNIST classifier: ``python -m train [--epochs 10] [--seed 1] ...``.

The last ``--validation-size`` training images are held out: every choice (epochs, recipe, the
temperature and the refusal threshold) is made on them. The MNIST test set is read once, at the end.

Writes to ``--output-dir``: ``weights.pt`` (a ``state_dict``), ``calibration.json`` (temperature and
refusal threshold, model/calibration.py), ``metrics.json`` and the PNG plots ``curves.png``,
``predictions.png``, ``confusion_matrix.png``, ``refusal.png`` and ``reliability.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from model.calibration import CALIBRATION_NAME, Calibration
from model.integrity import sha256_file, write_sum
from model.network import MnistClassifier
from model.preprocess import normalize
from train import calibrate, plots
from train.augment import Augmentation, augment
from train.data import SOURCE_ENV, DatasetError, Split, load_split, prepare_mnist
from train.engine import OutlierExposure, evaluate, logits_of, train_epoch
from train.outliers import outlier_pool
from train.typed import typed_digits
from train.upload_eval import evaluate_on_uploads

WEIGHTS_NAME = "weights.pt"
METRICS_NAME = "metrics.json"
HYPERPARAMETERS = (
    "epochs", "batch_size", "lr", "weight_decay", "dropout", "max_steps", "typed_share", "ema_decay",
    "validation_size", "outlier_weight", "outlier_share", "outlier_pool", "digits_refused", "shear", "coarse_share",
    "repeats", "icon_outliers",
)  # fmt: skip
VALIDATION_SEED_OFFSET = 10_000  # validation outliers and augmentation: a stream of their own


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m train", description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--repeats", type=int, default=2, help="copies of each image per batch, each augmented on its own"
    )
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="Adam's L2 penalty")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout after each hidden layer")
    parser.add_argument(
        "--ema-decay",
        type=float,
        default=0.999,
        help="the shipped weights are an exponential moving average of the trained ones (0: the last step's)",
    )
    parser.add_argument("--no-augment", action="store_true", help="train on the images as they are")
    parser.add_argument("--shear", type=float, default=Augmentation.shear, help="slant: horizontal shear in [-s, s]")
    parser.add_argument(
        "--coarse-share", type=float, default=Augmentation.coarse_share, help="images drawn as a coarse scan"
    )
    parser.add_argument(
        "--typed-share", type=float, default=0.03, help="share of each batch replaced by typed digits (train/typed.py)"
    )
    parser.add_argument(
        "--validation-size", type=int, default=5000, help="the last N training images, held out for every choice"
    )
    parser.add_argument(
        "--outlier-weight", type=float, default=0.5, help="weight of the outlier-exposure loss (0: none)"
    )
    parser.add_argument(
        "--outlier-share", type=float, default=0.5, help="outliers beside each batch, as a share of its size"
    )
    parser.add_argument("--outlier-pool", type=int, default=20_000, help="outliers generated for training")
    parser.add_argument(
        "--icon-outliers", action="store_true", help="a sixth kind of outlier: icon-font pictograms (train/icons.py)"
    )
    parser.add_argument(
        "--digits-refused",
        type=float,
        default=0.01,
        help="the refusal threshold refuses at most this share of the validation digits (as written and augmented)",
    )
    parser.add_argument(
        "--validation-only",
        action="store_true",
        help="a recipe search: write the weights and calibration and stop, without reading the test set",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where MNIST is kept for torchvision")
    parser.add_argument(
        "--mnist-source",
        type=Path,
        default=None,
        help=f"offline directory with the four IDX files (.gz or not); env {SOURCE_ENV}",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("model/trained"))
    parser.add_argument("--max-steps", type=int, default=None, help="cap batches per epoch (smoke tests)")
    parser.add_argument(
        "--upload-digits", type=int, default=100, help="test digits rendered as each of the 12 user-upload variants"
    )
    parser.add_argument(
        "--photo-digits", type=int, default=30, help="test digits photographed in each of the photo variants"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    return parser.parse_args(argv)


def augmentation_of(args: argparse.Namespace) -> Augmentation | None:
    if args.no_augment:
        return None
    return Augmentation(shear=args.shear, coarse_share=args.coarse_share)


def seed_everything(seed: int) -> torch.Generator:
    """Same seed, same weights on the same machine: every random draw goes through these."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    return torch.Generator().manual_seed(seed)


def fit(args: argparse.Namespace, train: Split, validation: Split) -> tuple[MnistClassifier, list[dict[str, float]]]:
    generator = seed_everything(args.seed)
    model = MnistClassifier(dropout=args.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = -(-len(train.images) // args.batch_size)
    steps = min(steps, args.max_steps) if args.max_steps else steps
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * steps)
    augmentation = augmentation_of(args)
    typed = typed_digits() if args.typed_share > 0 else None
    outliers = None
    if args.outlier_weight > 0:
        pool = outlier_pool(args.outlier_pool, train.images, args.seed, args.icon_outliers)
        outliers = OutlierExposure(pool, max(1, round(args.outlier_share * args.batch_size)), args.outlier_weight)
    # Averaging the weights over the last few hundred steps smooths out the last steps' noise.
    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema_decay)) if args.ema_decay else None
    shipped: MnistClassifier = average.module if average is not None else model  # type: ignore[assignment]
    validation_inputs = validation.normalized()
    history: list[dict[str, float]] = []
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        train_loss = train_epoch(
            model,
            train.images,
            train.labels,
            optimizer,
            scheduler,
            args.batch_size,
            generator,
            augmentation,
            f"epoch {epoch}/{args.epochs}",
            args.max_steps,
            typed,
            args.typed_share,
            average,
            outliers,
            args.repeats,
        )
        result = evaluate(shipped, validation_inputs, validation.labels)
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "validation_loss": result.loss,
                "validation_accuracy": result.accuracy,
                "seconds": time.perf_counter() - started,
            }
        )
        print(
            f"epoch {epoch}: train loss {train_loss:.4f}  validation loss {result.loss:.4f}  "
            f"validation accuracy {100 * result.accuracy:.2f}%",
            flush=True,
        )
    return shipped, history


def choose_calibration(
    args: argparse.Namespace, model: MnistClassifier, validation: Split
) -> tuple[Calibration, calibrate.TradeOff, dict]:
    """Temperature and refusal threshold, chosen on the validation split: its digits as they are (the
    temperature), and also as training draws them (augmented; the threshold), and outliers from a
    generator stream training never drew."""
    seed = args.seed + VALIDATION_SEED_OFFSET
    generator = torch.Generator().manual_seed(seed)
    digits, labels = validation.images, validation.labels
    outliers, drawn = outlier_pool(len(digits) // 2, digits, seed, args.icon_outliers), digits[:0]
    spec = augmentation_of(args)
    if spec is not None:
        drawn = augment(digits, spec, generator)
        outliers = augment(outliers, spec, generator)
    logits, drawn_logits = logits_of(model, normalize(digits)), logits_of(model, normalize(drawn))
    outlier_logits = logits_of(model, normalize(outliers))
    calibration, curve = calibrate.choose(logits, labels, drawn_logits, outlier_logits, args.digits_refused)
    every_logit, every_label = torch.cat([logits, drawn_logits]), torch.cat([labels, labels[: len(drawn)]])
    probabilities = calibration.probabilities(every_logit)
    summary = {
        "digits": len(every_label),
        "outliers": len(outliers),
        "digits_refused": calibration.refused(probabilities).float().mean().item(),
        "outliers_refused": calibration.refused(calibration.probabilities(outlier_logits)).float().mean().item(),
        "ece": calibrate.reliability(calibration.probabilities(logits), labels).ece,
        "ece_drawn": calibrate.reliability(probabilities[len(labels) :], labels[: len(drawn)]).ece
        if len(drawn)
        else None,
    }
    return calibration, curve, summary


def read_test_set(model: MnistClassifier, calibration: Calibration, test: Split) -> dict:
    """The MNIST test set, read once: accuracy, refusals, accuracy on what is answered, ECE."""
    logits = logits_of(model, test.normalized())
    probabilities = calibration.probabilities(logits)
    predictions, refused = probabilities.argmax(dim=1), calibration.refused(probabilities)
    right = predictions == test.labels
    return {
        "probabilities": probabilities,
        "predictions": predictions,
        "test_accuracy": right.float().mean().item(),
        "test_loss": F.nll_loss(probabilities.log(), test.labels).item(),
        "test_refused": refused.float().mean().item(),
        "test_accuracy_answered": right[~refused].float().mean().item(),
        "test_ece": calibrate.reliability(probabilities, test.labels).ece,
        "misclassified": int((~right).sum()),
    }


def save_model(out: Path, model: MnistClassifier, calibration: Calibration) -> Path:
    """``weights.pt`` and ``calibration.json`` in ``out``, each with its line in SHA256SUMS (packaging
    and the handler check against it); returns the weights' path."""
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_NAME
    torch.save(model.state_dict(), weights)
    calibration.save(out / CALIBRATION_NAME)
    for path in (weights, out / CALIBRATION_NAME):
        write_sum(path)
    return weights


def write_outputs(
    args: argparse.Namespace,
    model: MnistClassifier,
    history: list[dict[str, float]],
    validation: Split,
    test: Split,
    train_seconds: float,
) -> dict:
    out = args.output_dir
    calibration, curve, chosen_on = choose_calibration(args, model, validation)
    weights = save_model(out, model, calibration)
    final = read_test_set(model, calibration, test)
    probabilities, predictions = final.pop("probabilities"), final.pop("predictions")
    plots.plot_curves(history, out / "curves.png")
    plots.plot_prediction_grid(test.images, test.labels, predictions, out / "predictions.png")
    matrix = plots.confusion_matrix(test.labels, predictions)
    plots.plot_confusion_matrix(matrix, out / "confusion_matrix.png")
    plots.plot_refusal(curve, calibration.refuse_below, out / "refusal.png")
    plots.plot_reliability(calibrate.reliability(probabilities, test.labels), out / "reliability.png")
    uploads = evaluate_on_uploads(
        model, calibration, test.pixels(), test.labels, out, args.upload_digits, args.photo_digits
    )
    metrics = final | {
        "calibration": {"temperature": calibration.temperature, "refuse_below": calibration.refuse_below},
        "validation": chosen_on,
        "epochs": history,
        "train_seconds": round(train_seconds, 1),
        "seed": args.seed,
        "hyperparameters": {key: getattr(args, key) for key in HYPERPARAMETERS}
        | {"augment": not args.no_augment, "optimizer": "Adam", "schedule": "OneCycleLR"},
        "confusion_matrix": matrix.tolist(),
        "uploads": uploads,
        "weights_sha256": sha256_file(weights),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
        },
    }
    (out / METRICS_NAME).write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def held_out(train: Split, size: int) -> tuple[Split, Split]:
    """The training split without its last ``size`` images, and those images (the validation split)."""
    if not 0 < size < len(train.labels):
        raise DatasetError(f"--validation-size must be between 1 and {len(train.labels) - 1}")
    cut = len(train.labels) - size
    return Split(train.images[:cut], train.labels[:cut]), Split(train.images[cut:], train.labels[cut:])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        prepare_mnist(args.data_dir, args.mnist_source)
        train, validation = held_out(load_split(args.data_dir, train=True), args.validation_size)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    model, history = fit(args, train, validation)
    if args.validation_only:  # weights and calibration written, for the development sets; no test set read
        calibration, _, chosen_on = choose_calibration(args, model, validation)
        save_model(args.output_dir, model, calibration)
        print(json.dumps({"validation_accuracy": history[-1]["validation_accuracy"]} | chosen_on | asdict(calibration)))
        return 0
    test = load_split(args.data_dir, train=False)  # read once, after every choice is made
    metrics = write_outputs(args, model, history, validation, test, time.perf_counter() - started)
    print(
        f"test accuracy {100 * metrics['test_accuracy']:.2f}%, {100 * metrics['test_refused']:.2f}% refused, "
        f"ECE {100 * metrics['test_ece']:.2f}% in {metrics['train_seconds']} s; "
        f"wrote {args.output_dir}/{WEIGHTS_NAME}, {CALIBRATION_NAME}, {METRICS_NAME} and plots"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
