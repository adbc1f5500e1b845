"""Proxy settings: defaults, environment variables, flags, and their precedence."""

from __future__ import annotations

import json

import pytest

from model.image_batch import MAX_IMAGES_PER_REQUEST
from proxy.settings import Settings, parse_settings
from scripts.serve import read_properties


def test_defaults():
    settings = parse_settings([], environ={})
    assert settings == Settings()
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


def test_one_upstream_request_per_torchserve_worker():
    """The proxy keeps each worker busy with one request at a time; more would queue, fewer would idle one."""
    model = json.loads(read_properties()["models"])["mnist"]["1.0"]
    assert Settings().upstream_concurrency == model["minWorkers"] == model["maxWorkers"]
    assert model["batchSize"] == 1, "the proxy batches; TorchServe batching would pile its requests on one worker"
