"""Build the TorchServe model archive ``model-store/mnist.mar`` with torch-model-archiver.

The archive holds the weights (``serializedFile``), their calibration (temperature and refusal
threshold, ``calibration.json`` beside them), the handler, and the ``model`` package (network
definition and preprocessing) so that the handler imports exactly the code training used.

torch-model-archiver's output is not reproducible: it stamps the manifest with the current time,
zips files in directory-listing order and keeps their mtimes. The archive is therefore rewritten
with sorted entries, fixed timestamps and a ``createdOn`` taken from ``SOURCE_DATE_EPOCH``
(default 1980-01-01, the zip epoch): the same sources give a byte-identical .mar. Entries are
stored uncompressed, so the bytes do not depend on the zlib build either (the weights, most of the
archive, hardly compress anyway).

Integrity: the weights must match the SHA256SUMS beside them (written by training) before they are
packed, and that record goes into the archive for the handler to check again at start. The archive
built from the shipped sources must match ``model-store/SHA256SUMS``; after an intended change to the
handler or the model code, record the new archive with ``--record-checksum`` (``make mar-checksum``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from model.calibration import CALIBRATION_NAME
from model.integrity import SUMS_NAME, IntegrityError, verify, write_sum

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "model" / "trained" / "weights.pt"  # the shipped weights
HANDLER = ROOT / "handler" / "mnist_handler.py"
MODEL_NAME = "mnist"
MODEL_VERSION = "1.0"
# The importable part of model/ (the handler imports it from the archive).
PACKAGE_FILES = (
    "__init__.py", "calibration.py", "candidates.py", "decode.py", "errors.py", "image_batch.py", "integrity.py",
    "network.py", "preprocess.py", "sheet.py", "verify.py",
)  # fmt: skip
MAR_SUMS = ROOT / "model-store" / SUMS_NAME  # the recorded checksum of the archive of the shipped sources
MANIFEST = "MAR-INF/MANIFEST.json"
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--handler", type=Path, default=HANDLER)
    parser.add_argument("--export-path", type=Path, default=ROOT / "model-store")
    parser.add_argument(
        "--record-checksum",
        action="store_true",
        help=f"record the new archive's SHA-256 in {MAR_SUMS.relative_to(ROOT)} instead of checking it",
    )
    return parser.parse_args(argv)


def build(export_path: Path, weights: Path = WEIGHTS, handler: Path = HANDLER, record: bool = False) -> Path:
    """Write ``<export_path>/mnist.mar``; return its path. Raises IntegrityError if the weights do not
    match their record, or if the archive of the shipped sources does not match ``MAR_SUMS``."""
    weights_digest = verify(weights)
    calibration = weights.parent / CALIBRATION_NAME
    calibration_digest = verify(calibration)
    with tempfile.TemporaryDirectory(prefix="goclassify-mar-") as scratch:
        work = Path(scratch)
        extra = work / "extra"
        (extra / "model").mkdir(parents=True)
        for name in PACKAGE_FILES:
            shutil.copy2(ROOT / "model" / name, extra / "model" / name)
        shutil.copy2(calibration, extra / CALIBRATION_NAME)
        # The records travel with the files: the handler checks both against them at start.
        sums = sorted([(CALIBRATION_NAME, calibration_digest), (weights.name, weights_digest)])
        (extra / SUMS_NAME).write_text("".join(f"{digest}  {name}\n" for name, digest in sums))
        raw = work / "out"
        raw.mkdir()
        command = [
            _archiver(),
            "--model-name",
            MODEL_NAME,
            "--version",
            MODEL_VERSION,
            "--serialized-file",
            str(weights),
            "--handler",
            str(handler),
            # A directory given as extra file has its items copied to the archive root: so model/.
            "--extra-files",
            str(extra),
            "--export-path",
            str(raw),
            "--force",
        ]
        # The archiver stages files in $TMPDIR/<model-name>; give it a private one.
        subprocess.run(command, check=True, env=os.environ | {"TMPDIR": str(work)})
        export_path.mkdir(parents=True, exist_ok=True)
        target = export_path / f"{MODEL_NAME}.mar"
        partial = target.with_suffix(".mar.partial")
        normalize_archive(raw / f"{MODEL_NAME}.mar", partial)
        if (weights, handler) == (WEIGHTS, HANDLER):
            if record:
                write_sum(partial, MAR_SUMS, target.name)
            _check_shipped_archive(partial, target.name)
        partial.replace(target)  # atomic: a running TorchServe never sees half an archive
    return target


def _check_shipped_archive(archive: Path, name: str) -> None:
    try:
        verify(archive, MAR_SUMS, name)
    except IntegrityError as exc:
        archive.unlink()
        raise IntegrityError(
            f"{exc}\nThe archive built from the shipped sources differs from the recorded one. If you changed "
            "the handler or the model code on purpose, record the new archive: make mar-checksum"
        ) from exc


def normalize_archive(source: Path, target: Path) -> None:
    """Rewrite a .mar with sorted entries, fixed timestamps and permissions, and a fixed createdOn."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", ZIP_EPOCH))
    stamp = time.gmtime(max(epoch, ZIP_EPOCH))
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as rebuilt:
        for name in sorted(original.namelist()):
            data = original.read(name)
            if name == MANIFEST:
                manifest = json.loads(data)
                manifest["createdOn"] = time.strftime("%d/%m/%Y %H:%M:%S", stamp)
                data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
            entry = zipfile.ZipInfo(name, date_time=stamp[:6])
            entry.compress_type = zipfile.ZIP_STORED
            entry.external_attr = 0o644 << 16
            rebuilt.writestr(entry, data)


def _archiver() -> str:
    """torch-model-archiver from the running interpreter's environment, else from PATH."""
    beside = Path(sys.executable).parent / "torch-model-archiver"
    found = str(beside) if beside.exists() else shutil.which("torch-model-archiver")
    if found is None:
        sys.exit("torch-model-archiver not found: pip install -r requirements.txt")
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.weights.exists():
        print(f"error: no weights at {args.weights}; run `make train` first", file=sys.stderr)
        return 2
    try:
        target = build(args.export_path, args.weights, args.handler, args.record_checksum)
    except IntegrityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
