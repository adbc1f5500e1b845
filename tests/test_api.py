"""The API around /classify: batch requests, the OpenAPI contract, Prometheus metrics, the CLI and the page."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from PIL import Image

from evaluation.conditions import example_files
from evaluation.imaging import encode, png
from harness import launcher as serve
from harness.launcher import ROOT, Deployment
from model.preprocess import MNIST_MEAN, MNIST_STD
from proxy.access_log import FLUSH_SECONDS
from tests.drawings import star_png
from tests.http_helpers import multipart, request, response, upload, upload_many
from tests.malformed import bomb_png

SPEC = json.loads((ROOT / "proxy" / "static" / "openapi.json").read_text())


def batch(url: str, files: list[bytes]) -> tuple[int, Any]:
    """A form with several ``image`` fields, as ``requests`` sends it."""
    return upload_many(url, [("image", (f"d{i}.png", data, "image/png")) for i, data in enumerate(files)])


def assert_matches_spec(path: str, method: str, status: int, body: Any) -> None:
    responses = SPEC["paths"][path][method]["responses"]
    described = responses.get(str(status), responses.get("default"))
    assert described is not None, f"{method.upper()} {path} {status} is not in openapi.json"
    schema = described["content"]["application/json"]["schema"] | {"components": SPEC["components"]}
    Draft202012Validator(schema).validate(body)


def test_several_image_fields_get_a_list_in_order(deployment: Deployment, mnist_pixels, mnist_test):
    files = [png(mnist_pixels[10]), b"not an image", png(mnist_pixels[11]), b""]
    status, body = batch(f"{deployment.proxy}/classify", files)
    assert status == 200 and isinstance(body, list) and len(body) == 4
    assert body[0]["predicted_digit"] == int(mnist_test.labels[10])
    assert body[1]["status"] == 400 and "not a decodable image" in body[1]["error"]
    assert body[2]["predicted_digit"] == int(mnist_test.labels[11])
    assert body[3] == {"error": "the file in field 'image' is empty", "status": 400}
    assert_matches_spec("/classify", "post", status, body)
    status, single = upload(f"{deployment.proxy}/classify", png(mnist_pixels[10]))
    # One field: the single-image answer, unchanged (up to float rounding in a differently sized batch).
    assert status == 200 and single["predicted_digit"] == body[0]["predicted_digit"]
    assert single["probabilities"] == pytest.approx(body[0]["probabilities"], abs=1e-6)


def test_explain_adds_the_model_input_and_the_digit_box(
    deployment: Deployment, mnist_pixels, mnist_test, service_input
):
    page = Image.new("L", (400, 300), 235)
    page.paste(Image.fromarray(255 - mnist_pixels[3]).resize((112, 112)), (250, 40))  # the digit at x 250, y 40
    files = [encode(page, "PNG"), encode(Image.new("L", (64, 48), 255), "PNG")]
    status, body = batch(f"{deployment.proxy}/classify?explain=1", files)
    assert status == 200
    assert_matches_spec("/classify", "post", status, body)
    explained, blank = body
    assert explained["predicted_digit"] == int(mnist_test.labels[3])
    box = explained["digit_box"]
    # The box is the digit's ink, inside the pasted square (MNIST leaves a margin round each digit).
    assert box["x"] >= 250 and box["x"] + box["width"] <= 362 and box["y"] >= 40 and box["y"] + box["height"] <= 152
    assert box["height"] > 50
    seen = Image.open(io.BytesIO(base64.b64decode(explained["model_input_png"])))
    assert seen.size == (28, 28) and seen.mode == "L"
    expected = raw_pixels(service_input(files[0]))
    assert np.abs(np.asarray(seen, dtype=np.int16) - expected).max() <= 1
    assert blank == {"error": "no digit found in the image", "status": 422}
    status, plain = upload(f"{deployment.proxy}/classify", files[0])
    assert status == 200 and set(plain) == {"predicted_digit", "probabilities"}  # no explain: today's schema
    status, refused = upload(f"{deployment.proxy}/classify?explain=maybe", files[0])
    assert status == 400 and "explain" in refused["error"]


def test_explain_names_the_candidate_the_model_chose_over_a_forms_box(deployment: Deployment):
    """A digit in a printed box: the reading without the box's straight lines comes first and is a
    digit; the box with the digit, proposed beside it, is not."""
    data = example_files()["form-box"].read_bytes()
    status, body = upload(f"{deployment.proxy}/classify?explain=1", data, content_type="image/jpeg")
    assert status == 200 and body["predicted_digit"] == 6
    assert_matches_spec("/classify", "post", status, body)
    chosen = body["candidates"][body["chosen_candidate"]]
    boxed = next(candidate for candidate in body["candidates"] if candidate["source"] == "dark ink")
    assert body["chosen_candidate"] == 0 and chosen["source"] == "dark ink, lines removed"
    assert chosen["score"] > 0.99 > boxed["score"]
    assert body["digit_box"] == chosen["digit_box"]


def test_explained_uploads_arriving_together_each_get_their_own_answer(
    deployment: Deployment, mnist_pixels, mnist_test
):
    """Explained uploads queue and travel together like plain ones (in packed bodies of their own)."""
    indices = list(range(10, 22))
    with ThreadPoolExecutor(len(indices)) as pool:
        answers = list(
            pool.map(lambda i: upload(f"{deployment.proxy}/classify?explain=1", png(mnist_pixels[i])), indices)
        )
    for index, (status, body) in zip(indices, answers, strict=True):
        assert status == 200 and body["predicted_digit"] == int(mnist_test.labels[index])
        assert {"model_input_png", "digit_box"} <= set(body)


def raw_pixels(tensor) -> np.ndarray:
    return np.round(np.clip(tensor[0].numpy() * MNIST_STD + MNIST_MEAN, 0, 1) * 255).astype(np.int16)


def test_not_a_digit_is_a_422_with_the_models_scores(deployment: Deployment, shipped_calibration):
    url = f"{deployment.proxy}/classify"
    status, body = upload(url, star_png())
    assert status == 422 and body["error"] == "not a digit"
    assert_matches_spec("/classify", "post", status, body)
    top = max(body["probabilities"].values())
    assert top < body["refuse_below"] == shipped_calibration.refuse_below
    assert body["probabilities"][str(body["predicted_digit"])] == top
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    # ?best_guess=1: the same scores as a plain prediction.
    status, guess = upload(f"{url}?best_guess=1", star_png())
    assert status == 200
    assert guess == {"predicted_digit": body["predicted_digit"], "probabilities": body["probabilities"]}
    # ?explain=1: the refusal shows what the model saw.
    status, explained = upload(f"{url}?explain=1", star_png())
    assert status == 422 and {"model_input_png", "digit_box"} <= set(explained)
    assert_matches_spec("/classify", "post", status, explained)
    status, refused = upload(f"{url}?best_guess=perhaps", star_png())
    assert status == 400 and "best_guess" in refused["error"]


def test_a_batch_refuses_per_item(deployment: Deployment, mnist_pixels, mnist_test):
    status, body = batch(f"{deployment.proxy}/classify", [png(mnist_pixels[0]), star_png()])
    assert status == 200 and body[0]["predicted_digit"] == int(mnist_test.labels[0])
    assert body[1]["status"] == 422 and body[1]["error"] == "not a digit" and "probabilities" in body[1]
    assert_matches_spec("/classify", "post", status, body)
    status, guessed = batch(f"{deployment.proxy}/classify?best_guess=true", [png(mnist_pixels[0]), star_png()])
    assert status == 200 and set(guessed[1]) == {"predicted_digit", "probabilities"}


def test_an_image_without_a_digit_is_a_422(deployment: Deployment):
    for blank in (Image.new("RGB", (640, 480), (200, 30, 30)), Image.new("L", (28, 28), 0)):
        status, body = upload(f"{deployment.proxy}/classify", encode(blank, "PNG"))
        assert (status, body) == (422, {"error": "no digit found in the image"})


def test_the_openapi_description_is_valid_and_served(deployment: Deployment):
    validate_spec(SPEC)
    status, served = request(f"{deployment.proxy}/openapi.json")
    assert status == 200 and served == SPEC
    assert set(SPEC["paths"]) >= {"/classify", "/healthz", "/livez", "/metrics"}


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda p: multipart({"image": ("d.png", png(p[0]), "image/png")}), 200),
        (lambda p: multipart({"image": ("d.png", b"junk", "image/png")}), 400),
        (lambda p: multipart({"file": ("d.png", png(p[0]), "image/png")}), 400),
        (lambda p: multipart({"image": ("bomb.png", bomb_png(), "image/png")}), 413),
        (lambda p: multipart({"image": ("blank.png", encode(Image.new("L", (64, 48), 255), "PNG"), "image/png")}), 422),
        (lambda p: (png(p[0]), "image/png"), 415),
    ],
)
def test_real_classify_answers_match_the_description(deployment: Deployment, mnist_pixels, build, expected):
    body, content_type = build(mnist_pixels)
    status, answer = request(f"{deployment.proxy}/classify", body, content_type)
    assert status == expected
    assert_matches_spec("/classify", "post", status, answer)


def test_real_health_and_error_answers_match_the_description(deployment: Deployment, tmp_path):
    status, body = request(f"{deployment.proxy}/healthz")
    assert status == 200
    assert_matches_spec("/healthz", "get", status, body)
    status, body = request(f"{deployment.proxy}/nowhere")
    assert status == 404
    assert_matches_spec("/classify", "post", status, body)  # the "default" error shape


def test_with_torchserve_down_the_proxy_answers_503_at_once_and_stays_alive(tmp_path, mnist_pixels):
    """A proxy pointed at ports where nothing listens (run as one process; the default is several)."""
    ports = serve.Ports.free()
    proxy = serve.start_proxy(ports, tmp_path / "proxy.log", "--processes", "1")
    base = f"http://127.0.0.1:{ports.proxy}"
    try:
        serve.wait_for_listen(ports.proxy, proxy)
        status, body = request(f"{base}/healthz", timeout=10)
        assert status == 503 and body["status"] == "unavailable"
        assert_matches_spec("/healthz", "get", status, body)
        # Liveness does not depend on TorchServe: alive, though not ready.
        status, body = request(f"{base}/livez")
        assert status == 200 and body == {"status": "alive"}
        assert_matches_spec("/livez", "get", status, body)
        started = time.monotonic()
        status, body = upload(f"{base}/classify", png(mnist_pixels[0]))
        assert status == 503 and "unreachable" in body["error"]
        assert time.monotonic() - started < 2.0  # at once: nothing listens, the connect is refused
        assert_matches_spec("/classify", "post", status, body)
        answer = response(f"{base}/classify", *multipart({"image": ("d.png", png(mnist_pixels[0]), "image/png")}))
        assert answer.status == 503 and answer.headers["Retry-After"] == "1"  # transient: try again
    finally:
        serve.stop(proxy)


def test_prometheus_metrics_count_requests_latency_and_upstream_errors(deployment: Deployment, mnist_pixels):
    upload(f"{deployment.proxy}/classify", png(mnist_pixels[0]))
    upload(f"{deployment.proxy}/classify", b"junk")
    with urllib.request.urlopen(f"{deployment.proxy}/metrics", timeout=10) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    assert 'goclassify_requests_total{route="/classify",status="200"}' in text
    assert 'goclassify_requests_total{route="/classify",status="400"}' in text
    assert 'goclassify_request_duration_seconds_bucket{le="0.1",route="/classify"}' in text
    assert "# TYPE goclassify_upstream_errors_total counter" in text
    assert 'goclassify_upstream_errors_total{kind="unreachable"} 0.0' in text  # each kind there from the start
    sent = re.search(r"^goclassify_upstream_batch_images_count (\S+)$", text, re.MULTILINE)
    assert sent and float(sent.group(1)) >= 1  # the valid upload went to TorchServe in a request


def test_the_access_log_records_each_request_within_a_second_or_so(deployment: Deployment, mnist_pixels):
    body, content_type = multipart({"image": ("d.png", png(mnist_pixels[5]), "image/png")})
    agent = "access-log-test/1"
    answer = response(f"{deployment.proxy}/classify?probe=1", body, content_type, headers={"User-Agent": agent})
    line = re.compile(rf'"POST /classify\?probe=1 HTTP/1.1" 200 (\d+) "-" "{agent}" \d+\.\d{{6}}\n')
    log = deployment.run_dir / "proxy.log"
    deadline = time.monotonic() + 5 * FLUSH_SECONDS
    while not line.search(log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    logged = line.search(log.read_text())
    assert logged, log.read_text()[-2000:]
    assert int(logged.group(1)) > int(answer.headers["Content-Length"])  # bytes sent, headers included


def test_cli_prints_a_table_and_json_and_exits_nonzero_on_errors(deployment: Deployment, tmp_path):
    seven = ROOT / "evaluation" / "handdrawn" / "7_b.png"
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    command = [sys.executable, "-m", "proxy.client", "--url", f"{deployment.proxy}/classify"]
    ok = subprocess.run([*command, str(seven)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0].split()[:2] == ["file", "digit"]
    assert ok.stdout.splitlines()[1].split()[:2] == ["7_b.png", "7"]
    mixed = subprocess.run([*command, "--json", str(seven), str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert mixed.returncode == 1
    answers = json.loads(mixed.stdout)
    assert [a["status"] for a in answers] == [200, 400] and answers[0]["answer"]["predicted_digit"] == 7
    gone = subprocess.run(
        [sys.executable, "-m", "proxy.client", "--url", f"http://127.0.0.1:{serve.free_port()}/classify", str(seven)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert gone.returncode == 2 and "cannot reach" in gone.stderr


def test_cli_exits_3_for_not_a_digit_and_names_the_best_digit_when_asked(deployment: Deployment, tmp_path):
    star, seven = tmp_path / "star.png", ROOT / "evaluation" / "handdrawn" / "7_b.png"
    star.write_bytes(star_png())
    command = [sys.executable, "-m", "proxy.client", "--url", f"{deployment.proxy}/classify", str(seven), str(star)]
    refused = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 3, refused.stderr
    assert refused.stdout.splitlines()[2].split()[:5] == ["star.png", "none", "not", "a", "digit"]
    guessed = subprocess.run([*command, "--best-guess"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert guessed.returncode == 0 and guessed.stdout.splitlines()[2].split()[1].isdigit()


def test_the_readmes_python_example_runs_as_pasted(deployment: Deployment):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.DOTALL).group(1)
    shown = re.search(r"```python\n.*?```\n\n```\n(.*?)```", readme, re.DOTALL).group(1)
    assert "http://localhost:8000" in code
    code = code.replace("http://localhost:8000", deployment.proxy)
    ran = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == shown


def test_the_page_is_served(deployment: Deployment):
    answer = response(f"{deployment.proxy}/")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html")
