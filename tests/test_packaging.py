"""The model archive: reproducible, complete, and loadable by TorchServe (see test_handler)."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest

from model.calibration import CALIBRATION_NAME
from model.integrity import SUMS_NAME, IntegrityError, read_sums, sha256_file
from scripts.build_mar import MAR_SUMS, ROOT, WEIGHTS, build


def test_archive_is_reproducible(model_store, tmp_path):
    again = build(tmp_path)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (model_store / "mnist.mar", again)]
    assert digest[0] == digest[1]


def test_archive_holds_handler_weights_and_model_package(model_store):
    with zipfile.ZipFile(model_store / "mnist.mar") as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("MAR-INF/MANIFEST.json"))
        assert archive.read("model/preprocess.py") == (ROOT / "model" / "preprocess.py").read_bytes()
        assert archive.read("weights.pt") == WEIGHTS.read_bytes()
        assert archive.read(CALIBRATION_NAME) == (WEIGHTS.parent / CALIBRATION_NAME).read_bytes()
        sums = archive.read(SUMS_NAME).decode()
    assert {"mnist_handler.py", "weights.pt", SUMS_NAME, "model/__init__.py", "model/calibration.py"} <= names
    assert {line.split()[1] for line in sums.splitlines()} == {"weights.pt", CALIBRATION_NAME}
    assert manifest["model"] == {
        "handler": "mnist_handler.py",
        "modelName": "mnist",
        "modelVersion": "1.0",
        "serializedFile": "weights.pt",
    }


def test_archive_matches_its_recorded_checksum(model_store):
    assert sha256_file(model_store / "mnist.mar") == read_sums(MAR_SUMS)["mnist.mar"]


def corrupted_copy(directory, weights=WEIGHTS):
    """The weights with one byte flipped, beside a copy of their (now wrong) SHA256SUMS."""
    directory.mkdir()
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    (directory / weights.name).write_bytes(bytes(data))
    (directory / SUMS_NAME).write_bytes((weights.parent / SUMS_NAME).read_bytes())
    return directory / weights.name


def test_corrupted_weights_are_not_packaged(tmp_path):
    bad = corrupted_copy(tmp_path / "bad")
    with pytest.raises(IntegrityError, match=r"weights.pt is corrupt .* SHA-256 is [0-9a-f]{64}"):
        build(tmp_path / "out", weights=bad)
    assert not (tmp_path / "out" / "mnist.mar").exists()


def test_weights_without_a_record_are_not_packaged(tmp_path):
    (tmp_path / "new").mkdir()
    unrecorded = tmp_path / "new" / "weights.pt"
    unrecorded.write_bytes(WEIGHTS.read_bytes())
    with pytest.raises(IntegrityError, match="SHA256SUMS is missing"):
        build(tmp_path / "out", weights=unrecorded)


def test_a_changed_calibration_is_not_packaged(tmp_path):
    """The refusal threshold decides answers as much as the weights do: it is checked the same way."""
    folder = tmp_path / "edited"
    folder.mkdir()
    for name in (WEIGHTS.name, SUMS_NAME):
        (folder / name).write_bytes((WEIGHTS.parent / name).read_bytes())
    calibration = json.loads((WEIGHTS.parent / CALIBRATION_NAME).read_text())
    (folder / CALIBRATION_NAME).write_text(json.dumps(calibration | {"refuse_below": 0.0}))
    with pytest.raises(IntegrityError, match=r"calibration.json is corrupt"):
        build(tmp_path / "out", weights=folder / WEIGHTS.name)
    assert not (tmp_path / "out" / "mnist.mar").exists()
