"""Proxy settings: defaults, environment variables, flags, and their precedence."""

from __future__ import annotations

import json
import os

import pytest

from harness.launcher import read_properties
from model.image_batch import MAX_IMAGES_PER_REQUEST
from proxy import budget
from proxy import settings as settings_module
from proxy.settings import Settings, parse_settings, smallest_budget


def test_defaults():
    settings = parse_settings([], environ={})
    assert settings == Settings().resolved()
    assert settings.max_upload_bytes == 10 * 1024 * 1024 and settings.port == 8000


def test_environment_then_flags():
    environ = {
        "GOCLASSIFY_PORT": "9001",
        "GOCLASSIFY_INFERENCE_URL": "http://ts:8080",
        "GOCLASSIFY_CONNECT_TIMEOUT": "0.5",
    }
    settings = parse_settings([], environ=environ)
    assert (settings.port, settings.inference_url, settings.connect_timeout) == (9001, "http://ts:8080", 0.5)
    assert parse_settings(["--port", "9002"], environ=environ).port == 9002


def test_nonsense_limit_is_refused():
    with pytest.raises(SystemExit):
        parse_settings(["--max-upload-bytes", "0"], environ={})


def test_coalescing_beyond_the_handlers_cap_is_refused():
    with pytest.raises(SystemExit):
        parse_settings(["--coalesce-max-images", str(MAX_IMAGES_PER_REQUEST + 1)], environ={})


def test_one_upstream_request_per_torchserve_worker(monkeypatch):
    """The proxy keeps each worker busy with one request at a time; more would queue, fewer would idle one.
    TorchServe starts one worker per core (its default: config.properties sets no count), and the
    proxy's default is one TorchServe request per core, shared out between its processes."""
    model = json.loads(read_properties()["models"])["mnist"]["1.0"]
    assert (
        "minWorkers" not in model and "maxWorkers" not in model and "default_workers_per_model" not in read_properties()
    )
    assert model["batchSize"] == 1, "the proxy batches; TorchServe batching would pile its requests on one worker"
    for cores, processes, each in ((1, 2, 1), (2, 2, 1), (4, 2, 2), (16, 8, 2), (14, 7, 2)):
        monkeypatch.setattr(settings_module, "usable_cores", lambda cores=cores: cores)
        settings = Settings().resolved()
        assert (settings.upstream_concurrency, settings.processes, settings.process_concurrency) == (
            cores,
            processes,
            each,
        )


def test_usable_cores_follow_a_container_cpu_limit(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert settings_module._cgroup_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert settings_module._cgroup_quota(tmp_path) is None
    assert 1 <= settings_module.usable_cores() <= len(os.sched_getaffinity(0))


def test_the_memory_budget_follows_the_containers_limit(monkeypatch, tmp_path):
    """Default: each process's share of a third of the cgroup memory limit, never under one largest upload."""
    (tmp_path / "memory.max").write_text(f"{384 * 2**20}\n")
    read_limit = budget.memory_limit
    monkeypatch.setattr(budget, "memory_limit", lambda: read_limit(tmp_path))
    assert Settings(processes=2).resolved().memory_budget == 64 * 2**20
    assert Settings(processes=16).resolved().memory_budget == smallest_budget(Settings())
    (tmp_path / "memory.max").write_text("max\n")  # no limit: the machine's memory
    assert read_limit(tmp_path) == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_a_budget_that_cannot_hold_one_upload_is_refused():
    with pytest.raises(SystemExit):
        parse_settings(["--memory-budget", str(10 * 2**20)], environ={})
    assert parse_settings(["--memory-budget", str(smallest_budget(Settings()))], environ={}).memory_budget > 0
