"""The Kubernetes manifests (deploy/kubernetes/, docs/kubernetes.md): every overlay builds, validates
strictly against the Kubernetes API schemas offline, passes checkov, and keeps our own rules.

Needs kubectl (with its kustomize) and the tools venv that `make test` installs (.venv-k8s:
checkov, kubernetes-validate); skipped without them unless GOCLASSIFY_NO_SKIPS=1.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.launcher import ROOT, read_properties
from proxy.app import create_app
from proxy.settings import CORES_PER_PROCESS, MIN_PROCESSES, Settings
from tests.conftest import skip_unless_required
from tests.test_limits import MIB, proxy_peak_mib

KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(path.parent for path in (KUBERNETES / "overlays").glob("*/kustomization.yaml"))
KUBERNETES_VERSION = "1.32.0"  # kubectl's on these machines
PROXY_PORT = Settings().port
# TorchServe's stop after SIGTERM (tini to the whole group): 0.6 s measured for a whole compose
# stack (docs/docker.md); budgeted with room to spare.
TORCHSERVE_STOP_SECONDS = 3


def tool(name: str) -> str:
    """The path of ``name`` from the tools venv (GOCLASSIFY_K8S_TOOLS, set by `make test`) or PATH."""
    folder = os.environ.get("GOCLASSIFY_K8S_TOOLS")
    found = (folder and shutil.which(name, path=folder)) or shutil.which(name)
    if not found:
        where = "install kubectl 1.32" if name == "kubectl" else "`make test` installs it in .venv-k8s"
        skip_unless_required(f"{name} is not installed ({where})")
    return found


def render(folder: Path) -> list[dict[str, Any]]:
    built = subprocess.run([tool("kubectl"), "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    return [item for item in yaml.safe_load_all(built.stdout) if item]


@pytest.fixture(scope="module", params=OVERLAYS, ids=[overlay.name for overlay in OVERLAYS])
def overlay(request: pytest.FixtureRequest) -> tuple[Path, list[dict[str, Any]]]:
    return request.param, render(request.param)


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in objects if item["kind"] == kind]


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = of_kind(objects, "Deployment")
    return deployment["spec"]["template"]["spec"]


def container(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(item for item in pod_spec(objects)["containers"] if item["name"] == name)


def env(item: dict[str, Any]) -> dict[str, str]:
    return {variable["name"]: variable["value"] for variable in item.get("env", [])}


def sleep_seconds(item: dict[str, Any]) -> int:
    command = item["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    return int(command[1])


def test_there_is_an_overlay_and_the_base_builds():
    assert OVERLAYS, "no overlay under deploy/kubernetes/overlays"
    assert {item["kind"] for item in render(KUBERNETES / "base")} >= {
        "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
    }  # fmt: skip


def test_every_object_validates_strictly_against_the_kubernetes_api(overlay, tmp_path):
    folder, objects = overlay
    rendered = tmp_path / f"{folder.name}.yaml"
    rendered.write_text(yaml.safe_dump_all(objects))
    command = [tool("kubernetes-validate"), "--kubernetes-version", KUBERNETES_VERSION, "--strict", str(rendered)]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("passed for resource") == len(objects)


def test_checkov_finds_nothing_and_every_skip_says_why(overlay, tmp_path):
    folder, objects = overlay
    rendered = tmp_path / f"{folder.name}.yaml"
    rendered.write_text(yaml.safe_dump_all(objects))
    command = [
        tool("checkov"), "--file", str(rendered), "--framework", "kubernetes", "--quiet", "--compact",
        "--skip-download", "--output", "json",
    ]  # fmt: skip
    quiet = os.environ | {"LOG_LEVEL": "ERROR"}
    scanned = subprocess.run(command, capture_output=True, text=True, timeout=300, env=quiet)
    report = json.loads(scanned.stdout)
    assert report["summary"]["failed"] == 0, [
        (check["check_id"], check["check_name"], check["resource"]) for check in report["results"]["failed_checks"]
    ]
    assert report["summary"]["passed"] > 50
    for item in objects:
        for key, value in item["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, why = value.partition("=")
                assert check.startswith("CKV_K8S_") and len(why.split()) >= 8, value


def test_services_expose_the_proxys_port_and_nothing_else(overlay):
    _, objects = overlay
    proxy = container(objects, "proxy")
    assert [(port["name"], port["containerPort"]) for port in proxy["ports"]] == [("http", PROXY_PORT)]
    assert "ports" not in container(objects, "torchserve")  # TorchServe declares none: loopback only
    for service in of_kind(objects, "Service"):
        assert service["spec"]["type"] == "ClusterIP"
        assert [port["targetPort"] for port in service["spec"]["ports"]] in (["http"], [PROXY_PORT])
    (policy,) = of_kind(objects, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"] and policy["spec"]["egress"] == []
    assert [rule["ports"] for rule in policy["spec"]["ingress"]] == [[{"port": "http", "protocol": "TCP"}]]


def test_torchserve_stays_on_the_pods_loopback(overlay):
    """The pod runs TorchServe with config.properties as shipped: every address on loopback, and no
    TS_* variable that could move one (enable_envvars_config is on)."""
    _, objects = overlay
    properties = read_properties()
    for key in ("inference_address", "management_address", "metrics_address"):
        assert properties[key].startswith("http://127.0.0.1:"), key
    assert properties["grpc_inference_address"] == properties["grpc_management_address"] == "127.0.0.1"
    for item in pod_spec(objects)["containers"]:
        assert not [name for name in env(item) if name.startswith("TS_") and "ADDRESS" in name], item["name"]
    assert set(env(container(objects, "torchserve"))) == {"TS_DEFAULT_WORKERS_PER_MODEL"}


def test_probes_point_at_real_routes_on_the_proxys_port(overlay):
    _, objects = overlay
    routes = {resource.canonical for resource in create_app(Settings()).router.resources()}
    proxy = container(objects, "proxy")
    probes = {kind: proxy[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe", "startupProbe")}
    for probe in probes.values():
        assert probe["path"] in routes and probe["port"] == "http"
    assert probes["readinessProbe"]["path"] == "/healthz" and probes["livenessProbe"]["path"] == "/livez"
    startup = proxy["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60  # ten times the 6 s measured to ready


def test_the_grace_period_covers_the_drain_and_torchserves_stop(overlay):
    """The proxy waits for the endpoints to drop the pod, then drains for its shutdown timeout;
    TorchServe must still answer all that time, and then stop, within the grace period."""
    _, objects = overlay
    proxy, torchserve = container(objects, "proxy"), container(objects, "torchserve")
    drain = sleep_seconds(proxy) + float(env(proxy)["GOCLASSIFY_SHUTDOWN_TIMEOUT"])
    assert sleep_seconds(torchserve) >= drain
    grace = pod_spec(objects)["terminationGracePeriodSeconds"]
    assert grace >= sleep_seconds(torchserve) + TORCHSERVE_STOP_SECONDS


def test_one_proxy_request_per_torchserve_worker_and_a_core_per_worker(overlay):
    _, objects = overlay
    proxy, torchserve = container(objects, "proxy"), container(objects, "torchserve")
    workers = int(env(torchserve)["TS_DEFAULT_WORKERS_PER_MODEL"])
    assert int(env(proxy)["GOCLASSIFY_UPSTREAM_CONCURRENCY"]) == workers
    assert float(torchserve["resources"]["limits"]["cpu"]) == workers


def test_the_pod_is_locked_down(overlay):
    _, objects = overlay
    spec = pod_spec(objects)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for item in spec["containers"]:
        assert item["securityContext"] == {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
        }  # fmt: skip
        assert {"requests", "limits"} <= set(item["resources"])
    assert of_kind(objects, "HorizontalPodAutoscaler") and of_kind(objects, "PodDisruptionBudget")
    # TorchServe's token keys: written by TorchServe, read-only for the proxy, in memory only.
    mounts = {item["name"]: {m["name"]: m for m in item["volumeMounts"]} for item in spec["containers"]}
    assert mounts["proxy"]["keys"]["readOnly"] is True and not mounts["torchserve"]["keys"].get("readOnly")
    (keys,) = [volume for volume in spec["volumes"] if volume["name"] == "keys"]
    assert keys["emptyDir"]["medium"] == "Memory"
    for namespace in of_kind(objects, "Namespace"):  # an overlay's own namespace enforces the restricted standard
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_images_are_the_ones_compose_builds_at_the_projects_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    built = {service["image"] for service in compose["services"].values()}
    assert built == {f"goclassify-proxy:{version}", f"goclassify-torchserve:{version}"}
    base = yaml.safe_load((KUBERNETES / "base" / "kustomization.yaml").read_text())
    assert {f"{image['name']}:{image['newTag']}" for image in base["images"]} == built
    for folder in OVERLAYS:
        images = [item["image"] for item in pod_spec(render(folder))["containers"]]
        assert all(image.endswith(f":{version}") for image in images), images


def mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024, "m": 1, "g": 1024}  # Docker's m and g are binary too
    for suffix, scale in units.items():
        if str(quantity).endswith(suffix):
            return float(str(quantity)[: -len(suffix)]) * scale
    return float(quantity) / MIB


def test_the_proxys_memory_limit_holds_its_budget_and_its_processes(overlay):
    """The default budget is a third of the limit; the limit also holds each process's own memory and
    what the burst test allows above its budget (tests/test_limits.py)."""
    _, objects = overlay
    proxy = container(objects, "proxy")
    limits = proxy["resources"]["limits"]
    limit, cores = mebibytes(limits["memory"]), math.ceil(float(limits["cpu"]))
    processes = int(env(proxy).get("GOCLASSIFY_PROCESSES", 0)) or max(MIN_PROCESSES, cores // CORES_PER_PROCESS)
    assert proxy_peak_mib(int(limit * MIB), processes) <= limit


def test_compose_has_the_pods_limits():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    base = render(KUBERNETES / "base")
    for name in ("proxy", "torchserve"):
        limits = container(base, name)["resources"]["limits"]
        assert float(services[name]["cpus"]) == float(limits["cpu"])
        assert mebibytes(services[name]["mem_limit"]) == mebibytes(limits["memory"])
    assert (
        services["proxy"]["environment"]["GOCLASSIFY_UPSTREAM_CONCURRENCY"]
        == env(container(base, "proxy"))["GOCLASSIFY_UPSTREAM_CONCURRENCY"]
    )
