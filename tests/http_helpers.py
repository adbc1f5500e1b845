"""HTTP helpers for the tests.

Ordinary uploads go through ``requests`` (``upload``, ``upload_many``), so that the encoding the
service's Python users produce is the one tested. ``request``/``response`` send exact bytes over urllib
and ``multipart`` builds a body by hand, for the tests that need a malformed or unusual one on purpose.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import requests

from harness.launcher import Deployment

TIMEOUT = 30.0


def request(
    url: str,
    body: bytes | None = None,
    content_type: str | None = None,
    method: str | None = None,
    timeout: float = TIMEOUT,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Send a request; return (status, decoded JSON). Fails the test if the answer is not JSON."""
    headers = ({"Content-Type": content_type} if content_type else {}) | (headers or {})
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def response(
    url: str,
    body: bytes | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> http.client.HTTPResponse | urllib.error.HTTPError:
    """The response itself, read to the end, whatever its status: for tests of status lines and headers."""
    headers = ({"Content-Type": content_type} if content_type else {}) | (headers or {})
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as answer:
            answer.read()
            return answer
    except urllib.error.HTTPError as error:
        error.read()
        return error


def ready_worker_pids(deployment: Deployment) -> set[int]:
    """The pids of the model's READY TorchServe workers (none if the management API cannot say)."""
    status, body = request(f"{deployment.management}/models/mnist", headers=deployment.auth("management"))
    if status != 200:
        return set()
    return {worker["pid"] for worker in body[0]["workers"] if worker["status"] == "READY"}


FormFields = dict[str, tuple[str, bytes, str]] | list[tuple[str, tuple[str, bytes, str]]]


def multipart(fields: FormFields) -> tuple[bytes, str]:
    """Encode ``{name: (filename, data, content_type)}`` as multipart/form-data; a list of
    ``(name, (filename, data, content_type))`` pairs may repeat a name."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, (filename, data, content_type) in fields.items() if isinstance(fields, dict) else fields:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(
    url: str, data: bytes, field: str = "image", filename: str = "digit.png", content_type: str = "image/png"
) -> tuple[int, Any]:
    """One file as a user's ``requests.post(url, files=...)`` sends it; (status, decoded JSON)."""
    return upload_many(url, [(field, (filename, data, content_type))])


def upload_many(url: str, files: list[tuple[str, tuple[str, bytes, str]]]) -> tuple[int, Any]:
    """Several form files (a name may repeat) through ``requests``; (status, decoded JSON)."""
    answer = requests.post(url, files=files, timeout=TIMEOUT)
    return answer.status_code, answer.json()
