"""TorchServe handler for GoClassify's MNIST digit classifier.

A request carries one image file, either as the multipart form field ``image`` or as the raw request
body, and gets one prediction. Or its raw body is a packed batch of several files
(model/image_batch.py: the proxy coalesces concurrent uploads this way), and it gets a list, one
item per image, each a prediction or ``{"error", "status"}``; a batch packed for explanation also
gets, with each prediction, the 28x28 input the model read and where the digit was found. TorchServe
hands the handler a batch (a list of such requests); every valid image in it goes through the
network in one forward pass, and an invalid one gets its own 4xx error without failing the others
(an exception here would turn the whole batch into HTTP 503).

In the model archive this file sits beside the ``model`` package (network and preprocessing), the
same code that training uses, so serving cannot drift from training.
"""

from __future__ import annotations

import base64
import io
import logging
import os
from http import HTTPStatus
from pathlib import Path
from typing import Any

import cv2
import torch
from PIL import Image
from ts.context import Context
from ts.torch_handler.base_handler import BaseHandler

from model.calibration import CALIBRATION_NAME, Calibration, NotADigitError
from model.errors import InvalidImageError
from model.image_batch import ImageBatchError, is_packed, unpack_images, wants_explanation
from model.integrity import SUMS_NAME, verify
from model.network import NUM_CLASSES, load_model
from model.preprocess import MNIST_MEAN, MNIST_STD, Preprocessed, preprocess_upload
from model.verify import Reading, probabilities_of, read_uploads

logger = logging.getLogger(__name__)

IMAGE_FIELD = "image"  # multipart form field name
BODY_FIELD = "body"  # where TorchServe puts a raw (non-form) request body
# One intra-op thread per worker process: config.properties runs one worker per core, and more
# threads would only make the workers compete for the same cores.
TORCH_THREADS_PER_WORKER = int(os.environ.get("GOCLASSIFY_TORCH_THREADS", "1"))  # tuning: bench/tune.py
Prediction = dict[str, Any]
DIGITS = tuple(str(digit) for digit in range(NUM_CLASSES))  # the keys of "probabilities"
Upload = bytes | bytearray | InvalidImageError  # an uploaded file, or why the request has none
Row = tuple[list[Upload], bool, bool]  # a request's images, whether packed, whether explained


