"""`make serve`'s launcher: comes up, serves, and leaves no process behind on SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys

import psutil
import pytest

from evaluation.imaging import png
from scripts.serve import ROOT, free_port, wait_until_ready
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
    try:
        try:
            wait_until_ready(port, READY_TIMEOUT, [launcher])
        except (RuntimeError, TimeoutError):
            launcher.kill()
            pytest.fail(f"launcher did not come up:\n{launcher.communicate()[0].decode(errors='replace')[-5000:]}")
        status, body = upload(f"http://127.0.0.1:{port}/classify", png(mnist_pixels[0]))
        assert status == 200 and body["predicted_digit"] == int(mnist_test.labels[0])
        family = psutil.Process(launcher.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in family)
        assert "java" in names and "model_service_worker" in names and "proxy" in names
        launcher.send_signal(stop_signal)
        output = launcher.communicate(timeout=60)[0].decode(errors="replace")
        assert launcher.returncode == 0, output
        assert "ready in" in output
        _, alive = psutil.wait_procs(family, timeout=10)
        assert alive == [], f"left behind: {[p.cmdline() for p in alive]}"
    finally:
        if launcher.poll() is None:
            launcher.kill()
