"""The proxy's multipart parser (proxy/multipart.py) against python-multipart, the well-kept library,
fed the whole body: per call, and on the ``/classify`` hot path in paired rounds.

``python -m bench.multipart`` starts one TorchServe and two proxies in front of it, the shipped one
and one whose ``parse_parts`` is :func:`parse_with_python_multipart`, and measures them in turn at
32 clients (ABBA order, so that drift hits both alike). docs/benchmarks.md has the figures and the
decision. :func:`parse_with_python_multipart` is also the reference of the differential test
(tests/test_multipart.py).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import sys
import timeit

from python_multipart.multipart import MultipartParser, parse_options_header

from bench.loadgen import multipart_request, run_load
from evaluation.imaging import png
from proxy.multipart import MultipartError, Part, encode_files, parse_parts
from scripts import serve
from scripts.serve import ROOT
from train.data import load_split, prepare_mnist

LIBRARY_FLAG = "--serve-with-python-multipart"


def parse_with_python_multipart(body: bytes, boundary: bytes, max_parts: int) -> list[Part]:
    """``parse_parts``' contract (parts in order, the field name from Content-Disposition, at most
    ``max_parts``) on python-multipart's parser, fed the whole body at once."""
    parts: list[Part] = []
    chunks: list[bytes] = []
    headers: dict[bytes, bytes] = {}
    field, value = bytearray(), bytearray()

    def on_part_begin() -> None:
        if len(parts) == max_parts:
            raise MultipartError(f"too many form fields (over {max_parts})")
        chunks.clear()
        headers.clear()

    def on_header_end() -> None:
        headers[bytes(field).strip().lower()] = bytes(value)
        field.clear()
        value.clear()

    def on_part_end() -> None:
        name = None
        if b"content-disposition" in headers:
            raw = parse_options_header(headers[b"content-disposition"])[1].get(b"name")
            name = None if raw is None else raw.decode("utf-8", "replace")
        parts.append(Part(name, b"".join(chunks)))

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_part_data": lambda data, start, end: chunks.append(data[start:end]),
        "on_part_end": on_part_end,
        "on_header_field": lambda data, start, end: field.extend(data[start:end]),
        "on_header_value": lambda data, start, end: value.extend(data[start:end]),
        "on_header_end": on_header_end,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    parser.write(body)
    parser.finalize()
    return parts


def per_call(files: dict[str, bytes]) -> None:
    for name, data in files.items():
        body, content_type = encode_files([("image", data)], "upload", "application/octet-stream")
        boundary = content_type.split("boundary=")[1].encode()
        for parser in (parse_parts, parse_with_python_multipart):
            call = functools.partial(parser, body, boundary, 16)
            seconds = min(timeit.repeat(call, number=500, repeat=5)) / 500
            print(f"{name} ({len(body):,} B), {parser.__name__}: {1e6 * seconds:.1f} µs per call")


def start_library_proxy(deployment: serve.Deployment) -> tuple[subprocess.Popen[bytes], str]:
    port = serve.free_port()
    command = [
        sys.executable, "-m", "bench.multipart", LIBRARY_FLAG, "--port", str(port),
        "--inference-url", deployment.inference, "--management-url", deployment.management,
        "--torchserve-key-file", str(serve.key_file(deployment.run_dir)),
    ]  # fmt: skip
    with (deployment.run_dir / "proxy-python-multipart.log").open("ab") as log:  # as the other proxy's
        process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    serve.wait_for_listen(port, process)
    return process, f"http://127.0.0.1:{port}/classify"


def paired_rounds(urls: dict[str, str], files: list[bytes], rounds: int, seconds: float) -> dict[str, list[float]]:
    requests = {name: [multipart_request(url, data) for data in files] for name, url in urls.items()}
    for name, url in urls.items():
        run_load("warm-up", url, requests[name], 32, 2.0)
    names = list(urls)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            result = run_load(name, urls[name], requests[name], 32, seconds, settle=1.0)
            assert result.errors == 0, result
            rates[name].append(result.throughput)
            print(f"round {round_ + 1}: {name:<17} {result.throughput:>7.0f} req/s  p99 {result.p99_ms:.1f} ms")
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    prepare_mnist(ROOT / "data")
    test = load_split(ROOT / "data", train=False)
    files = [png(pixels) for pixels in test.pixels()[:2000]]
    per_call({"a 28x28 MNIST PNG": files[0], "a 3 MB photo-sized body": bytes(range(256)) * 12_000})
    with serve.serving_current_sources() as deployment:
        library, library_url = start_library_proxy(deployment)
        try:
            urls = {"proxy/multipart.py": f"{deployment.proxy}/classify", "python-multipart": library_url}
            rates = paired_rounds(urls, files, args.rounds, args.seconds)
        finally:
            serve.stop(library)
    ours, theirs = (statistics.median(rates[name]) for name in urls)
    print(f"medians: ours {ours:.0f}, python-multipart {theirs:.0f} req/s: {theirs / ours:.3f}x")
    return 0


def serve_with_library(argv: list[str]) -> None:
    """The proxy, with python-multipart parsing its uploads (the other side of the comparison)."""
    import proxy.app
    from proxy.__main__ import main as proxy_main

    proxy.app.parse_parts = parse_with_python_multipart  # type: ignore[assignment]
    sys.argv = ["python -m proxy", *argv]
    proxy_main()


if __name__ == "__main__":
    if sys.argv[1:2] == [LIBRARY_FLAG]:
        serve_with_library(sys.argv[2:])
    else:
        sys.exit(main())
