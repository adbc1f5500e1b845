"""The model archive: reproducible, complete, and loadable by TorchServe (see test_handler)."""

from __future__ import annotations

import hashlib
import json
import zipfile

from scripts.build_mar import ROOT, WEIGHTS, build


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
    assert {"mnist_handler.py", "weights.pt", "model/__init__.py", "model/network.py"} <= names
    assert manifest["model"] == {
        "handler": "mnist_handler.py",
        "modelName": "mnist",
        "modelVersion": "1.0",
        "serializedFile": "weights.pt",
    }
