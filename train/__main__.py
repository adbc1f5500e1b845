"""Train the MNIST classifier: ``python -m train [--epochs 10] [--seed 1] ...``.

Writes to ``--output-dir``: ``weights.pt`` (a ``state_dict``), ``metrics.json`` and the PNG plots
``curves.png``, ``predictions.png`` and ``confusion_matrix.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from model.integrity import sha256_file, write_sum
from model.network import MnistClassifier
from train import plots
from train.augment import Augmentation
from train.data import SOURCE_ENV, DatasetError, Split, load_split, prepare_mnist
from train.engine import evaluate, train_epoch
from train.typed import typed_digits
from train.upload_eval import evaluate_on_uploads

WEIGHTS_NAME = "weights.pt"
METRICS_NAME = "metrics.json"
HYPERPARAMETERS = ("epochs", "batch_size", "lr", "weight_decay", "dropout", "max_steps", "typed_share", "ema_decay")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m train", description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="Adam's L2 penalty")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout after each hidden layer")
    parser.add_argument(
        "--ema-decay",
        type=float,
        default=0.999,
        help="the shipped weights are an exponential moving average of the trained ones (0: the last step's)",
    )
    parser.add_argument("--no-augment", action="store_true", help="train on the images as they are")
    parser.add_argument(
        "--typed-share", type=float, default=0.03, help="share of each batch replaced by typed digits (train/typed.py)"
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


def seed_everything(seed: int) -> torch.Generator:
    """Same seed, same weights on the same machine: every random draw goes through these."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    return torch.Generator().manual_seed(seed)


def fit(args: argparse.Namespace, train: Split, test: Split) -> tuple[MnistClassifier, list[dict[str, float]]]:
    generator = seed_everything(args.seed)
    model = MnistClassifier(dropout=args.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = -(-len(train.images) // args.batch_size)
    steps = min(steps, args.max_steps) if args.max_steps else steps
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * steps)
    augmentation = None if args.no_augment else Augmentation()
    typed = typed_digits() if args.typed_share > 0 else None
    # Averaging the weights over the last few hundred steps smooths out the last steps' noise.
    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema_decay)) if args.ema_decay else None
    shipped: MnistClassifier = average.module if average is not None else model  # type: ignore[assignment]
    test_inputs = test.normalized()
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
        )
        result = evaluate(shipped, test_inputs, test.labels)
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "test_loss": result.loss,
                "test_accuracy": result.accuracy,
                "seconds": time.perf_counter() - started,
            }
        )
        print(
            f"epoch {epoch}: train loss {train_loss:.4f}  test loss {result.loss:.4f}  "
            f"test accuracy {100 * result.accuracy:.2f}%",
            flush=True,
        )
    return shipped, history


def write_outputs(
    args: argparse.Namespace, model: MnistClassifier, history: list[dict[str, float]], test: Split, train_seconds: float
) -> dict:
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_NAME
    torch.save(model.state_dict(), weights)
    write_sum(weights)  # SHA256SUMS beside the weights: packaging and the handler check against it
    final = evaluate(model, test.normalized(), test.labels)
    plots.plot_curves(history, out / "curves.png")
    plots.plot_prediction_grid(test.images, test.labels, final.predictions, out / "predictions.png")
    matrix = plots.confusion_matrix(test.labels, final.predictions)
    plots.plot_confusion_matrix(matrix, out / "confusion_matrix.png")
    uploads = evaluate_on_uploads(model, test.pixels(), test.labels, out, args.upload_digits, args.photo_digits)
    metrics = {
        "test_accuracy": final.accuracy,
        "test_loss": final.loss,
        "misclassified": int((final.predictions != test.labels).sum()),
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        prepare_mnist(args.data_dir, args.mnist_source)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    train, test = load_split(args.data_dir, train=True), load_split(args.data_dir, train=False)
    started = time.perf_counter()
    model, history = fit(args, train, test)
    metrics = write_outputs(args, model, history, test, time.perf_counter() - started)
    print(
        f"test accuracy {100 * metrics['test_accuracy']:.2f}% in {metrics['train_seconds']} s; "
        f"wrote {args.output_dir}/{WEIGHTS_NAME}, {METRICS_NAME} and plots"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
