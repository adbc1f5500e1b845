"""Parity, proven: all 10,000 MNIST test images through POST /classify equal the offline model."""

from __future__ import annotations

import pytest
import torch

from evaluation.imaging import png
from evaluation.over_http import classify_all
from harness.launcher import Deployment
from model.preprocess import preprocess_upload

DIGITS = [str(d) for d in range(10)]


@pytest.mark.slow
def test_every_mnist_test_image_over_http_matches_the_offline_model(
    deployment: Deployment, mnist_pixels, mnist_test, shipped_model, shipped_calibration
):
    files = [png(pixels) for pixels in mnist_pixels]
    assert len(files) == 10_000
    offline_inputs = torch.cat([preprocess_upload(data).tensors for data in files])
    # The served preprocessing of an MNIST PNG is the training tensor: accuracy cannot drift.
    torch.testing.assert_close(offline_inputs, mnist_test.normalized(), atol=1e-6, rtol=0)
    with torch.inference_mode():
        expected = shipped_calibration.probabilities(shipped_model(offline_inputs))
    refused = shipped_calibration.refused(expected)

    answers = classify_all(f"{deployment.proxy}/classify", files)

    # Refused as "not a digit" exactly where the offline model is, with its scores all the same.
    assert [a.status for a in answers] == [422 if r else 200 for r in refused.tolist()]
    assert all(a.body["error"] == "not a digit" for a in answers if a.status == 422)
    served = torch.tensor([[a.body["probabilities"][d] for d in DIGITS] for a in answers], dtype=torch.float64)
    predicted = torch.tensor([a.body["predicted_digit"] for a in answers])
    assert torch.equal(predicted, expected.argmax(dim=1))
    worst = (served - expected.double()).abs().max().item()
    assert worst <= 1e-5, f"largest probability difference {worst:.2e}"
