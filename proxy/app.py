"""The public HTTP face of GoClassify, in front of TorchServe: ``POST /classify`` (one image or
several), ``GET /healthz``, ``GET /metrics`` (Prometheus), ``GET /openapi.json`` and the drawing page
at ``GET /``.

aiohttp gives both halves of a proxy in one well-kept library: an async server that enforces the
body limit while reading (not after buffering), and a pooled async client with connect and total
timeouts (so a dead TorchServe answers 503 at once instead of hanging the caller).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import hdrs, web

from model.errors import ClientError
from model.image_batch import Buffer
from proxy.budget import ByteBudget, OverBudget
from proxy.coalesce import Answer, Coalescer
from proxy.cors import cors_middleware, parse_origins
from proxy.lifecycle import InFlight
from proxy.metrics import ProxyMetrics
from proxy.multipart import MultipartError, boundary_of, parse_parts
from proxy.settings import Settings
from proxy.torchserve_keys import KeyKind, TorchServeKeys, is_refusal
from proxy.upstream_body import ChunksPayload, upstream_body

logger = logging.getLogger("goclassify.proxy")

IMAGE_FIELD = "image"
STATIC = Path(__file__).parent / "static"  # the drawing page served at GET /
# A form needs one part; a few extra (a filename field, a CSRF token) are tolerated, thousands are not.
MAX_FORM_PARTS = 16
MAX_NAME_SHOWN = 40  # characters of each unexpected field name echoed in the error
SETTINGS_KEY = web.AppKey("settings", Settings)
SESSION_KEY = web.AppKey("session", aiohttp.ClientSession)
KEYS_KEY = web.AppKey("torchserve_keys", TorchServeKeys)
IN_FLIGHT_KEY = web.AppKey("in_flight", InFlight)
COALESCER_KEY = web.AppKey("coalescer", Coalescer)
BUDGET_KEY = web.AppKey("budget", ByteBudget)
METRICS_KEY = web.AppKey("metrics", ProxyMetrics)
# TorchServe statuses that mean "the model cannot answer now", as opposed to "your input is bad".
UNAVAILABLE_STATUSES = frozenset({404, 500, 503, 507})
# A 503 (TorchServe restarting, or the proxy's queue full) is transient: say when to try again.
RETRY_AFTER = {"Retry-After": "1"}
FLAG_VALUES = {"1": True, "true": True, "0": False, "false": False}
# The handler's fields of a "not a digit" refusal that a best guess does not carry.
REFUSAL_FIELDS = ("error", "status", "refuse_below")
# A TorchServe call made this close to its deadline still gets this long (it is answered 504 anyway).
MIN_CALL_SECONDS = 0.01


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


class UploadError(ClientError):
    """The request itself is wrong (its form, its size, its query), before any image is looked at."""


async def classify(request: web.Request) -> web.Response:
    """One ``image`` field: its prediction. Several: a list in the same order, each item a prediction
    or ``{"error", "status"}`` for that image alone. With ``?explain=1`` each prediction also carries
    the model's 28x28 input and the digit's box in the upload. An image the model reads as no digit is
    422 "not a digit" with the model's scores, unless ``?best_guess=1`` asks for the best digit anyway."""
    settings = request.app[SETTINGS_KEY]
    try:
        explain, best_guess = query_flag(request, "explain"), query_flag(request, "best_guess")
        boundary = form_boundary(request, settings.max_upload_bytes)
    except UploadError as exc:
        return error(exc.status, str(exc))
    budget = request.app[BUDGET_KEY]
    try:
        # Charged before the body is read: a client past the budget is answered without sending it.
        size = request.content_length or settings.max_upload_bytes
        charge = budget.take(size) or await budget.acquire(size)
    except OverBudget:
        return error(503, "busy: too many large uploads in progress; retry shortly", RETRY_AFTER)
    try:
        return await classify_form(request, boundary, explain, best_guess)
    finally:
        budget.release(charge)


async def classify_form(request: web.Request, boundary: bytes, explain: bool, best_guess: bool) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    try:
        images = await read_image_fields(request, boundary, settings.max_upload_bytes)
    except UploadError as exc:
        return error(exc.status, str(exc))
    coalescer = request.app[COALESCER_KEY]
    # One deadline for the whole request, queue and TorchServe together.
    deadline = asyncio.get_running_loop().time() + settings.deadline
    try:  # the coalescer fails an upload past its deadline with TimeoutError
        if len(images) == 1:  # the usual case, without gather's task per image
            answers = [await classify_one(coalescer, images[0], explain, deadline)]
        else:
            answers = await asyncio.gather(*(classify_one(coalescer, i, explain, deadline) for i in images))
    except aiohttp.ConnectionTimeoutError as exc:  # also a TimeoutError, but a connect failure
        return unreachable(request.app, exc)
    except TimeoutError:
        request.app[METRICS_KEY].upstream_errors.labels("timeout").inc()
        return error(504, f"the model server did not answer within {settings.deadline:g} s")
    except aiohttp.ClientError as exc:
        return unreachable(request.app, exc)
    if best_guess:
        answers = [guessed(answer) for answer in answers]
    if len(answers) == 1:
        status, payload = answers[0]
        return web.json_response(payload, status=status, headers=RETRY_AFTER if status == 503 else None)
    return web.json_response(
        [payload if status == 200 else payload | {"status": status} for status, payload in answers]
    )


