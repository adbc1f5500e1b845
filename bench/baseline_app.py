"""The baseline a user might build instead of TorchServe: one Starlette app, model in-process.

Not part of the product; the benchmark runs it beside the real stack. It does the same work per
request as the product (Pillow decode, the same preprocessing and choice among candidates, the
same weights and calibration, one torch thread per process, the same JSON), so the comparison
measures the serving stack, not the arithmetic. Run with uvicorn, one process per core:

    uvicorn bench.baseline_app:app --workers 2 --port 8100
"""

from __future__ import annotations

import torch
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from handler.mnist_handler import format_predictions
from model.calibration import Calibration
from model.errors import InvalidImageError
from model.network import load_model
from model.preprocess import preprocess_upload
from model.verify import read_uploads
from scripts.build_mar import WEIGHTS

torch.set_num_threads(1)
MODEL = load_model(str(WEIGHTS))
CALIBRATION = Calibration.beside(WEIGHTS)


async def classify(request: Request) -> JSONResponse:
    form = await request.form()
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        return JSONResponse({"error": "missing file field 'image'"}, status_code=400)
    try:
        item = preprocess_upload(await upload.read())
    except InvalidImageError as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    with torch.inference_mode():
        reading = read_uploads([item], MODEL, CALIBRATION)[0]
    return JSONResponse(format_predictions(reading.probabilities.unsqueeze(0))[0])


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/classify", classify, methods=["POST"]), Route("/healthz", healthz)])
