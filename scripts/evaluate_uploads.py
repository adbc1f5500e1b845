"""Accuracy on realistic uploads, per variant, and refusal of what is not a digit, offline and
through HTTP: ``make eval-uploads``.

The sets: the user-upload set (evaluation/uploads.py: formats, polarity, placement), the photo-like
set (evaluation/photos.py: phone photos under uneven light, on ruled paper, in pencil or marker, and
typed digits in every installed font) and the hand-drawn digits.

Naive resize: the shipped weights on a plain Pillow resize to 28x28 (the comparison a simple handler
would give). Before: the preprocessing as it was before digit finding (one paper level read off the
border, a fixed ink threshold, no components). Offline: the shipped weights on ``preprocess_upload``
of each file and the choice among its candidates. HTTP: the same files through ``POST /classify`` on
a real TorchServe + proxy that this script starts on free loopback ports (or ``--url`` of one
already running). An image in which no digit is found, or that is refused as "not a digit", counts
as wrong. A second table gives, per variant, the share refused as not a digit, the accuracy on the
images answered and the expected calibration error (offline). Two more give the "not a digit"
sets, the development one (evaluation/outliers.py) and the held-out ones (evaluation/heldout_outliers.py,
evaluation/third_outliers.py): the share refused, as "not a digit" or as "no digit found", per kind.
Prints Markdown tables for the docs.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from evaluation.handdrawn import handdrawn_set
from evaluation.heldout_outliers import build_heldout_outliers
from evaluation.imaging import encode
from evaluation.outliers import build_outliers
from evaluation.over_http import classify_all
from evaluation.photos import SEED as PHOTO_SEED
from evaluation.photos import build_photos, build_typed, installed_fonts
from evaluation.third_outliers import build_third_outliers
from evaluation.uploads import SEED, Upload, build_uploads
from harness.launcher import ROOT, serving_current_sources
from model.calibration import Calibration
from model.decode import decode_image
from model.network import load_model
from model.preprocess import IMAGE_SIZE, fit_to_mnist_frame, normalize, to_ink
from scripts.build_mar import WEIGHTS
from train.data import load_split, prepare_mnist
from train.upload_eval import Readings, figures, predict_files, served


def offline_readings(files: list[bytes]) -> Readings:
    return predict_files(load_model(str(WEIGHTS)), Calibration.beside(WEIGHTS), files)


def before_predictions(files: list[bytes]) -> list[int]:
    """The comparison: the preprocessing before digit finding. The paper's level from the median of
    the outermost pixel ring, everything 20 % above it is ink, the crop covers all of it."""
    model = load_model(str(WEIGHTS))
    tensors = []
    for data in files:
        ink = to_ink(decode_image(data)[0])
        frame = ink if ink.shape == (IMAGE_SIZE, IMAGE_SIZE) else fit_to_mnist_frame(ink)
        tensors.append(normalize(torch.from_numpy(frame).unsqueeze(0)))
    with torch.inference_mode():
        return model(torch.stack(tensors)).argmax(dim=1).tolist()


def naive_predictions(files: list[bytes]) -> list[int]:
    """The comparison: what a plain handler does. Decode with Pillow, grayscale, resize to 28x28,
    normalize as in training; no alpha compositing, no polarity, no cropping, fitting or centring."""
    model = load_model(str(WEIGHTS))
    tensors = []
    for data in files:
        gray = Image.open(io.BytesIO(data)).convert("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
        tensors.append(normalize(torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0).unsqueeze(0)))
    with torch.inference_mode():
        return model(torch.stack(tensors)).argmax(dim=1).tolist()


def http_predictions(url: str, files: list[bytes]) -> list[int]:
    answers = classify_all(url, files)
    bad = [a for a in answers if a.status not in (200, 422)]
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed, first: {bad[0].status} {bad[0].body}")
    return [served(a.status, a.body) for a in answers]


def load_sets(
    count: int, photo_count: int, outlier_count: int, heldout_count: int, third_count: int, data_dir: Path
) -> tuple[list[Upload], list[int]]:
    """The digit sets, then the sets of outliers (label -1: no digit is right for them)."""
    third = build_third_outliers(third_count)
    prepare_mnist(data_dir)
    test = load_split(data_dir, train=False)
    uploads = build_uploads(test.pixels(), range(count))
    labels = [int(test.labels[u.index]) for u in uploads]
    for photo in build_photos(test.pixels(), test.labels.numpy(), range(photo_count)) + build_typed():
        uploads.append(Upload(photo.variant, photo.index, photo.data))
        labels.append(photo.label)
    for digit, _writer, image in handdrawn_set():
        uploads.append(Upload("hand-drawn", -1, encode(image, "PNG")))
        labels.append(digit)
    for outlier in build_outliers(test.pixels(), outlier_count):
        uploads.append(Upload(f"{OUTLIER_PREFIX}{outlier.kind}", -1, outlier.data))
        labels.append(NOT_A_DIGIT_LABEL)
    for prefix, outliers in ((HELD_OUT_PREFIX, build_heldout_outliers(heldout_count)), (THIRD_PREFIX, third)):
        for outlier in outliers:
            uploads.append(Upload(f"{prefix}{outlier.kind}", -1, outlier.data))
            labels.append(NOT_A_DIGIT_LABEL)
    return uploads, labels


OUTLIER_PREFIX = "not a digit: "  # the development set, evaluation/outliers.py
HELD_OUT_PREFIX = "not a digit, held out: "  # evaluation/heldout_outliers.py
THIRD_PREFIX = "not a digit, third set: "  # evaluation/third_outliers.py
NOT_A_DIGIT_LABEL = -1


def table(uploads: list[Upload], labels: list[int], columns: dict[str, list[int]]) -> str:
    """Accuracy per digit variant, per column of answers."""
    hits: dict[str, dict[str, int]] = {name: defaultdict(int) for name in columns}
    totals: dict[str, int] = defaultdict(int)
    for i, upload in enumerate(uploads):
        if labels[i] == NOT_A_DIGIT_LABEL:
            continue
        totals[upload.variant] += 1
        for name, predictions in columns.items():
            hits[name][upload.variant] += int(predictions[i] == labels[i])
    lines = ["| variant | images | " + " | ".join(columns) + " |", "|---|---:|" + "---:|" * len(columns)]
    for variant, total in totals.items():
        cells = " | ".join(f"{100 * hits[name][variant] / total:.1f}%" for name in columns)
        lines.append(f"| {variant} | {total} | {cells} |")
    return "\n".join(lines)


def refusal_table(uploads: list[Upload], labels: list[int], readings: Readings) -> str:
    """Per digit variant, offline: refused as not a digit, accuracy on the answered, ECE."""
    truth = torch.tensor(labels)
    variants = np.array([u.variant for u in uploads])
    lines = ["| variant | refused as not a digit | accuracy on the answered | ECE |", "|---|---:|---:|---:|"]
    for variant in dict.fromkeys(v for v, label in zip(variants, labels, strict=True) if label >= 0):
        members = torch.from_numpy(variants == variant)
        shown = figures(readings.subset(members), truth[members])
        lines.append(
            f"| {variant} | {100 * shown['refused']:.1f}% | {100 * shown['accuracy_answered']:.2f}% "
            f"| {100 * shown['ece']:.2f}% |"
        )
    return "\n".join(lines)


def outlier_table(uploads: list[Upload], labels: list[int], columns: dict[str, list[int]], prefix: str) -> str:
    """Per kind of the outlier set named by ``prefix``: the share refused (no digit named), per column."""
    ours = [i for i, u in enumerate(uploads) if labels[i] < 0 and u.variant.startswith(prefix)]
    kinds = list(dict.fromkeys(uploads[i].variant for i in ours))
    lines = ["| not a digit | images | " + " | ".join(columns) + " |", "|---|---:|" + "---:|" * len(columns)]
    for kind in [*kinds, "all"]:
        rows = [i for i in ours if kind in (uploads[i].variant, "all")]
        cells = " | ".join(f"{100 * sum(columns[n][i] < 0 for i in rows) / len(rows):.1f}%" for n in columns)
        lines.append(f"| {kind.removeprefix(prefix)} | {len(rows)} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500, help="MNIST test digits per upload variant")
    parser.add_argument("--photo-count", type=int, default=300, help="MNIST test digits per photo variant")
    parser.add_argument("--outlier-count", type=int, default=200, help="development outliers per kind")
    parser.add_argument("--heldout-count", type=int, default=100, help="held-out outliers per kind")
    parser.add_argument("--third-count", type=int, default=150, help="third held-out set's outliers per kind")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--url", help="a running proxy's /classify (default: start one on free ports)")
    parser.add_argument("--offline-only", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = (args.count, args.photo_count, args.outlier_count, args.heldout_count, args.third_count)
    uploads, labels = load_sets(*counts, args.data_dir)
    files = [u.data for u in uploads]
    print(f"built {len(files)} images in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    started = time.perf_counter()
    readings = offline_readings(files)
    columns = {
        "naive resize": naive_predictions(files),
        "before": before_predictions(files),
        "offline": readings.answers.tolist(),
    }
    print(f"offline: {len(files)} images in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if not args.offline_only:
        started = time.perf_counter()
        if args.url:
            columns["HTTP"] = http_predictions(args.url, files)
        else:
            with serving_current_sources() as running:
                columns["HTTP"] = http_predictions(f"{running.proxy}/classify", files)
        print(f"HTTP: {len(files)} images in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        agree = sum(a == b for a, b in zip(columns["offline"], columns["HTTP"], strict=True))
        print(f"HTTP and offline agree on {agree}/{len(files)} images", file=sys.stderr)
    fonts = ", ".join(path.stem for path in installed_fonts()) or "none"
    print(
        f"Upload sets (seeds {SEED} and {PHOTO_SEED}; {args.count} MNIST test digits per upload variant, "
        f"{args.photo_count} per photo variant; typed digits in {len(installed_fonts())} fonts: {fonts}):\n"
    )
    print(table(uploads, labels, columns))
    print("\nRefusals and calibration on digits (offline; ECE over the images in which a digit was found):\n")
    print(refusal_table(uploads, labels, readings))
    shown = {name: columns[name] for name in ("offline", "HTTP") if name in columns}
    print(f'\nThe development "not a digit" set ({args.outlier_count} per kind): share refused (422)\n')
    print(outlier_table(uploads, labels, shown, OUTLIER_PREFIX))
    print(f'\nThe held-out "not a digit" set ({args.heldout_count} per kind): share refused (422)\n')
    print(outlier_table(uploads, labels, shown, HELD_OUT_PREFIX))
    print(f'\nThe third held-out "not a digit" set ({args.third_count} per kind): share refused (422)\n')
    print(outlier_table(uploads, labels, shown, THIRD_PREFIX))
    return 0


if __name__ == "__main__":
    sys.exit(main())
