"""Cross-origin access: none unless configured, and then only for the listed origins (never ``*``).

The service's own page (same origin) needs no CORS at all. A site elsewhere that should call
``/classify`` from browsers is listed in ``--cors-origins``; other origins get no CORS headers, so
browsers keep them out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

PREFLIGHT_MAX_AGE_SECONDS = 600

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_origins(setting: str) -> frozenset[str]:
    origins = frozenset(origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip())
    if "*" in origins:
        raise ValueError("a wildcard origin is not allowed: list the origins")
    return origins


def cors_middleware(origins: frozenset[str]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin", "")
        allowed = origin in origins
        if allowed and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
        else:
            response = await handler(request)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
        return response

    return cors