def query_flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "0").lower()
    if value not in FLAG_VALUES:
        raise UploadError(f"{name} must be 1 (or true) or 0 (or false), not {value[:MAX_NAME_SHOWN]!r}", 400)
    return FLAG_VALUES[value]


def guessed(answer: Answer) -> Answer:
    """A "not a digit" refusal turned into the best digit's prediction (``?best_guess=1``)."""
    status, payload = answer
    if status == 422 and "predicted_digit" in payload:
        return 200, {key: value for key, value in payload.items() if key not in REFUSAL_FIELDS}
    return answer


def empty_file() -> Answer:
    return 400, {"error": f"the file in field '{IMAGE_FIELD}' is empty"}


async def classify_one(coalescer: Coalescer, data: Buffer, explain: bool, deadline: float) -> Answer:
    if not data:
        return empty_file()
    return await coalescer.classify(data, explain, deadline)


async def send_images(app: web.Application, images: list[Buffer], explain: bool, deadline: float) -> list[Answer]:
    """One TorchServe request carrying ``images`` packed in its body, answered by ``deadline`` (the
    latest of its uploads'); one answer per image."""
    settings = app[SETTINGS_KEY]
    url = f"{settings.inference_url}/predictions/{settings.model_name}"
    # Octet-stream: TorchServe would decode a text/* or JSON body into a str before the handler sees
    # it. The handler, not the client's label, decides whether each file is an image. The clients'
    # filenames are not forwarded: TorchServe has no use for them.
    body, content_type = upstream_body(images, explain), "application/octet-stream"
    app[METRICS_KEY].batch_images.observe(len(images))
    remaining = max(deadline - asyncio.get_running_loop().time(), MIN_CALL_SECONDS)
    timeout = aiohttp.ClientTimeout(total=remaining, connect=min(settings.connect_timeout, remaining))
    status, raw = await call_torchserve(app, "inference", "POST", url, body, content_type, timeout)
    payload = _json_or_none(raw)
    if status == 200 and isinstance(payload, list) and len(payload) == len(images):
        return [item_answer(item) for item in payload]
    answer, kind = relay(status, raw)
    app[METRICS_KEY].upstream_errors.labels(kind).inc()
    return [answer] * len(images)


def item_answer(item: Any) -> Answer:
    """One image's share of the handler's list: its prediction, or its own client error (with the
    model's scores, for "not a digit")."""
    if isinstance(item, dict) and "error" in item and 400 <= item.get("status", 0) < 500:
        return item["status"], {key: value for key, value in item.items() if key != "status"}
    if isinstance(item, dict) and "predicted_digit" in item:
        return 200, item
    logger.error("unexpected item in TorchServe's answer: %.200r", item)
    return 502, {"error": "unexpected answer from the model server"}


