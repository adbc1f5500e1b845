"""Hundreds of malformed uploads through the real proxy and TorchServe: 4xx JSON only, and nothing breaks."""

from __future__ import annotations

import asyncio
import collections
import json
from typing import Any

import aiohttp
import pytest

from evaluation.imaging import png
from harness.launcher import Deployment
from tests.http_helpers import ready_worker_pids, upload
from tests.malformed import BadRequest, corpus

CONCURRENCY = 8
REQUEST_TIMEOUT = 30.0  # a hang would show as a timeout here
MEMORY_GROWTH_LIMIT_MB = 300  # the whole stack (Java, workers, proxy) after vs before


async def send_all(url: str, requests: list[BadRequest]) -> list[tuple[int, Any]]:
    gate = asyncio.Semaphore(CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(bad: BadRequest) -> tuple[int, Any]:
            async with gate, session.post(url, data=bad.body, headers={"Content-Type": bad.content_type}) as answer:
                text = await answer.text()
                try:
                    return answer.status, json.loads(text)
                except ValueError:
                    return answer.status, text  # not JSON: the assertion below will say so

        return await asyncio.gather(*(one(bad) for bad in requests))


@pytest.mark.slow
def test_malformed_uploads_get_4xx_json_and_break_nothing(deployment: Deployment, mnist_pixels, mnist_test):
    requests = list(corpus(mnist_pixels))
    assert len(requests) >= 500
    by_category: dict[str, list[BadRequest]] = collections.defaultdict(list)
    for bad in requests:
        by_category[bad.category].append(bad)
    workers, memory_before = ready_worker_pids(deployment), deployment.rss_mb()
    assert workers, "no READY worker to begin with"
    tally: collections.Counter[tuple[str, int]] = collections.Counter()
    for index, (category, batch) in enumerate(by_category.items()):
        answers = asyncio.run(send_all(f"{deployment.proxy}/classify", batch))
        for bad, (status, body) in zip(batch, answers, strict=True):
            tally[category, status] += 1
            assert isinstance(body, dict), f"{category}: not JSON: {status} {body!r}"
            if bad.may_classify and status == 200:
                assert 0 <= body["predicted_digit"] <= 9
                continue
            assert 400 <= status < 500 and isinstance(body.get("error"), str), f"{category}: {status} {body}"
        # A valid request right after each category still gets the right answer.
        status, body = upload(f"{deployment.proxy}/classify", png(mnist_pixels[index]))
        assert status == 200 and body["predicted_digit"] == int(mnist_test.labels[index]), category
    assert ready_worker_pids(deployment) == workers, "a TorchServe worker died or was replaced"
    growth = deployment.rss_mb() - memory_before
    print(f"\n{len(requests)} malformed requests; memory growth {growth:.0f} MB; (category, status): count")
    for (category, status), count in sorted(tally.items()):
        print(f"  {category:28s} {status}: {count}")
    assert growth < MEMORY_GROWTH_LIMIT_MB
