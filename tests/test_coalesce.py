"""The proxy's coalescing of concurrent uploads (proxy/coalesce.py), against a recording TorchServe stand-in."""

from __future__ import annotations

import asyncio

import pytest

from model.image_batch import Buffer
from proxy.coalesce import ARRIVAL_TURNS, EXPIRY_CHECK, OVERLOADED, Answer, Coalescer

FAR = float("inf")  # a deadline that never passes


def plain(coalescer: Coalescer, data: bytes):
    return coalescer.classify(data, False, FAR)


class Upstream:
    """Answers each image with its own bytes; records each request's images and the peak concurrency."""

    def __init__(self, fail_on: bytes | None = None) -> None:
        self.requests: list[list[bytes]] = []
        self.kinds: list[tuple[bool, float]] = []  # each request's (explain, deadline)
        self.running = self.peak = 0
        self.fail_on = fail_on
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, images: list[Buffer], explain: bool, deadline: float) -> list[Answer]:
        self.requests.append([bytes(data) for data in images])
        self.kinds.append((explain, deadline))
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await self.gate.wait()
            await asyncio.sleep(0)
            if self.fail_on in images:
                raise ConnectionError("upstream went away")
            return [(200, {"echo": bytes(data).decode()}) for data in images]
        finally:
            self.running -= 1


def run(
    upstream: Upstream, uploads: list[bytes], max_images: int = 32, max_in_flight: int = 2, max_waiting: int = 1024
) -> list:
    async def main() -> list:
        coalescer = Coalescer(
            upstream.send,
            max_images=max_images,
            max_bytes=1_000_000,
            max_in_flight=max_in_flight,
            max_waiting=max_waiting,
        )
        return await asyncio.gather(*(plain(coalescer, data) for data in uploads), return_exceptions=True)

    return asyncio.run(main())


def uploads(count: int) -> list[bytes]:
    return [str(index).encode() for index in range(count)]


def test_a_lone_upload_goes_at_once_and_alone():
    upstream = Upstream()
    assert run(upstream, [b"7"]) == [(200, {"echo": "7"})]
    assert upstream.requests == [[b"7"]]


def test_uploads_arriving_together_are_spread_over_the_free_slots_in_order():
    upstream = Upstream()
    answers = run(upstream, uploads(10), max_in_flight=2)
    assert [len(images) for images in upstream.requests] == [5, 5]  # one request per TorchServe worker
    assert [data for images in upstream.requests for data in images] == uploads(10)
    assert answers == [(200, {"echo": str(index)}) for index in range(10)]  # each client gets its own answer


def test_requests_never_exceed_the_image_cap_or_the_in_flight_limit():
    upstream = Upstream()
    answers = run(upstream, uploads(100), max_images=8, max_in_flight=3)
    assert max(len(images) for images in upstream.requests) == 8
    assert upstream.peak <= 3
    assert answers == [(200, {"echo": str(index)}) for index in range(100)]


def test_uploads_queued_behind_a_busy_slot_go_together_when_one_frees():
    async def main() -> list[list[bytes]]:
        upstream = Upstream()
        coalescer = Coalescer(upstream.send, max_images=32, max_bytes=1_000_000, max_in_flight=1, max_waiting=1024)
        upstream.gate.clear()
        first = asyncio.ensure_future(plain(coalescer, b"first"))
        await asyncio.sleep(0.01)  # "first" is now with the (stalled) upstream
        later = [asyncio.ensure_future(plain(coalescer, data)) for data in uploads(6)]
        await asyncio.sleep(0.01)
        upstream.gate.set()
        await asyncio.gather(first, *later)
        return upstream.requests

    assert asyncio.run(main()) == [[b"first"], uploads(6)]


def test_an_upload_arriving_a_few_loop_turns_later_joins_the_request():
    async def main() -> list[list[bytes]]:
        upstream = Upstream()
        coalescer = Coalescer(upstream.send, max_images=32, max_bytes=1_000_000, max_in_flight=1, max_waiting=1024)
        first = asyncio.ensure_future(plain(coalescer, b"first"))
        for _ in range(4):  # well within the slot's ARRIVAL_TURNS
            await asyncio.sleep(0)
        await asyncio.gather(first, plain(coalescer, b"second"))
        return upstream.requests

    assert ARRIVAL_TURNS >= 8
    assert asyncio.run(main()) == [[b"first", b"second"]]


@pytest.mark.parametrize("gap_turns", [1, 3, 7, 20])
def test_staggered_arrivals_never_make_an_empty_request(gap_turns):
    """Two slots waiting their turns for the same uploads: the one that finds none left sends nothing."""

    async def main() -> list:
        upstream = Upstream()
        coalescer = Coalescer(upstream.send, max_images=32, max_bytes=1_000_000, max_in_flight=2, max_waiting=1024)
        answers = []
        for data in uploads(30):
            answers.append(asyncio.ensure_future(plain(coalescer, data)))
            for _ in range(gap_turns):
                await asyncio.sleep(0)
        await asyncio.gather(*answers)
        return upstream.requests

    requests = asyncio.run(main())
    assert all(requests), "an empty request was sent"
    assert [data for images in requests for data in images] == uploads(30)