async def call_torchserve(
    app: web.Application,
    kind: KeyKind,
    method: str,
    url: str,
    body: bytes | ChunksPayload | None = None,
    content_type: str | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> tuple[int, bytes]:
    """One TorchServe call with its Bearer key; retried once if the key was refused and a new one found."""
    keys, session = app[KEYS_KEY], app[SESSION_KEY]
    # Only a given timeout is passed on: aiohttp reads timeout=None as "no timeout at all".
    options: dict[str, Any] = {"timeout": timeout} if timeout else {}
    for _attempt in range(2):
        auth = keys.headers(kind)
        headers = auth | ({hdrs.CONTENT_TYPE: content_type} if content_type else {})
        async with session.request(method, url, data=body, headers=headers, **options) as upstream:
            status, payload = upstream.status, await upstream.read()
        if not is_refusal(status, payload) or not await keys.refresh(kind, auth, session):
            break
    return status, payload


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def unreachable(app: web.Application, exc: Exception) -> web.Response:
    logger.warning("TorchServe unreachable at %s: %s", app[SETTINGS_KEY].inference_url, exc)
    app[METRICS_KEY].upstream_errors.labels("unreachable").inc()
    return error(503, "the model server is unreachable; try again shortly", RETRY_AFTER)


def relay(status: int, raw: bytes) -> tuple[Answer, str]:
    """TorchServe's failure of a whole request, as a clear JSON error for each image in it, and the
    kind of failure (for the metrics)."""
    if is_refusal(status, raw):
        logger.error("TorchServe refused the proxy's key; is --torchserve-key-file its key_file.json?")
        return (503, {"error": "the model server refused the proxy's credentials"}), "refused_key"
    if status in UNAVAILABLE_STATUSES:
        logger.warning("TorchServe answered %s: %s", status, raw[:200])
        return (503, {"error": "the model is not available; try again shortly"}), "unavailable"
    logger.error("unexpected TorchServe answer %s: %s", status, raw[:200])
    return (502, {"error": f"unexpected answer from the model server (HTTP {status})"}), "unexpected"


def form_boundary(request: web.Request, limit: int) -> bytes:
    """The multipart boundary of the request, refusing a declared oversize body before reading it."""
    if request.content_length is not None and request.content_length > limit:
        raise UploadError(f"request body over the {limit} byte limit", 413)
    try:
        return boundary_of(request.headers.get(hdrs.CONTENT_TYPE, ""))
    except MultipartError as exc:
        status = 400 if request.headers.get(hdrs.CONTENT_TYPE, "").startswith("multipart/") else 415
        raise UploadError(f"send multipart/form-data with the file in field '{IMAGE_FIELD}' ({exc})", status) from exc


async def read_body(request: web.Request, limit: int) -> bytearray:
    """The request body in one buffer, allocated once at its declared length (growing it as it
    arrives would copy it, and aiohttp's read() makes a second, bytes copy at the end)."""
    declared = request.content_length
    body, filled = bytearray(declared or 0), 0
    while chunk := await request.content.readany():
        end = filled + len(chunk)
        if end > limit:
            raise UploadError(f"request body over the {limit} byte limit", 413)
        if declared is None:
            body += chunk
        else:
            body[filled:end] = chunk  # aiohttp has already refused a body longer than it declared
        filled = end
    if filled != len(body):
        raise UploadError("the request body ended before its declared length", 400)
    return body


async def read_image_fields(request: web.Request, boundary: bytes, limit: int) -> list[Buffer]:
    """The ``image`` parts of a multipart body, in order (views of the body), refusing oversize and
    malformed bodies."""
    body = await read_body(request, limit)
    try:
        parts = parse_parts(body, boundary, MAX_FORM_PARTS)
    except MultipartError as exc:
        raise UploadError(f"malformed multipart body: {exc}", 400) from exc
    images = [part.data for part in parts if part.name == IMAGE_FIELD]
    if not images:
        fields = ", ".join((part.name or "?")[:MAX_NAME_SHOWN] for part in parts) or "none"
        raise UploadError(f"missing file field '{IMAGE_FIELD}' (fields received: {fields})", 400)
    return images


async def healthz(request: web.Request) -> web.Response:
    """200 only when TorchServe reports at least one READY worker for the model."""
    settings = request.app[SETTINGS_KEY]
    url = f"{settings.management_url}/models/{settings.model_name}"
    timeout = aiohttp.ClientTimeout(total=settings.health_timeout)
    try:
        status, payload = await call_torchserve(request.app, "management", "GET", url, timeout=timeout)
        description = json.loads(payload) if status == 200 else None
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        return web.json_response({"status": "unavailable", "error": f"model server unreachable: {exc}"}, status=503)
    workers = [w for model in description or [] for w in model.get("workers", [])]
    ready = sum(1 for worker in workers if worker.get("status") == "READY")
    body = {
        "status": "ok" if ready else "unavailable",
        "model": settings.model_name,
        "workers_ready": ready,
        "workers": len(workers),
    }
    return web.json_response(body, status=200 if ready else 503)


async def livez(_: web.Request) -> web.Response:
    """200 while this process's event loop answers: the liveness probe, which must not depend on
    TorchServe (a busy or restarting TorchServe is /healthz's business, not a reason to restart)."""
    return web.json_response({"status": "alive"})


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error leaves as JSON, including aiohttp's own 404/405/413."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.reason)
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal error")


def static_file(body: bytes, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    return handler


def create_app(settings: Settings) -> web.Application:
    settings = settings.resolved()
    # client_max_size is the upload limit for any body aiohttp reads (read_body applies it to /classify).
    in_flight, metrics = InFlight(), ProxyMetrics()
    cors = cors_middleware(parse_origins(settings.cors_origins))
    middlewares = [in_flight.middleware, metrics.middleware, cors, json_errors]
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_upload_bytes)
    app[IN_FLIGHT_KEY] = in_flight
    app[METRICS_KEY] = metrics
    app[SETTINGS_KEY] = settings
    key_file = Path(settings.torchserve_key_file) if settings.torchserve_key_file else None
    app[KEYS_KEY] = TorchServeKeys(key_file, settings.management_url)
    app[COALESCER_KEY] = Coalescer(
        lambda images, explain, deadline: send_images(app, images, explain, deadline),
        max_images=settings.coalesce_max_images,
        max_bytes=settings.max_upload_bytes,  # so a coalesced request stays under TorchServe's size limit
        max_in_flight=settings.process_concurrency,
        max_waiting=settings.max_waiting,
    )
    app[BUDGET_KEY] = ByteBudget(settings.memory_budget, wait=settings.budget_wait)

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=settings.deadline, connect=settings.connect_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            app[SESSION_KEY] = session
            yield

    app.cleanup_ctx.append(client_session)
    app.router.add_post("/classify", classify)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", livez)
    app.router.add_get("/metrics", metrics.handler)
    for path, name, content_type in (
        ("/", "index.html", "text/html"),
        ("/openapi.json", "openapi.json", "application/json"),
    ):
        app.router.add_get(path, static_file((STATIC / name).read_bytes(), content_type))
    return app
