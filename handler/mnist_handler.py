"""TorchServe handler for GoClassify's MNIST digit classifier.

A request carries one image file, either as the multipart form field ``image`` or as the raw
request body. TorchServe hands the handler a batch (a list of such requests); valid images go
through the network in one forward pass, and an invalid one gets its own 4xx error without
failing the rest of the batch (an exception here would turn the whole batch into HTTP 503).

In the model archive this file sits beside the ``model`` package (network and preprocessing), the
same code that training uses, so serving cannot drift from training.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import torch
from ts.context import Context
from ts.torch_handler.base_handler import BaseHandler

from model.integrity import SUMS_NAME, verify
from model.network import NUM_CLASSES, load_model
from model.preprocess import InvalidImageError, preprocess_image_bytes

logger = logging.getLogger(__name__)

IMAGE_FIELD = "image"  # multipart form field name
BODY_FIELD = "body"  # where TorchServe puts a raw (non-form) request body
# One intra-op thread per worker process: config.properties runs one worker per core, and more
# threads would only make the workers compete for the same cores.
TORCH_THREADS_PER_WORKER = 1

Prediction = dict[str, Any]


class MnistHandler(BaseHandler):
    """Image file in, ``{"predicted_digit": d, "probabilities": {"0": p0, ..., "9": p9}}`` out."""

    def initialize(self, context: Context) -> None:
        torch.set_num_threads(TORCH_THREADS_PER_WORKER)
        properties = context.system_properties
        gpu_id = properties.get("gpu_id")
        use_cuda = torch.cuda.is_available() and gpu_id is not None
        self.device = torch.device(f"cuda:{gpu_id}" if use_cuda else "cpu")
        self.manifest = context.manifest
        model_dir = Path(properties["model_dir"])
        weights = model_dir / self.manifest["model"]["serializedFile"]
        # The archive carries the weights' SHA-256 record: a corrupted file stops the worker here, with
        # the reason in TorchServe's log, instead of serving wrong answers.
        verify(weights, model_dir / SUMS_NAME)
        # A state_dict loaded with weights_only: no pickled code from the archive is executed.
        self.model = load_model(str(weights), self.device)
        self.initialized = True
        logger.info("loaded %s on %s", weights, self.device)

    def handle(self, data: list[dict[str, Any]], context: Context) -> list[Prediction]:
        started = time.perf_counter()
        self.context = context
        inputs = self.preprocess(data)
        valid = [item for item in inputs if isinstance(item, torch.Tensor)]
        predictions = iter(self.postprocess(self.inference(torch.stack(valid)))) if valid else iter(())
        responses: list[Prediction] = []
        for index, item in enumerate(inputs):
            if isinstance(item, InvalidImageError):
                # The reason phrase goes into the status line: keep it the standard one.
                context.set_response_status(item.status, HTTPStatus(item.status).phrase, index)
                responses.append({"error": str(item)})
            else:
                responses.append(next(predictions))
        context.metrics.add_time("HandlerTime", round((time.perf_counter() - started) * 1000, 2), None, "ms")
        return responses

    def preprocess(self, data: list[dict[str, Any]]) -> list[torch.Tensor | InvalidImageError]:
        """Each request's image as a normalized (1, 28, 28) tensor, or the reason it has none."""
        results: list[torch.Tensor | InvalidImageError] = []
        for row in data:
            try:
                results.append(preprocess_image_bytes(request_image(row)))
            except InvalidImageError as error:
                results.append(error)
            except Exception:  # a decoder bug on one odd file must not fail the whole batch
                logger.exception("unexpected error while reading an upload")
                results.append(InvalidImageError("the image could not be processed"))
        return results

    @torch.inference_mode()
    def inference(self, batch: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """One forward pass for the whole batch; returns logits (N, 10)."""
        return self.model(batch.to(self.device)).cpu()

    def postprocess(self, logits: torch.Tensor) -> list[Prediction]:
        return format_predictions(logits.softmax(dim=1))


def request_image(row: dict[str, Any]) -> bytes | bytearray:
    """The uploaded file's bytes from a TorchServe request row, or a client error."""
    payload = row.get(IMAGE_FIELD)
    if payload is None:
        payload = row.get(BODY_FIELD)
    if payload is None:
        fields = ", ".join(sorted(row)) or "none"
        raise InvalidImageError(
            f"no image: send the file as multipart form field '{IMAGE_FIELD}' or as the raw request body "
            f"with an image content type (fields received: {fields})"
        )
    if not isinstance(payload, (bytes, bytearray)):
        # TorchServe decodes JSON and text bodies before the handler sees them.
        raise InvalidImageError("the request body is text or JSON, not an image file")
    return payload


def format_predictions(probabilities: torch.Tensor) -> list[Prediction]:
    """``(N, 10)`` softmax rows into the service's JSON shape."""
    return [
        {
            "predicted_digit": int(row.argmax()),
            "probabilities": {str(digit): float(row[digit]) for digit in range(NUM_CLASSES)},
        }
        for row in probabilities
    ]
