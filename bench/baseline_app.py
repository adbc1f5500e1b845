"""The baseline a user might build instead of TorchServe: one Starlette app, model in-process.

Not part of the product; the benchmark runs it beside the real stack. It does the same work per
request as the product (Pillow decode and the same ``preprocess_image_bytes``, the same weights,
one torch thread per process, softmax, the same JSON), so the comparison measures the serving stack,
not the arithmetic. Run with uvicorn, one process per core:

    uvicorn bench.baseline_app:app --workers 2 --port 8100
"""

from __future__ import annotations

import torch
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from handler.mnist_handler import format_predictions
from model.network import load_model
from model.preprocess import InvalidImageError, preprocess_image_bytes
from scripts.build_mar import WEIGHTS

torch.set_num_threads(1)
MODEL = load_model(str(WEIGHTS))


async def classify(request: Request) -> JSONResponse:
    form = await request.form()
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        return JSONResponse({"error": "missing file field 'image'"}, status_code=400)
    try:
        tensor = preprocess_image_bytes(await upload.read())
    except InvalidImageError as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    with torch.inference_mode():
        probabilities = MODEL(tensor.unsqueeze(0)).softmax(dim=1)
    return JSONResponse(format_predictions(probabilities)[0])


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/classify", classify, methods=["POST"]), Route("/healthz", healthz)])
