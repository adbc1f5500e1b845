"""Docker HEALTHCHECK for the TorchServe container: healthy when the model has a READY worker.

Run in TorchServe's working directory; the argument, if any, is the management API's URL.

TorchServe's management API wants the management key from key_file.json (in the working
directory); an expired key is regenerated with the API key, as the proxy does.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

KEY_FILE = Path("key_file.json")
MANAGEMENT = "http://127.0.0.1:8081"
TIMEOUT = 2.0


def call(url: str, key: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main(argv: list[str]) -> int:
    management = argv[0] if argv else MANAGEMENT
    keys = json.loads(KEY_FILE.read_text())
    status, body = call(f"{management}/models/mnist", keys["management"]["key"])
    if status == 400 and b"InvalidKeyException" in body:  # expired: regenerate, then ask again
        call(f"{management}/token?type=management", keys["API"]["key"], "POST")
        keys = json.loads(KEY_FILE.read_text())
        status, body = call(f"{management}/models/mnist", keys["management"]["key"])
    workers = json.loads(body)[0]["workers"] if status == 200 else []
    return 0 if any(worker["status"] == "READY" for worker in workers) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
