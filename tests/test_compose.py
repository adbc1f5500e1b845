"""`docker compose up --build` for real: both images built from this checkout, the stack started, and
tested over HTTP as a user and an operator would (docs/docker.md).

Needs a Docker engine with Compose v2 and a python:3.11-slim-bookworm image (`.ci/docker-setup`
provides all three on a machine without them). Skipped where there is no engine, unless
GOCLASSIFY_NO_SKIPS=1 (CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from evaluation.imaging import png
from harness import launcher as serve
from harness.launcher import ROOT
from tests.conftest import skip_unless_required
from tests.http_helpers import multipart, request, upload, upload_many

PROJECT = "goclassify-test"  # not the user's `goclassify`: the test never touches a stack of theirs
KEYS_VOLUME = f"{PROJECT}_torchserve-keys"
BUILD_TIMEOUT = 1200.0
READY_TIMEOUT = 180.0
# The TorchServe ports of config.properties: inference, management, metrics, and the gRPC pair.
TORCHSERVE_PORTS = (8080, 8081, 8082, 7070, 7071)


def engine_missing() -> str | None:
    """Why the compose test cannot run here, or None when it can."""
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
        version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no docker CLI: {exc}"
    if info.returncode != 0:
        return "no Docker engine is running (.ci/docker-setup starts one)"
    if version.returncode != 0 or " v2." not in version.stdout:
        return "no Compose v2 (`docker compose`)"
    return None


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    seconds_to_healthy: float

    def compose(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "-p", PROJECT, *args]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(command)}: exit {done.returncode}\n{done.stderr[-3000:]}"
        return done

    def container(self, service: str) -> dict:
        container_id = self.compose("ps", "-q", "--all", service).stdout.strip()
        inspected = subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True, check=True)
        return json.loads(inspected.stdout)[0]

    def containers_left(self) -> list[str]:
        label = f"label=com.docker.compose.project={PROJECT}"
        listed = subprocess.run(["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True, check=True)
        return listed.stdout.split()


def wait_healthy(url: str, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if request(f"{url}/healthz", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url}/healthz not 200 within {timeout:.0f} s")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    reason = engine_missing()
    if reason:
        skip_unless_required(reason)
    port = serve.free_port()
    stack = Stack(f"http://127.0.0.1:{port}", os.environ | {"GOCLASSIFY_PORT": str(port)}, 0.0)
    stack.compose("build", timeout=BUILD_TIMEOUT)
    started = time.monotonic()
    try:
        stack.compose("up", "--detach", "--wait", "--wait-timeout", str(int(READY_TIMEOUT)), timeout=READY_TIMEOUT + 30)
        stack.seconds_to_healthy = time.monotonic() - started
        yield stack
    finally:
        subprocess.run(["docker", "compose", "-p", PROJECT, "down", "--volumes"], cwd=ROOT, env=stack.env, timeout=120)


def test_the_stack_classifies_a_real_mnist_digit(stack: Stack, mnist_pixels, mnist_test):
    status, health = request(f"{stack.url}/healthz")
    assert status == 200 and health["status"] == "ok" and health["workers_ready"] >= 1
    status, body = upload(f"{stack.url}/classify", png(mnist_pixels[0]))
    assert status == 200 and body["predicted_digit"] == int(mnist_test.labels[0])
    assert set(body["probabilities"]) == {str(digit) for digit in range(10)}


def test_a_batch_comes_back_in_order(stack: Stack, mnist_pixels, mnist_test):
    files = [("image", (f"{i}.png", png(mnist_pixels[i]), "image/png")) for i in range(1, 6)]
    status, body = upload_many(f"{stack.url}/classify", files)
    assert status == 200
    assert [answer["predicted_digit"] for answer in body] == [int(d) for d in mnist_test.labels[1:6]]


def test_a_bad_upload_gets_a_400_json_error(stack: Stack):
    status, body = upload(f"{stack.url}/classify", b"not an image at all")
    assert status == 400 and "error" in body


def test_only_the_proxy_port_is_published_and_every_container_is_locked_down(stack: Stack):
    """Read-only root filesystem, no capabilities, no privilege escalation, every process uid 10001."""
    for service in ("pod", "proxy", "torchserve"):
        container = stack.container(service)
        bindings = container["HostConfig"]["PortBindings"] or {}
        expected = {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": stack.env["GOCLASSIFY_PORT"]}]}
        assert bindings == (expected if service == "pod" else {}), service
        host = container["HostConfig"]
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"], service
        assert "no-new-privileges:true" in host["SecurityOpt"] and not host["Privileged"], service
        processes = subprocess.run(["docker", "top", container["Id"], "-o", "pid,uid"], capture_output=True, text=True)
        uids = {line.split()[1] for line in processes.stdout.splitlines()[1:]}
        assert uids == {"10001"}, (service, processes.stdout)
    keys = subprocess.run(["docker", "volume", "inspect", KEYS_VOLUME], capture_output=True, text=True, check=True)
    assert json.loads(keys.stdout)[0]["Options"]["type"] == "tmpfs"  # the non-expiring keys stay off disk


def test_the_containers_run_with_the_pods_limits_and_say_which_torch_they_have(stack: Stack):
    """Memory and CPU limits on both (the byte budget follows the proxy's); torch's build recorded in
    the image: the CPU-only one where its index answers, PyPI's otherwise (docker/install-serve-requirements.sh)."""
    for service, memory, cpus in (("proxy", 320 * 2**20, 1), ("torchserve", 2 * 2**30, 2)):
        host = stack.container(service)["HostConfig"]
        assert (host["Memory"], host["NanoCpus"]) == (memory, cpus * 10**9), service
    built = stack.compose("exec", "-T", "torchserve", "cat", "/srv/goclassify/torch-build.txt").stdout
    print(f"\nTorchServe image: {built.strip()}")
    assert re.fullmatch(r"torch 2\.14\.1(\+\w+)? from \S+: (CPU-only build|CUDA [\d.]+ build, run on the CPU)\n", built)


def test_torchserve_is_unreachable_from_the_host(stack: Stack):
    """TorchServe binds the pod's loopback: on the pod's own address only the proxy's port answers."""
    networks = stack.container("pod")["NetworkSettings"]["Networks"]
    address = next(iter(networks.values()))["IPAddress"]
    with socket.create_connection((address, 8000), timeout=5):
        pass  # the address is right: the proxy answers on it
    for port in TORCHSERVE_PORTS:
        with pytest.raises(ConnectionRefusedError), socket.create_connection((address, port), timeout=5):
            pass


def test_torchserve_down_gives_a_503_at_once_and_the_proxy_recovers_by_itself(stack: Stack, mnist_pixels):
    proxy_before = stack.container("proxy")["State"]
    stack.compose("stop", "torchserve")
    try:
        started = time.monotonic()
        status, body = upload(f"{stack.url}/classify", png(mnist_pixels[0]))
        elapsed = time.monotonic() - started
        assert status == 503 and "error" in body
        assert elapsed < 1.0
        assert request(f"{stack.url}/healthz")[0] == 503
    finally:
        stack.compose("start", "torchserve")
    wait_healthy(stack.url)
    assert upload(f"{stack.url}/classify", png(mnist_pixels[0]))[0] == 200
    proxy_after = stack.container("proxy")["State"]
    assert proxy_after["StartedAt"] == proxy_before["StartedAt"] and proxy_after["Running"]


def test_down_drains_a_request_in_flight_and_is_quick(stack: Stack, mnist_pixels, mnist_test):
    """SIGTERM (compose stops the proxy before TorchServe) answers the upload already under way, then
    every container stops by itself (no SIGKILL: no exit code 137) and nothing is left behind."""
    form, content_type = multipart({"image": ("d.png", png(mnist_pixels[7]), "image/png")})
    head = (
        f"POST /classify HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(form)}\r\n\r\n"
    ).encode()
    port = int(stack.env["GOCLASSIFY_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(head + form[:100])  # the request is in flight: headers read, body not yet
        time.sleep(0.5)
        stopping = threading.Thread(target=stack.compose, args=("stop",))
        stopping.start()
        time.sleep(1.0)  # compose has sent the proxy its SIGTERM
        client.sendall(form[100:])
        answer = b"".join(iter(lambda: client.recv(65536), b""))
        stopping.join(timeout=60)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["predicted_digit"] == int(mnist_test.labels[7])
    exit_codes = {service: stack.container(service)["State"]["ExitCode"] for service in ("pod", "proxy", "torchserve")}
    assert 137 not in exit_codes.values(), exit_codes
    # Stopped, the keys' tmpfs is unmounted: TorchServe's key file is gone with it.
    listing = ["docker", "run", "--rm", "--user", "10001", "-v", f"{KEYS_VOLUME}:/keys", "goclassify-proxy:1.0.0"]
    left = subprocess.run([*listing, "ls", "-A", "/keys"], capture_output=True, text=True, check=True, timeout=60)
    assert left.stdout.strip() == ""

    stack.compose("start")
    wait_healthy(stack.url)
    started = time.monotonic()
    stack.compose("down", "--volumes")
    seconds = time.monotonic() - started
    assert seconds < 3.0
    assert stack.containers_left() == []
