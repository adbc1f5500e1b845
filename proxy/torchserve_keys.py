"""TorchServe's token authorization, from the proxy's side.

TorchServe (0.11+) writes ``key_file.json`` into its working directory at start: an inference key,
a management key (both expire after ``token_expiration_min``, default 60) and an API key that never
expires and is used only to regenerate the other two (``POST /token?type=...``; TorchServe then
rewrites the file). The proxy reads the file, sends the right key as a Bearer token, and when
TorchServe refuses a key it re-reads the file (an operator rotated it) or, if the file still holds
the refused key (it expired), regenerates it with the API key. One refresh at a time: concurrent
refusals of the same key must not regenerate it again and again, each invalidating the last.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Literal

import aiohttp

logger = logging.getLogger("goclassify.proxy")

KeyKind = Literal["inference", "management"]
# TorchServe 0.12 answers a missing, wrong or expired token with HTTP 400 and this exception type.
REFUSED_TYPE = "InvalidKeyException"
REFUSED_STATUSES = (400, 401)


def is_refusal(status: int, body: bytes) -> bool:
    """Whether TorchServe's answer ``body`` refuses the key (decoded only when the status says it may)."""
    if status not in REFUSED_STATUSES:
        return False
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("type") == REFUSED_TYPE


class TorchServeKeys:
    """Bearer headers for TorchServe's APIs; no headers at all when ``key_file`` is None (auth off)."""

    def __init__(self, key_file: Path | None, management_url: str) -> None:
        self.key_file = key_file
        self.management_url = management_url
        self._keys: dict[str, Any] = {}
        self._mtime_ns = -1
        self._lock = asyncio.Lock()

    def key(self, kind: KeyKind | Literal["API"]) -> str | None:
        self._reload_if_changed()
        return self._keys.get(kind, {}).get("key")

    def headers(self, kind: KeyKind) -> dict[str, str]:
        key = self.key(kind)
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def refresh(self, kind: KeyKind, refused: dict[str, str], session: aiohttp.ClientSession) -> bool:
        """After TorchServe refused the key in ``refused`` headers: True if a different key is now at hand."""
        if self.key_file is None:
            return False
        async with self._lock:
            # Re-read the file whatever its timestamp: two writes within one tick of the file system's
            # clock leave the same mtime, so a copy read between them would otherwise stay stale.
            self._mtime_ns = -1
            if self.headers(kind) != refused:
                return True  # rotated by an operator, or refreshed by a concurrent request
            api_key = self.key("API")
            if api_key is None:
                return False
            url = f"{self.management_url}/token?type={kind}"
            async with session.post(url, headers={"Authorization": f"Bearer {api_key}"}) as response:
                if response.status != 200:
                    answer = (await response.read())[:200]
                    logger.error(
                        "TorchServe refused to regenerate the %s key with the API key of %s: HTTP %s %r",
                        kind,
                        self.key_file,
                        response.status,
                        answer,
                    )
                    return False
            logger.info("regenerated TorchServe's %s key (it had expired)", kind)
            self._mtime_ns = -1  # TorchServe has rewritten the file: read it whatever its timestamp
            return self.headers(kind) != refused

    def _reload_if_changed(self) -> None:
        if self.key_file is None:
            return
        try:
            mtime_ns = self.key_file.stat().st_mtime_ns
            if mtime_ns != self._mtime_ns:
                self._keys = json.loads(self.key_file.read_text())
                self._mtime_ns = mtime_ns
        except FileNotFoundError:  # TorchServe has not started yet (it writes the file at start)
            logger.debug("no TorchServe key file at %s yet", self.key_file)
        except (OSError, ValueError) as exc:  # unreadable, or caught mid-write: try again next time
            logger.warning("cannot read TorchServe's key file %s: %s", self.key_file, exc)
