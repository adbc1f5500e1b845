"""The proxy's buffered access log (proxy/access_log.py)."""

from __future__ import annotations

import asyncio
import io
import re

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from proxy import access_log
from proxy.access_log import AccessLogBuffer, access_logger_class

LINE = re.compile(
    r'^(?P<remote>\S+) - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "(?P<request>[^"]*)" (?P<status>\d{3}) '
    r'(?P<size>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" (?P<seconds>\d+\.\d{6})$'
)


def log_one(logger, user_agent: str = "curl/8.5.0") -> None:
    request = make_mocked_request("POST", "/classify?x=1", headers={"User-Agent": user_agent})
    logger.log(request, web.Response(body=b"0123456789", status=413), 0.0042)


def test_lines_are_in_combined_log_format_and_written_after_the_flush_delay(monkeypatch):
    monkeypatch.setattr(access_log, "FLUSH_SECONDS", 0.05)
    stream = io.StringIO()

    async def main() -> tuple[str, str]:
        buffer = AccessLogBuffer(stream)
        logger = access_logger_class(buffer)(None, "")
        log_one(logger)
        log_one(logger, 'evil" 200 "injected')
        before = stream.getvalue()
        await asyncio.sleep(0.2)
        return before, stream.getvalue()

    before, after = asyncio.run(main())
    assert before == ""  # one write for many lines, not one per request
    lines = after.splitlines()
    assert len(lines) == 2
    fields = LINE.match(lines[0]).groupdict()
    assert fields["request"] == "POST /classify?x=1 HTTP/1.1"
    assert (fields["status"], fields["agent"], fields["seconds"]) == ("413", "curl/8.5.0", "0.004200")
    assert LINE.match(lines[1]).group("agent") == r"evil\x22 200 \x22injected"  # a client cannot forge fields


def test_a_full_buffer_is_written_at_once(monkeypatch):
    monkeypatch.setattr(access_log, "FLUSH_BYTES", 500)
    stream = io.StringIO()

    async def main() -> int:
        logger = access_logger_class(AccessLogBuffer(stream))(None, "")
        for _ in range(10):
            log_one(logger)
        return len(stream.getvalue().splitlines())

    assert 1 <= asyncio.run(main()) < 10


def test_a_passing_readiness_probe_is_not_logged_and_a_failing_one_is():
    stream = io.StringIO()

    async def main() -> None:
        buffer = AccessLogBuffer(stream)
        logger = access_logger_class(buffer)(None, "")
        for status in (200, 503):
            logger.log(make_mocked_request("GET", "/healthz"), web.Response(status=status), 0.001)
        logger.log(make_mocked_request("GET", "/"), web.Response(status=200), 0.001)
        buffer.flush()

    asyncio.run(main())
    lines = [LINE.match(line) for line in stream.getvalue().splitlines()]
    logged = [(line["request"], line["status"]) for line in lines]
    assert logged == [("GET /healthz HTTP/1.1", "503"), ("GET / HTTP/1.1", "200")]


def test_a_flush_writes_whole_lines_in_pipe_sized_pieces():
    """Several proxy processes share stdout: each write must be whole lines, small enough to stay whole."""
    lines = [f"line {n} {'x' * (n % 300)}\n" for n in range(400)]
    chunks = list(access_log.whole_line_chunks(lines, access_log.ATOMIC_WRITE))
    assert "".join(chunks) == "".join(lines)
    assert all(len(chunk) <= access_log.ATOMIC_WRITE and chunk.endswith("\n") for chunk in chunks)
    assert list(access_log.whole_line_chunks(["y" * 5000 + "\n"], 4096)) == ["y" * 5000 + "\n"]
    # Sizes are bytes: lines of three-byte characters fill a chunk three times faster than ASCII ones.
    wide = ["€" * 99 + "\n"] * 100
    chunks = list(access_log.whole_line_chunks(wide, access_log.ATOMIC_WRITE))
    assert "".join(chunks) == "".join(wide)
    assert all(len(chunk.encode()) <= access_log.ATOMIC_WRITE for chunk in chunks)
