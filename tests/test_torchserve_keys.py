"""The proxy's copy of TorchServe's key file (proxy/torchserve_keys.py), without TorchServe: a refused
key makes the proxy read the file again before it regenerates anything."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiohttp

from proxy.torchserve_keys import TorchServeKeys

# Nothing listens here: a regeneration attempt would fail to connect, and the test with it.
NOWHERE = "http://127.0.0.1:9"


def write_keys(path: Path, management: str, api: str, mtime_ns: int | None = None) -> None:
    keys = {"management": {"key": management}, "inference": {"key": "i"}, "API": {"key": api}}
    path.write_text(json.dumps(keys))
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


async def refresh_after_refusal(keys: TorchServeKeys, refused: dict[str, str]) -> bool:
    async with aiohttp.ClientSession() as session:
        return await keys.refresh("management", refused, session)


def test_a_refused_key_rereads_a_file_rewritten_within_one_timestamp_tick(tmp_path: Path):
    """Two writes in one tick of the file system's clock leave the same mtime: the cached copy looks
    current, but a refusal must still find the key that is now in the file, not regenerate it."""
    path = tmp_path / "key_file.json"
    write_keys(path, "first", "api-1")
    mtime_ns = path.stat().st_mtime_ns
    keys = TorchServeKeys(path, NOWHERE)
    refused = keys.headers("management")
    assert refused == {"Authorization": "Bearer first"}
    write_keys(path, "second", "api-2", mtime_ns=mtime_ns)
    assert keys.headers("management") == refused  # the timestamp alone does not show the change
    assert asyncio.run(refresh_after_refusal(keys, refused)) is True
    assert keys.headers("management") == {"Authorization": "Bearer second"}
    assert keys.key("API") == "api-2"


def test_without_a_key_file_nothing_is_refreshed(tmp_path: Path):
    keys = TorchServeKeys(None, NOWHERE)
    assert keys.headers("management") == {}
    assert asyncio.run(refresh_after_refusal(keys, {})) is False