class MnistHandler(BaseHandler):
    """Image file in, ``{"predicted_digit": d, "probabilities": {"0": p0, ..., "9": p9}}`` out."""

    def initialize(self, context: Context) -> None:
        torch.set_num_threads(TORCH_THREADS_PER_WORKER)
        cv2.setNumThreads(TORCH_THREADS_PER_WORKER)  # OpenCV would otherwise start one thread per core
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
        verify(model_dir / CALIBRATION_NAME, model_dir / SUMS_NAME)
        # A state_dict loaded with weights_only: no pickled code from the archive is executed.
        self.model = load_model(str(weights), self.device)
        self.calibration = Calibration.load(model_dir / CALIBRATION_NAME)
        self.initialized = True
        logger.info("loaded %s on %s", weights, self.device)

    def handle(self, data: list[dict[str, Any]], context: Context) -> list[Prediction | list[Prediction]]:
        # No timing metric of our own: TorchServe logs PredictionTime for this call, and each metric line
        # costs the worker a log write and the frontend a parse (measured in docs/benchmarks.md).
        self.context = context
        rows = [request_images(row) for row in data]
        per_row = self.preprocess([images for images, _, _ in rows])
        inputs = [item for row in per_row for item in row]
        # Every candidate of every valid image in one forward pass; the model's scores choose each
        # image's digit among its candidates (model/verify.py).
        readings = read_uploads(
            [item for item in inputs if isinstance(item, Preprocessed)], self.inference, self.calibration
        )
        predictions, chosen = iter(self.postprocess(readings)), iter(readings)
        answers = iter(
            [(next(predictions), next(chosen)) if isinstance(item, Preprocessed) else (item, None) for item in inputs]
        )
        responses: list[Prediction | list[Prediction]] = []
        for index, ((_, packed, explain), items) in enumerate(zip(rows, per_row, strict=True)):
            read = [next(answers) for _ in items]
            mine = [answer for answer, _ in read]
            if explain:
                mine = [explained(answer, item, reading) for (answer, reading), item in zip(read, items, strict=True)]
            if packed:  # a list, each item a prediction or its own error, HTTP 200
                responses.append([error_item(a) if isinstance(a, InvalidImageError) else a for a in mine])
            elif isinstance(mine[0], InvalidImageError):
                # The reason phrase goes into the status line: keep it the standard one.
                context.set_response_status(mine[0].status, HTTPStatus(mine[0].status).phrase, index)
                responses.append({"error": str(mine[0])} | getattr(mine[0], "prediction", {}))
            else:
                responses.append(mine[0])
        return responses

    def preprocess(self, data: list[list[Upload]]) -> list[list[Preprocessed | InvalidImageError]]:
        """For each request, each of its images as the model's input and the digit's box, or why it has none."""
        return [[_preprocessed_or_error(payload) for payload in images] for images in data]

    @torch.inference_mode()
    def inference(self, batch: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """One forward pass for the whole batch of candidates; returns logits (N, 10)."""
        return self.model(batch.to(self.device)).cpu()

    def postprocess(self, readings: list[Reading]) -> list[Prediction | NotADigitError]:
        """Each image's chosen candidate's calibrated probabilities; under the refusal threshold, "not a digit"."""
        if not readings:
            return []
        probabilities = probabilities_of(readings)
        refused = self.calibration.refused(probabilities).tolist()
        return [
            NotADigitError(prediction, self.calibration.refuse_below) if refuse else prediction
            for prediction, refuse in zip(format_predictions(probabilities), refused, strict=True)
        ]


def request_images(row: dict[str, Any]) -> Row:
    """The image(s) of one request, each a file's bytes or a client error; whether the request was a
    packed batch (model/image_batch.py; how the proxy sends the uploads that arrive together), which
    is answered with a list; and whether it asked for explanations. Otherwise it is one file: form
    field ``image`` or the raw body."""
    body = row.get(BODY_FIELD)
    if isinstance(body, (bytes, bytearray)) and is_packed(body):
        try:
            return unpack_images(body), True, wants_explanation(body)
        except ImageBatchError as error:  # the request as a whole is refused
            return [InvalidImageError(str(error), error.status)], False, False
    try:
        return [request_image(row)], False, False
    except InvalidImageError as error:
        return [error], False, False


def error_item(error: InvalidImageError) -> Prediction:
    return {"error": str(error), "status": error.status} | getattr(error, "prediction", {})


def explained(
    prediction: Prediction | InvalidImageError, item: Preprocessed | InvalidImageError, reading: Reading | None
) -> Prediction | InvalidImageError:
    """The prediction (or the "not a digit" refusal) with what the model saw: the chosen candidate's
    28x28 input as a base64 PNG and its box, and every candidate with its score, so a caller sees
    which one won and by how much."""
    if isinstance(item, InvalidImageError) or reading is None:
        return prediction
    item = reading.item  # with the second look's candidates, where it had one
    candidates = [
        {"source": item.sources[k], "digit_box": as_box(item.box(k)), "score": reading.scores[k]}
        for k in range(len(item.tensors))
    ]
    seen = {
        "model_input_png": model_input_png(item.tensors[reading.chosen]),
        "digit_box": as_box(item.box(reading.chosen)),
        "chosen_candidate": reading.chosen,
        "candidates": candidates,
    }
    if isinstance(prediction, NotADigitError):
        prediction.prediction |= seen  # a refusal shows what the model saw too
    return prediction if isinstance(prediction, InvalidImageError) else prediction | seen


def as_box(box: tuple[int, int, int, int]) -> dict[str, int]:
    left, top, right, bottom = box
    return {"x": left, "y": top, "width": right - left, "height": bottom - top}


def model_input_png(tensor: torch.Tensor) -> str:
    """A normalized (1, 28, 28) input as the model sees it (white ink on black), a base64 PNG."""
    pixels = (tensor[0] * MNIST_STD + MNIST_MEAN).clamp(0, 1).mul(255).round().to(torch.uint8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _preprocessed_or_error(payload: Upload) -> Preprocessed | InvalidImageError:
    if isinstance(payload, InvalidImageError):
        return payload
    try:
        return preprocess_upload(payload)
    except InvalidImageError as error:
        return error
    except Exception:  # a decoder bug on one odd file must not fail the whole batch
        logger.exception("unexpected error while reading an upload")
        return InvalidImageError("the image could not be processed")


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
    rows = probabilities.tolist()  # one conversion: indexing a tensor element by element is slow
    return [
        {"predicted_digit": row.index(max(row)), "probabilities": dict(zip(DIGITS, row, strict=True))} for row in rows
    ]
