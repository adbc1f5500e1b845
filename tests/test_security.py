"""Exposure: what TorchServe and the proxy let in, and the token keys' life cycle, on the real servers."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

from evaluation.imaging import png
from harness import launcher as serve
from harness.launcher import ROOT, Deployment
from tests.conftest import READY_TIMEOUT
from tests.http_helpers import multipart, request, response, upload

REFUSED = "InvalidKeyException"


def test_torchserve_refuses_calls_without_its_key(deployment: Deployment, mnist_pixels):
    predictions = f"{deployment.inference}/predictions/mnist"
    status, body = request(predictions, png(mnist_pixels[0]), "image/png")
    assert status == 400 and body["type"] == REFUSED
    status, body = request(f"{deployment.management}/models/mnist")
    assert status == 400 and body["type"] == REFUSED
    wrong = {"Authorization": "Bearer not-the-key"}
    status, body = request(f"{deployment.management}/models/mnist", headers=wrong)
    assert status == 400 and body["type"] == REFUSED
    # The inference key opens inference only, not management.
    status, body = request(f"{deployment.management}/models/mnist", headers=deployment.auth("inference"))
    assert status == 400 and body["type"] == REFUSED
    status, body = request(f"{deployment.management}/models/mnist", headers=deployment.auth("management"))
    assert status == 200 and body[0]["modelName"] == "mnist"


def test_key_file_is_private(deployment: Deployment):
    assert serve.key_file(deployment.run_dir).stat().st_mode & 0o077 == 0


def test_every_torchserve_port_listens_on_loopback_only(deployment: Deployment):
    listening = {
        (conn.laddr.ip, conn.laddr.port)
        for process in serve.process_tree(deployment.children[0])
        for conn in process.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    }
    ports = deployment.ports
    expected = {ports.inference, ports.management, ports.metrics, ports.grpc_inference, ports.grpc_management}
    assert {port for _, port in listening} == expected
    # Java reports IPv4 sockets as IPv4-mapped IPv6 (::ffff:127.0.0.1).
    addresses = {ipaddress.ip_address(ip) for ip, _ in listening}
    assert {getattr(address, "ipv4_mapped", None) or address for address in addresses} == {
        ipaddress.ip_address("127.0.0.1")
    }


def test_models_cannot_be_registered_over_http(deployment: Deployment):
    """enable_model_api=false: even with the management key, no model can be added or removed."""
    auth = deployment.auth("management")
    status, body = request(f"{deployment.management}/models?url=mnist.mar", method="POST", headers=auth)
    assert status == 405 and "not allowed" in body["message"]
    status, body = request(f"{deployment.management}/models/mnist", method="DELETE", headers=auth)
    assert status == 405
    status, _ = request(f"{deployment.management}/models/mnist", headers=auth)
    assert status == 200


def test_no_cors_headers_by_default(deployment: Deployment, mnist_pixels):
    body, ctype = multipart({"image": ("digit.png", png(mnist_pixels[0]), "image/png")})
    for path, data, content_type in (("/classify", body, ctype), ("/healthz", None, None)):
        answer = response(f"{deployment.proxy}{path}", data, content_type, {"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in answer.headers
    preflight = response(
        f"{deployment.proxy}/classify",
        method="OPTIONS",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 405 and "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_answers_only_the_listed_origins(tmp_path):
    ports = serve.Ports.free()  # the proxy alone: CORS does not need TorchServe
    proxy = serve.start_proxy(ports, tmp_path / "proxy.log", "--cors-origins", "https://app.example")
    try:
        serve.wait_for_listen(ports.proxy, proxy)
        url = f"http://127.0.0.1:{ports.proxy}"
        asked = {"Access-Control-Request-Method": "POST"}
        preflight = response(f"{url}/classify", method="OPTIONS", headers={"Origin": "https://app.example"} | asked)
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        health = response(f"{url}/healthz", headers={"Origin": "https://app.example"})
        assert health.headers["Access-Control-Allow-Origin"] == "https://app.example"
        other = response(f"{url}/healthz", headers={"Origin": "https://other.example"})
        assert "Access-Control-Allow-Origin" not in other.headers
    finally:
        serve.stop(proxy)


def test_a_wildcard_origin_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "proxy", "--cors-origins", "*"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "wildcard" in result.stderr


@pytest.fixture(scope="module")
def short_lived_keys(model_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A deployment whose TorchServe keys expire after 3 seconds."""
    run_dir = tmp_path_factory.mktemp("short-keys")
    properties = {"token_expiration_min": "0.05"}
    with serve.running_deployment(model_store, run_dir, timeout=READY_TIMEOUT, properties=properties) as running:
        yield running


def test_expired_keys_are_regenerated_by_the_proxy(short_lived_keys: Deployment, mnist_pixels, mnist_test):
    first = json.loads(serve.key_file(short_lived_keys.run_dir).read_text())
    time.sleep(4)
    status, body = upload(f"{short_lived_keys.proxy}/classify", png(mnist_pixels[3]))
    assert status == 200 and body["predicted_digit"] == int(mnist_test.labels[3])
    status, body = request(f"{short_lived_keys.proxy}/healthz")
    assert status == 200, body
    now = json.loads(serve.key_file(short_lived_keys.run_dir).read_text())
    assert now["inference"]["key"] != first["inference"]["key"]
    assert now["management"]["key"] != first["management"]["key"]
    assert now["API"]["key"] == first["API"]["key"]


def test_an_operator_rotated_key_is_picked_up(short_lived_keys: Deployment, mnist_pixels, mnist_test):
    """Rotation as the README describes it: POST /token with the API key; the proxy follows at once."""
    keys = serve.key_file(short_lived_keys.run_dir)
    before = json.loads(keys.read_text())
    api = {"Authorization": f"Bearer {before['API']['key']}"}
    for kind in ("inference", "management"):
        assert response(f"{short_lived_keys.management}/token?type={kind}", method="POST", headers=api).status == 200
    assert json.loads(keys.read_text())["inference"]["key"] != before["inference"]["key"]
    status, body = upload(f"{short_lived_keys.proxy}/classify", png(mnist_pixels[4]))
    assert status == 200 and body["predicted_digit"] == int(mnist_test.labels[4])


def test_containers_run_as_non_root_and_publish_only_the_proxy():
    for dockerfile in (ROOT / "docker").glob("*.Dockerfile"):
        users = [line.split()[1] for line in dockerfile.read_text().splitlines() if line.startswith("USER ")]
        assert users and users[-1] not in {"root", "0"}, dockerfile.name
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert published.pop("pod") == ["127.0.0.1:${GOCLASSIFY_PORT:-8000}:8000"]
    assert all(ports == [] for ports in published.values())
    assert not any(service.get("privileged") for service in compose["services"].values())
    # TorchServe keeps config.properties' loopback addresses in the namespace it shares with the proxy.
    torchserve = compose["services"]["torchserve"]
    assert torchserve["network_mode"] == compose["services"]["proxy"]["network_mode"] == "service:pod"
    assert "environment" not in torchserve