def test_a_failed_request_fails_only_its_own_uploads():
    upstream = Upstream(fail_on=b"3")
    answers = run(upstream, uploads(10), max_in_flight=2)  # requests [0..4] and [5..9]
    assert all(isinstance(answer, ConnectionError) for answer in answers[:5])
    assert answers[5:] == [(200, {"echo": str(index)}) for index in range(5, 10)]


@pytest.mark.parametrize("max_in_flight", [1, 2, 4])
def test_every_upload_is_answered_under_any_slot_count(max_in_flight):
    upstream = Upstream()
    assert len(run(upstream, uploads(37), max_images=4, max_in_flight=max_in_flight)) == 37
    assert [data for images in upstream.requests for data in images] == uploads(37)


def test_past_the_waiting_limit_an_upload_gets_a_503_at_once_and_the_queue_is_served():
    upstream = Upstream()
    answers = run(upstream, uploads(10), max_in_flight=1, max_waiting=4)
    assert answers[:4] == [(200, {"echo": str(index)}) for index in range(4)]
    assert answers[4:] == [OVERLOADED] * 6
    assert OVERLOADED[0] == 503 and "retry" in OVERLOADED[1]["error"]


def stalled_coalescer(upstream: Upstream, max_waiting: int = 1024) -> Coalescer:
    upstream.gate.clear()
    return Coalescer(upstream.send, max_images=32, max_bytes=1_000_000, max_in_flight=1, max_waiting=max_waiting)


def test_an_upload_whose_client_has_gone_is_dropped_before_it_is_sent():
    async def main() -> list[list[bytes]]:
        upstream = Upstream()
        coalescer = stalled_coalescer(upstream)
        first = asyncio.ensure_future(plain(coalescer, b"first"))
        await asyncio.sleep(0.01)  # "first" is with the stalled upstream; the others wait
        gone = asyncio.ensure_future(plain(coalescer, b"gone"))
        kept = asyncio.ensure_future(plain(coalescer, b"kept"))
        await asyncio.sleep(0)
        gone.cancel()  # what aiohttp does to a request whose client disconnects, or a deadline
        upstream.gate.set()
        await asyncio.gather(first, kept)
        return upstream.requests

    assert asyncio.run(main()) == [[b"first"], [b"kept"]]


def test_explained_uploads_share_the_queue_and_its_bound_but_travel_apart():
    async def main() -> tuple[list, list]:
        upstream = Upstream()
        coalescer = stalled_coalescer(upstream, max_waiting=3)
        first = asyncio.ensure_future(plain(coalescer, b"first"))
        await asyncio.sleep(0.01)
        waiting = [
            asyncio.ensure_future(coalescer.classify(b"e1", True, 5.0)),
            asyncio.ensure_future(plain(coalescer, b"p1")),
            asyncio.ensure_future(coalescer.classify(b"e2", True, 7.0)),
            asyncio.ensure_future(coalescer.classify(b"e3", True, 9.0)),  # the fourth waiting: over the bound
        ]
        await asyncio.sleep(0.01)
        upstream.gate.set()
        answers = await asyncio.gather(first, *waiting)
        return answers, list(zip(upstream.requests, upstream.kinds, strict=True))

    answers, requests = asyncio.run(main())
    assert answers[-1] == OVERLOADED  # one bound for both kinds, not one each
    assert requests == [([b"first"], (False, FAR)), ([b"e1", b"e2"], (True, 7.0)), ([b"p1"], (False, FAR))]


def test_uploads_past_their_deadline_fail_whether_waiting_or_being_sent():
    """One deadline per upload, queue and TorchServe together: a stalled TorchServe does not hold an
    upload past it, and the request being sent does not wait for the others' later deadlines."""

    async def main() -> tuple[list, float]:
        upstream = Upstream()
        coalescer = stalled_coalescer(upstream)
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent = asyncio.ensure_future(plain(coalescer, b"sent"))  # goes to the stalled upstream
        sent_soon = coalescer.classify(b"sent, short", False, started + 0.2)
        await asyncio.sleep(0)
        waiting = coalescer.classify(b"waiting", False, started + 0.3)
        answers = await asyncio.gather(sent_soon, waiting, return_exceptions=True)
        elapsed = loop.time() - started
        upstream.gate.set()
        await sent
        return answers, elapsed

    answers, elapsed = asyncio.run(main())
    assert all(isinstance(answer, TimeoutError) for answer in answers)
    assert elapsed <= 0.3 + EXPIRY_CHECK + 0.1
