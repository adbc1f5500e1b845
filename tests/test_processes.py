"""The proxy's parent process (proxy/processes.py): a stop reaches every process and ends in exit 0;
a process that dies on its own takes the others down, exit 1, so a supervisor restarts it whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from harness import launcher as serve
from harness.launcher import ROOT

PROCESSES = 3


def start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    """``python -m proxy --processes 3`` in front of ports where nothing listens (no TorchServe needed)."""
    ports = serve.Ports.free()
    command = [
        sys.executable, "-m", "proxy", "--processes", str(PROCESSES), "--port", str(ports.proxy),
        "--inference-url", f"http://127.0.0.1:{ports.inference}",
        "--management-url", f"http://127.0.0.1:{ports.management}",
    ]  # fmt: skip
    env = os.environ | {"TMPDIR": str(tmp_path)}  # where the parent makes its metrics directory
    with (tmp_path / "proxy.log").open("ab") as log:
        parent = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    serve.wait_for_listen(ports.proxy, parent)
    deadline = time.monotonic() + 10
    while len(children := psutil.Process(parent.pid).children()) < PROCESSES and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(children) == PROCESSES
    return parent, children


def metrics_dirs(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("goclassify-proxy-metrics-*"))


def test_a_stop_reaches_every_process_and_ends_in_exit_0(tmp_path):
    parent, children = start(tmp_path)
    assert len(metrics_dirs(tmp_path)) == 1
    parent.send_signal(signal.SIGTERM)  # Docker's and Kubernetes' stop: to PID 1 alone
    assert parent.wait(timeout=20) == 0
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    assert metrics_dirs(tmp_path) == []  # the summed counters' directory is removed


def test_a_process_that_dies_takes_the_others_down_with_exit_1(tmp_path):
    parent, children = start(tmp_path)
    children[0].kill()
    assert parent.wait(timeout=20) == 1
    _, alive = psutil.wait_procs(children[1:], timeout=5)
    assert alive == []
    assert "ended on its own: stopping the other processes" in (tmp_path / "proxy.log").read_text()
