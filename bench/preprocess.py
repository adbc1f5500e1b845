"""What preprocessing one upload costs, by kind of upload: ``make bench-preprocess``.

Median over repeated runs, in one process on one core (torch and OpenCV limited to one thread, as in a
TorchServe worker): decoding, digit finding and framing of a 28x28 MNIST PNG, a 1000x1000 scan-like
JPEG and a 12-megapixel phone photo (4000x3000 JPEG of a page with a digit).
"""

from __future__ import annotations

import io
import statistics
import sys
import time

import cv2
import numpy as np
import torch
from PIL import Image

from evaluation.imaging import encode, png
from evaluation.photos import Scene, render
from model.preprocess import preprocess_upload
from scripts.build_mar import ROOT
from train.data import load_split, prepare_mnist

ROUNDS = {"28x28 MNIST PNG": 2000, "1000x1000 JPEG": 200, "12 MP phone JPEG (4000x3000)": 40}


def sample_uploads(digit: np.ndarray) -> dict[str, bytes]:
    photo = Image.open(io.BytesIO(render(digit, Scene(light="gradient"), np.random.default_rng(0))))
    big = photo.resize((4000, 3000), Image.Resampling.BICUBIC)
    return {
        "28x28 MNIST PNG": png(digit),
        "1000x1000 JPEG": encode(Image.fromarray(255 - digit).resize((1000, 1000)), "JPEG", quality=90),
        "12 MP phone JPEG (4000x3000)": encode(big, "JPEG", quality=90),
    }


def median_seconds(data: bytes, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        preprocess_upload(data)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def timings(digit: np.ndarray) -> dict[str, float]:
    """Median seconds per upload of ``digit`` (28x28 uint8), by kind."""
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    uploads = sample_uploads(digit)
    for data in uploads.values():  # warm caches and imports
        preprocess_upload(data)
    return {name: median_seconds(data, ROUNDS[name]) for name, data in uploads.items()}


def main() -> int:
    data_dir = ROOT / "data"
    prepare_mnist(data_dir)
    digit = load_split(data_dir, train=False).pixels()[0]
    for name, seconds in timings(digit).items():
        figure = f"{1e6 * seconds:.0f} µs" if seconds < 1e-3 else f"{1e3 * seconds:.1f} ms"
        print(f"decode + preprocess, {name}: median {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
