"""SHA-256 checksums for the files that decide what the service answers: the weights and the archive.

Records are ``SHA256SUMS`` files in ``sha256sum`` format beside the files they cover, so
``sha256sum -c SHA256SUMS`` checks them by hand too. Packaging verifies the weights before building
and the archive after; the handler verifies the weights again when a worker starts, so a file
corrupted anywhere between training and serving fails loudly instead of serving wrong answers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

SUMS_NAME = "SHA256SUMS"
CHUNK = 1 << 20


class IntegrityError(RuntimeError):
    """A file does not match its recorded checksum (or has none)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_sums(sums: Path) -> dict[str, str]:
    """``{file name: hex digest}`` from a sha256sum-format file."""
    records = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            records[name.lstrip("*")] = digest.lower()
    return records


def write_sum(path: Path, sums: Path | None = None, name: str | None = None) -> Path:
    """Record ``path``'s checksum as ``name`` (default: its own) in ``sums`` (default: SHA256SUMS beside
    it), keeping the other records."""
    sums = sums or path.parent / SUMS_NAME
    records = read_sums(sums) if sums.exists() else {}
    records[name or path.name] = sha256_file(path)
    sums.write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(records.items())))
    return sums


def verify(path: Path, sums: Path | None = None, name: str | None = None) -> str:
    """Check ``path`` against the record for ``name`` (default: its own name) in ``sums`` (default:
    SHA256SUMS beside it); return the digest."""
    sums = sums or path.parent / SUMS_NAME
    name = name or path.name
    if not sums.exists():
        raise IntegrityError(f"no checksum record for {name}: {sums} is missing")
    expected = read_sums(sums).get(name)
    if expected is None:
        raise IntegrityError(f"{sums} has no checksum for {name}")
    actual = sha256_file(path)
    if actual != expected:
        raise IntegrityError(
            f"{path} is corrupt or not the recorded file: its SHA-256 is {actual}, {sums} records {expected}"
        )
    return actual
