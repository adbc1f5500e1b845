"""`make serve`'s launcher: comes up, serves, and leaves no process behind on SIGTERM or Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import IO

import psutil
import pytest

from evaluation.imaging import png
from harness.launcher import ROOT, free_port, read_properties
from proxy.settings import usable_cores
from tests.conftest import READY_TIMEOUT
from tests.http_helpers import multipart, upload

LISTENER_CLOSE_TIMEOUT = 5.0  # from SIGTERM to make until the proxy stops accepting


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_launcher_starts_serves_and_stops_cleanly(stop_signal, tmp_path, model_store, mnist_pixels, mnist_test):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "harness",
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
        # It says what it chose for this machine: one TorchServe worker per core, one proxy process per 2.
        cores = usable_cores()
        chosen = f"{cores} cores: {cores} TorchServe workers, {max(2, cores // 2)} proxy processes"
        assert any(chosen in line for line in seen), seen[-3:]
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


def test_sigterm_to_make_serve_finishes_the_request_in_flight(tmp_path, mnist_pixels, mnist_test):
    """`make serve`, as a user runs it (building the repo's archive if needed), then SIGTERM to make.

    An upload whose body is still arriving when the signal comes is answered (200, right digit);
    then every process exits and no port is left listening.
    """
    port = free_port()
    command = ["make", "-s", "serve", f"SERVE_ARGS=--free-torchserve-ports --run-dir {tmp_path}"]
    environment = os.environ | {"GOCLASSIFY_PORT": str(port)}
    make = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = _lines_of(make.stdout)
    try:
        seen = _wait_for_line(lines, "ready in", READY_TIMEOUT + 120)  # may build the archive first
        assert any("ready in" in line for line in seen), "".join(seen)[-5000:]
        family = psutil.Process(make.pid).children(recursive=True)
        head, body = _upload_request(port, png(mnist_pixels[5]))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(head + body[: len(body) // 2])
            time.sleep(1.0)  # the proxy is now reading this request
            make.send_signal(signal.SIGTERM)
            _wait_until_refused(port, LISTENER_CLOSE_TIMEOUT)  # shutdown has begun: no new connections
            client.sendall(body[len(body) // 2 :])
            answer = _read_response(client)
        assert answer.startswith(b"HTTP/1.1 200"), (answer[:200], "".join(_wait_for_line(lines, "", 20))[-5000:])
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["predicted_digit"] == int(mnist_test.labels[5])
        make.wait(timeout=60)
        _, alive = psutil.wait_procs(family, timeout=10)
        assert alive == [], f"left behind: {[p.cmdline() for p in alive]}"
        config = read_properties(tmp_path / "config.properties")
        ports = [port] + [int(config[key].rsplit(":", 1)[1]) for key in ("inference_address", "management_address")]
        for left in ports:
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", left)) != 0, f"port {left} still listening"
    finally:
        if make.poll() is None:
            make.kill()


def _wait_until_refused(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        assert time.monotonic() < deadline, f"port {port} still accepts connections {timeout:g} s after SIGTERM"
        time.sleep(0.1)


def _upload_request(port: int, data: bytes) -> tuple[bytes, bytes]:
    body, content_type = multipart({"image": ("digit.png", data, "image/png")})
    head = (
        f"POST /classify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head, body


def _read_response(client: socket.socket) -> bytes:
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
