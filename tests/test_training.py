"""Training end to end on a few steps, its reproducibility, and the dataset's integrity checks."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import torch

from model.calibration import CALIBRATION_NAME, Calibration
from model.integrity import verify
from model.network import MnistClassifier, load_model
from scripts.build_mar import WEIGHTS
from tests.conftest import DATA_DIR
from train.__main__ import main as train_main
from train.calibrate import reliability
from train.data import MNIST_MD5, DatasetError, prepare_mnist

SHIPPED_METRICS = WEIGHTS.parent / "metrics.json"
PLOTS = (
    "curves.png",
    "predictions.png",
    "confusion_matrix.png",
    "uploads_predictions.png",
    "uploads_confusion_matrix.png",
    "refusal.png",
    "reliability.png",
)


def run_training(output: Path, seed: int = 7) -> dict:
    code = train_main(
        [
            "--epochs",
            "2",
            "--max-steps",
            "5",
            "--seed",
            str(seed),
            "--data-dir",
            str(DATA_DIR),
            "--output-dir",
            str(output),
            "--upload-digits",
            "10",
            "--photo-digits",
            "0",
            "--ema-decay",
            "0",  # ten steps: the moving average would still be the initial weights
            "--outlier-pool",
            "500",
        ]
    )
    assert code == 0
    return json.loads((output / "metrics.json").read_text())


def test_training_writes_loadable_weights_metrics_and_plots(tmp_path, mnist_test):
    metrics = run_training(tmp_path / "run")
    model = load_model(str(tmp_path / "run" / "weights.pt"))  # weights_only=True inside
    assert verify(tmp_path / "run" / "weights.pt") == metrics["weights_sha256"]  # SHA256SUMS written beside
    assert isinstance(model, MnistClassifier)
    for name in PLOTS:
        assert (tmp_path / "run" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [row["epoch"] for row in metrics["epochs"]] == [1, 2]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["seed"] == 7
    assert sum(map(sum, metrics["confusion_matrix"])) == len(mnist_test.labels)
    assert {"torch", "torchvision", "python"} <= set(metrics["versions"])
    assert metrics["uploads"]["images"] == 12 * 10 and len(metrics["uploads"]["per_variant"]) == 12
    # Five steps of Adam already beat chance by far: the loop really trains.
    assert metrics["test_accuracy"] > 0.5
    # The calibration is chosen on validation (its rule: at most 1 % of its digits refused) and shipped
    # beside the weights, with its checksum.
    verify(tmp_path / "run" / CALIBRATION_NAME)
    calibration = Calibration.beside(tmp_path / "run" / "weights.pt")
    assert metrics["calibration"] == {"temperature": calibration.temperature, "refuse_below": calibration.refuse_below}
    assert metrics["validation"]["digits"] == 2 * 5000 and metrics["validation"]["digits_refused"] <= 0.01


def test_same_seed_same_weights(tmp_path, mnist_test):
    first, second = run_training(tmp_path / "a"), run_training(tmp_path / "b")
    assert first["weights_sha256"] == second["weights_sha256"]
    third = run_training(tmp_path / "c", seed=8)
    assert third["weights_sha256"] != first["weights_sha256"]
    a = torch.load(tmp_path / "a" / "weights.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "weights.pt", weights_only=True)
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_shipped_weights_reach_the_target_and_their_recorded_accuracy(shipped_model, shipped_calibration, mnist_test):
    """The README's MNIST figures, computed here from the shipped weights and calibration, and what
    training recorded for them (10 epochs, the default): accuracy at least 99.0 %, at most 1 % refused
    as "not a digit", expected calibration error at most 0.5 %."""
    metrics = json.loads(SHIPPED_METRICS.read_text())
    with torch.inference_mode():
        probabilities = shipped_calibration.probabilities(shipped_model(mnist_test.normalized()))
    accuracy = (probabilities.argmax(dim=1) == mnist_test.labels).float().mean().item()
    refused = shipped_calibration.refused(probabilities).float().mean().item()
    ece = reliability(probabilities, mnist_test.labels).ece
    assert accuracy >= 0.990 and refused <= 0.01 and ece <= 0.005
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    assert refused == pytest.approx(metrics["test_refused"], abs=1e-9)
    assert ece == pytest.approx(metrics["test_ece"], abs=1e-6)
    assert metrics["hyperparameters"]["epochs"] == 10 and metrics["weights_sha256"] == verify(WEIGHTS)


def test_offline_source_is_verified(tmp_path, mnist_test):
    """A corrupted source file is refused by checksum; gzipped and plain sources both work."""
    source = tmp_path / "source"
    source.mkdir()
    raw = DATA_DIR / "MNIST" / "raw"
    for name in MNIST_MD5:
        with gzip.open(source / f"{name}.gz", "wb") as out:
            out.write((raw / name).read_bytes())
    prepare_mnist(tmp_path / "good", source)

    plain = tmp_path / "plain"
    shutil.copytree(raw, plain)
    labels = plain / "t10k-labels-idx1-ubyte"
    data = bytearray(labels.read_bytes())
    data[100] ^= 1
    labels.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="MD5"):
        prepare_mnist(tmp_path / "bad", plain)


def test_missing_source_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match="has neither train-images-idx3-ubyte"):
        prepare_mnist(tmp_path / "data", tmp_path)
