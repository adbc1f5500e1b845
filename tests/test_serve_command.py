"""`make serve`'s launcher: comes up, serves, and leaves no process behind on SIGTERM or Ctrl-C."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from typing import IO

import psutil
import pytest

from evaluation.imaging import png
from scripts.serve import ROOT, free_port
from tests.conftest import READY_TIMEOUT
from tests.http_helpers import upload


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_starts_serves_and_stops_cleanly(stop_signal, tmp_path, model_store, mnist_pixels, mnist_test):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "scripts.serve",
        "--port",
        str(port),
        "--free-torchserve-ports",
        "--run-dir",
        str(tmp_path),
        "--model-store",
        str(model_store),
    ]
    launcher = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = _lines_of(launcher.stdout)
    try:
        # Wait for the launcher's own "ready" line, not for /healthz: our poll can see 200 a moment before
        # the launcher's does, and a signal in between would test start-up, not shutdown (a CI flake).
        seen = _wait_for_line(lines, "ready in", READY_TIMEOUT)
        if not any("ready in" in line for line in seen):
            launcher.kill()
            pytest.fail("launcher did not come up:\n" + "".join(seen)[-5000:])
        status, body = upload(f"http://127.0.0.1:{port}/classify", png(mnist_pixels[0]))
        assert status == 200 and body["predicted_digit"] == int(mnist_test.labels[0])
        family = psutil.Process(launcher.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in family)
        assert "java" in names and "model_service_worker" in names and "proxy" in names
        launcher.send_signal(stop_signal)
        assert launcher.wait(timeout=60) == 0, "".join(seen + _wait_for_line(lines, "", 0))
        _, alive = psutil.wait_procs(family, timeout=10)
        assert alive == [], f"left behind: {[p.cmdline() for p in alive]}"
    finally:
        if launcher.poll() is None:
            launcher.kill()


def _lines_of(stream: IO[bytes] | None) -> queue.Queue[str | None]:
    """The stream's lines, read on a thread into a queue (None at the end), so waiting can time out."""
    assert stream is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for raw in stream:
            lines.put(raw.decode(errors="replace"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_line(lines: queue.Queue[str | None], needle: str, timeout: float) -> list[str]:
    """Lines read until one contains ``needle`` (empty: none does), the stream ends or ``timeout`` passes."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()) or 0.01)
        except queue.Empty:
            return seen
        if line is None:
            return seen
        seen.append(line)
        if needle and needle in line:
            return seen
