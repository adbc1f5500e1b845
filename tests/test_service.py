"""Integration: the real TorchServe and the real proxy, over HTTP on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import aiohttp
import numpy as np
import pytest
import torch
from PIL import Image

from evaluation.imaging import digit_image, encode, png
from harness import launcher as serve
from harness.launcher import Deployment
from model.calibration import Calibration
from model.verify import model_input
from tests.http_helpers import multipart, request, upload
from tests.malformed import HEIC_START, bomb_png

DIGITS = [str(d) for d in range(10)]


def offline_probabilities(model: torch.nn.Module, calibration: Calibration, data: bytes) -> torch.Tensor:
    with torch.inference_mode():
        return calibration.probabilities(model(model_input(data, model, calibration).unsqueeze(0)))[0]


def assert_prediction(body: dict, expected_digit: int | None = None) -> None:
    assert set(body) == {"predicted_digit", "probabilities"}
    assert list(body["probabilities"]) == DIGITS
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert body["predicted_digit"] == max(range(10), key=lambda d: body["probabilities"][str(d)])
    if expected_digit is not None:
        assert body["predicted_digit"] == expected_digit


def test_classify_returns_the_models_answer(
    deployment: Deployment, mnist_pixels, mnist_test, shipped_model, shipped_calibration
):
    for index in range(20):
        data = png(mnist_pixels[index])
        status, body = upload(f"{deployment.proxy}/classify", data)
        assert status == 200, body
        assert_prediction(body, int(mnist_test.labels[index]))
        expected = offline_probabilities(shipped_model, shipped_calibration, data)
        got = torch.tensor([body["probabilities"][d] for d in DIGITS])
        assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(
    ("fmt", "mode", "content_type"),
    [
        ("JPEG", "RGB", "image/jpeg"),
        ("PNG", "RGBA", "image/png"),
        ("GIF", "P", "image/gif"),
        ("BMP", "RGB", "image/bmp"),
        ("WEBP", "RGB", "image/webp"),
    ],
)
def test_classify_accepts_common_formats(deployment: Deployment, mnist_pixels, mnist_test, fmt, mode, content_type):
    # Dark ink on white paper, scaled up: what a user would upload, not an MNIST tensor.
    image = digit_image(255 - mnist_pixels[0]).resize((140, 140), Image.Resampling.BILINEAR).convert(mode)
    status, body = upload(f"{deployment.proxy}/classify", encode(image, fmt), content_type=content_type)
    assert status == 200, body
    assert_prediction(body, int(mnist_test.labels[0]))


def test_healthz_reports_ready_workers(deployment: Deployment):
    status, body = request(f"{deployment.proxy}/healthz")
    assert status == 200
    assert body["status"] == "ok" and body["workers_ready"] >= 1


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"file": ("d.png", b"PNG", "image/png")}, 400, "missing file field 'image'"),
        ({"image": ("d.png", b"", "image/png")}, 400, "empty"),
        ({"image": ("d.txt", b"hello, I am not a picture", "text/plain")}, 400, "not a decodable image"),
        ({"image": ("d.tif", encode(Image.new("L", (28, 28)), "TIFF"), "image/tiff")}, 400, "unsupported image format"),
        ({"image": ("d.heic", HEIC_START + bytes(256), "image/heic")}, 400, "unsupported image format HEIC"),
    ],
)
def test_bad_uploads_get_json_4xx(deployment: Deployment, fields, status, message):
    body, ctype = multipart(fields)
    got_status, got = request(f"{deployment.proxy}/classify", body, ctype)
    assert got_status == status
    assert message in got["error"]


def test_truncated_image_is_a_400(deployment: Deployment, mnist_pixels):
    data = encode(digit_image(mnist_pixels[0]).resize((200, 200)), "PNG")
    status, body = upload(f"{deployment.proxy}/classify", data[: len(data) // 2])
    assert status == 400
    assert "truncated" in body["error"] or "not a decodable" in body["error"]


def test_decompression_bomb_is_a_413(deployment: Deployment):
    status, body = upload(f"{deployment.proxy}/classify", bomb_png())
    assert status == 413
    assert "too large" in body["error"]


def test_upload_over_the_limit_is_a_413(deployment: Deployment):
    status, body = upload(f"{deployment.proxy}/classify", b"\x89PNG" + bytes(11 * 1024 * 1024))
    assert status == 413
    assert "limit" in body["error"]


def test_non_multipart_and_wrong_routes_are_json(deployment: Deployment, mnist_pixels):
    status, body = request(f"{deployment.proxy}/classify", png(mnist_pixels[0]), "image/png")
    assert status == 415 and "multipart/form-data" in body["error"]
    status, body = request(f"{deployment.proxy}/classify")
    assert status == 405 and "error" in body
    status, body = request(f"{deployment.proxy}/nowhere")
    assert status == 404 and "error" in body


def test_torchserve_takes_a_raw_body_with_an_image_content_type(deployment: Deployment, mnist_pixels, mnist_test):
    url = f"{deployment.inference}/predictions/mnist"
    status, body = request(url, png(mnist_pixels[1]), "image/png", headers=deployment.auth("inference"))
    assert status == 200
    assert_prediction(body, int(mnist_test.labels[1]))


def test_a_bad_request_in_a_batch_fails_alone(deployment: Deployment, mnist_pixels, mnist_test):
    """Concurrent good and bad uploads travel in the same coalesced TorchServe requests; each gets its own answer."""

    async def send(session: aiohttp.ClientSession, data: bytes) -> tuple[int, dict]:
        form = aiohttp.FormData()
        form.add_field("image", data, filename="x.png", content_type="image/png")
        async with session.post(f"{deployment.proxy}/classify", data=form) as response:
            return response.status, await response.json()

    async def burst() -> list[tuple[int, dict]]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            jobs = [send(session, png(mnist_pixels[i]) if i % 3 else b"garbage") for i in range(48)]
            return await asyncio.gather(*jobs)

    for index, (status, body) in enumerate(asyncio.run(burst())):
        if index % 3:
            assert status == 200, body
            assert_prediction(body, int(mnist_test.labels[index]))
        else:
            assert status == 400 and "error" in body


def test_service_keeps_serving_after_bad_input(deployment: Deployment, mnist_pixels, mnist_test):
    for junk in (b"", b"GIF89a", bomb_png(), b"\xff\xd8\xff" + bytes(100)):
        status, _ = upload(f"{deployment.proxy}/classify", junk)
        assert 400 <= status < 500
    status, body = upload(f"{deployment.proxy}/classify", png(mnist_pixels[2]))
    assert status == 200
    assert_prediction(body, int(mnist_test.labels[2]))


def test_probabilities_are_floats_summing_to_one(deployment: Deployment):
    scribble = np.full((50, 50), 255, dtype=np.uint8)
    scribble[10:40, 24:27] = 0  # an ambiguous short stroke: probabilities spread over several digits
    status, body = upload(f"{deployment.proxy}/classify", encode(Image.fromarray(scribble), "PNG"))
    assert status == 200
    assert_prediction(body)
    assert all(isinstance(p, float) for p in body["probabilities"].values())


def test_proxy_answers_504_when_torchserve_hangs(tmp_path, mnist_pixels):
    """An upstream that accepts the connection and never answers: 504 JSON after the configured timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        ports = dataclasses.replace(serve.Ports.free(), inference=silent.getsockname()[1])
        proxy = serve.start_proxy(ports, tmp_path / "proxy.log", "--deadline", "1")
        try:
            serve.wait_for_listen(ports.proxy, proxy)
            status, body = upload(f"http://127.0.0.1:{ports.proxy}/classify", png(mnist_pixels[0]))
            assert status == 504 and "did not answer within 1 s" in body["error"]
        finally:
            serve.stop(proxy)
