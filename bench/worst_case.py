"""What the worst upload the limits allow costs a worker: ``make bench-worst``.

Each file is preprocessed in a fresh process on one core (as a TorchServe worker: torch and OpenCV
on one thread, the model code imported and warmed on a small image first), and the process reports
the time and how far its peak resident memory rose above that warm baseline. The files: a 40 MP PNG
(6,300 x 6,300, the pixel limit, a page with one digit: a few tens of kB on the wire) and a JPEG of
about 10 MiB (the upload limit) at 40 MP.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 6_300  # 39.7 MP: under the 40 MP limit


def worst_files() -> dict[str, bytes]:
    page = Image.new("RGB", (SIDE, SIDE), (235, 235, 230))
    page.paste((20, 20, 30), (3000, 2900, 3150, 3600))  # a thick "1"
    png = io.BytesIO()
    page.save(png, "PNG")
    rng = np.random.default_rng(0)
    noisy = np.clip(np.asarray(page, np.int16) + rng.normal(0, 40, (SIDE, SIDE, 1)), 0, 255).astype(np.uint8)
    jpeg = io.BytesIO()
    Image.fromarray(noisy).save(jpeg, "JPEG", quality=45)
    return {"40 MP PNG": png.getvalue(), "40 MP JPEG": jpeg.getvalue()}


def child(path: str) -> None:
    import cv2
    import torch

    from model.errors import InvalidImageError
    from model.preprocess import preprocess_upload

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    small = io.BytesIO()
    Image.new("L", (400, 300), 240).save(small, "PNG")
    with contextlib.suppress(InvalidImageError):  # a blank page: warms the same code
        preprocess_upload(small.getvalue())
    data = Path(path).read_bytes()
    before = status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak (VmHWM) starts again from now
    started = time.perf_counter()
    with contextlib.suppress(InvalidImageError):  # "no digit found" costs the same work
        preprocess_upload(data)
    seconds = time.perf_counter() - started
    peak = status_kb("VmHWM")
    print(json.dumps({"seconds": seconds, "rss_rise_mb": (peak - before) / 1024, "bytes": len(data)}))


def status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    with tempfile.TemporaryDirectory() as directory:
        for name, data in worst_files().items():
            path = Path(directory) / "upload"
            path.write_bytes(data)
            out = subprocess.run(
                [sys.executable, "-m", "bench.worst_case", "--child", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            got = json.loads(out.stdout.strip().splitlines()[-1])
            size, ms, rise = got["bytes"] / 2**20, got["seconds"] * 1000, got["rss_rise_mb"]
            print(f"{name} ({size:.1f} MiB): {ms:.0f} ms, peak RSS +{rise:.0f} MB")


if __name__ == "__main__":
    main()
