"""MNIST through torchvision's dataset class, with an offline source and checksum verification.

With internet, torchvision downloads the files as usual. Without it, ``--mnist-source`` (or the
``GOCLASSIFY_MNIST_SOURCE`` environment variable) names a directory holding the four original IDX
files, gzipped or not, which are placed where torchvision looks for them. Either way the
uncompressed files are checked against the published MD5 sums before use.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets

from model.preprocess import normalize

SOURCE_ENV = "GOCLASSIFY_MNIST_SOURCE"

# MD5 of the uncompressed IDX files as published by LeCun, Cortes and Burges.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


class DatasetError(RuntimeError):
    """MNIST could not be found, fetched or verified."""


@dataclass(frozen=True)
class Split:
    """One MNIST split held in memory: raw intensities in [0, 1] and labels."""

    images: torch.Tensor  # (N, 1, 28, 28) float32, white ink on black, not yet normalized
    labels: torch.Tensor  # (N,) int64

    def normalized(self) -> torch.Tensor:
        return normalize(self.images)

    def pixels(self) -> np.ndarray:
        """The digits as stored in the IDX file: (N, 28, 28) uint8, to encode as image files."""
        return (self.images.squeeze(1) * 255).round().to(torch.uint8).numpy()


def raw_dir(data_dir: Path) -> Path:
    """Where torchvision's ``MNIST`` class reads the uncompressed IDX files."""
    return data_dir / "MNIST" / "raw"


def prepare_mnist(data_dir: Path, source: Path | None = None) -> None:
    """Make the four verified IDX files available under ``data_dir`` for torchvision."""
    source = source or _source_from_env()
    target = raw_dir(data_dir)
    if source is not None:
        _copy_from_source(source, target)
    elif not all((target / name).exists() for name in MNIST_MD5):
        try:
            datasets.MNIST(str(data_dir), train=True, download=True)
            datasets.MNIST(str(data_dir), train=False, download=True)
        except Exception as exc:  # torchvision raises bare RuntimeError on failed mirrors
            raise DatasetError(
                f"could not download MNIST ({exc}); without internet, point --mnist-source or "
                f"{SOURCE_ENV} at a directory with the four IDX files"
            ) from exc
    verify_checksums(target)


def load_split(data_dir: Path, train: bool) -> Split:
    """Load a prepared split through torchvision's dataset class into memory."""
    dataset = datasets.MNIST(str(data_dir), train=train, download=False)
    images = dataset.data.unsqueeze(1).float() / 255.0
    return Split(images=images, labels=dataset.targets.long())


def verify_checksums(directory: Path) -> None:
    for name, expected in MNIST_MD5.items():
        path = directory / name
        if not path.exists():
            raise DatasetError(f"missing MNIST file {path}")
        actual = md5sum(path)
        if actual != expected:
            raise DatasetError(f"{path} has MD5 {actual}, expected {expected}: corrupt or not MNIST")


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_from_env() -> Path | None:
    value = os.environ.get(SOURCE_ENV, "").strip()
    return Path(value) if value else None


def _copy_from_source(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, expected in MNIST_MD5.items():
        destination = target / name
        if destination.exists() and md5sum(destination) == expected:
            continue
        plain, gzipped = source / name, source / f"{name}.gz"
        if plain.exists():
            shutil.copyfile(plain, destination)
        elif gzipped.exists():
            with gzip.open(gzipped, "rb") as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            raise DatasetError(f"{source} has neither {name} nor {name}.gz")
