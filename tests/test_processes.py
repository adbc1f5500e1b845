"""The proxy's parent process (proxy/processes.py): a stop reaches every process and ends in exit 0;
a process that dies on its own takes the others down, exit 1, so a supervisor restarts it whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from harness import launcher as serve
from harness.watchdog import stop_group

ROOT = Path(__file__).resolve().parent.parent

PROCESSES = 3


def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    """``python -m proxy --processes 3`` in front of ports where nothing listens (no TorchServe needed)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the parent makes its metrics directory
    ports = serve.Ports.free()
    parent = serve.start_proxy(ports, tmp_path / "proxy.log", "--processes", str(PROCESSES))
    serve.wait_for_listen(ports.proxy, parent)
    deadline = time.monotonic() + 10
    while len(children := psutil.Process(parent.pid).children()) < PROCESSES and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(children) == PROCESSES
    return parent, children


def metrics_dirs(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("goclassify-proxy-metrics-*"))


def test_a_stop_reaches_every_process_and_ends_in_exit_0(tmp_path, monkeypatch):
    parent, children = start(tmp_path, monkeypatch)
    assert len(metrics_dirs(tmp_path)) == 1
    parent.send_signal(signal.SIGTERM)  # Docker's and Kubernetes' stop: to PID 1 alone
    assert parent.wait(timeout=20) == 0
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    assert metrics_dirs(tmp_path) == []  # the summed counters' directory is removed


def test_a_process_that_dies_takes_the_others_down_with_exit_1(tmp_path, monkeypatch):
    parent, children = start(tmp_path, monkeypatch)
    children[0].kill()
    assert parent.wait(timeout=20) == 1
    _, alive = psutil.wait_procs(children[1:], timeout=5)
    assert alive == []
    assert "ended on its own: stopping the other processes" in (tmp_path / "proxy.log").read_text()


def test_a_process_that_dies_while_the_others_start_still_takes_them_down(tmp_path):
    """proxy-0 ends before the parent has started the rest: the parent sees it (it once waited only on
    the processes still running when it first looked, and hung there)."""
    script = textwrap.dedent("""
        import multiprocessing, os, signal, sys
        from proxy.processes import supervise
        from proxy.settings import Settings

        def run(settings, reuse_port):
            if multiprocessing.current_process().name == "proxy-0":
                os._exit(3)
            signal.pause()  # until the parent's stop

        sys.exit(supervise(Settings(processes=3, upstream_concurrency=3), run))
    """)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env=env, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        _, stderr = parent.communicate(timeout=20)
    finally:
        stop_group(parent.pid, grace=1, reap=parent.poll)  # what a hang left behind
    assert parent.returncode == 1
    assert b"proxy-0 (exit 3) ended on its own: stopping the other processes" in stderr
    assert metrics_dirs(tmp_path) == []


@pytest.mark.parametrize("delay", [0.05, 0.1, 0.15, 0.2, 0.3, 0.5])
def test_a_stop_during_start_up_never_hangs_or_leaves_a_process(tmp_path, delay: float):
    """SIGTERM to the parent alone, at moments from module import to serving: it ends, and takes every
    process with it (a stop that fell between a fork and the child's own handlers once went unheard)."""
    ports = serve.Ports.free()
    parent = serve.start_proxy(ports, tmp_path / "proxy.log", "--processes", str(PROCESSES))
    time.sleep(delay)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=20) in (0, -signal.SIGTERM)  # -SIGTERM: stopped before it set handlers
    mine = f"--port {ports.proxy}"
    left = [p for p in psutil.process_iter(["cmdline"]) if mine in " ".join(p.info["cmdline"] or [])]
    _, alive = psutil.wait_procs(left, timeout=5)
    assert alive == []
