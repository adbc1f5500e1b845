"""What the worst upload the limits allow costs a worker: ``make bench-worst``.

Each file is preprocessed in a fresh process on one core (as a TorchServe worker: torch and OpenCV
on one thread, the model code imported and warmed on a small image first), and the process reports
the time and how far its peak resident memory rose above that warm baseline. The files: PNGs at the
limit of what is decoded at full size (MAX_DECODED_PIXELS, a page with one digit: a few tens of kB on
the wire), in colour and with an alpha channel, and a JPEG of about 10 MiB (the upload limit) at the
limit of any upload (MAX_PIXELS), which is decoded reduced.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from model.decode import MAX_DECODED_PIXELS, MAX_PIXELS
from proxy.settings import Settings

BATCH = 16
MAX_UPLOAD_BYTES = Settings().max_upload_bytes


def page(side: int, mode: str) -> Image.Image:
    """A light page ``side`` pixels square with a thick "1" in the middle."""
    image = Image.new(mode, (side, side), (235, 235, 230, 255)[: len(mode)])
    middle = side // 2
    image.paste((20, 20, 30, 255)[: len(mode)], (middle - 75, middle - 350, middle + 75, middle + 350))
    return image


def encoded(image: Image.Image, fmt: str, **options: int) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def worst_files() -> dict[str, bytes]:
    side, jpeg_side = math.isqrt(MAX_DECODED_PIXELS), math.isqrt(MAX_PIXELS)
    rng = np.random.default_rng(0)
    light = np.asarray(page(jpeg_side, "RGB"), np.int16)
    noisy = np.clip(light + rng.normal(0, 40, (jpeg_side, jpeg_side, 1)), 0, 255).astype(np.uint8)
    megapixels, jpeg_megapixels = side * side / 1e6, jpeg_side * jpeg_side / 1e6
    return {
        f"{megapixels:.0f} MP PNG": encoded(page(side, "RGB"), "PNG"),
        f"{megapixels:.0f} MP PNG, alpha": encoded(page(side, "RGBA"), "PNG"),
        f"{jpeg_megapixels:.0f} MP JPEG": encoded(Image.fromarray(noisy), "JPEG", quality=45),
    }


def child(path: str, copies: int) -> None:
    """Preprocesses ``copies`` of the file as the handler does a batch (each image's result kept until
    the batch's forward pass) and prints the time and the peak RSS rise as JSON."""
    import cv2
    import torch

    from model.errors import InvalidImageError, NoDigitError
    from model.preprocess import preprocess_upload

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    small = io.BytesIO()
    Image.new("L", (400, 300), 240).save(small, "PNG")
    with contextlib.suppress(InvalidImageError):  # a blank page: warms the same code
        preprocess_upload(small.getvalue())
    batch = [Path(path).read_bytes() for _ in range(copies)]  # the handler unpacks each file as bytes
    kept = []
    before = status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak (VmHWM) starts again from now
    started = time.perf_counter()
    for data in batch:
        with contextlib.suppress(NoDigitError):  # "no digit found" costs the same work; "too large" fails
            kept.append(preprocess_upload(data))
    seconds = time.perf_counter() - started
    peak = status_kb("VmHWM")
    print(json.dumps({"seconds": seconds, "rss_rise_mb": (peak - before) / 1024, "bytes": len(batch[0])}))


def status_kb(field: str, pid: int | str = "self") -> int:
    """A memory figure (VmRSS, VmHWM...) of a process from /proc/<pid>/status, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def measure(data: bytes, copies: int = 1) -> dict[str, float]:
    """Preprocessing ``copies`` of ``data`` in a fresh worker-like process: seconds, peak RSS rise (MB),
    bytes of one."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "upload"
        path.write_bytes(data)
        out = subprocess.run(
            [sys.executable, "-m", "bench.worst_case", "--child", str(path), str(copies)],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
        return
    for name, data in worst_files().items():
        # A batch of the large JPEG cannot arrive: a TorchServe request carries at most the upload limit.
        for copies in (1, BATCH) if len(data) * BATCH <= MAX_UPLOAD_BYTES else (1,):
            got = measure(data, copies)
            size, ms, rise = got["bytes"] / 2**20, got["seconds"] * 1000, got["rss_rise_mb"]
            what = name if copies == 1 else f"{copies} x {name}, one batch"
            print(f"{what} ({size:.1f} MiB each): {ms:.0f} ms, peak RSS +{rise:.0f} MB")


if __name__ == "__main__":
    main()
