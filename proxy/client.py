"""Command-line client: ``python -m proxy.client IMAGE... [--url URL] [--json] [--best-guess]``.

Sends each file to ``POST /classify`` and prints its predicted digit and top probabilities as a
table (or, with ``--json``, the answers as JSON). Exit status: 0 when every file was read as a digit;
3 when every file was, except some that the model says are not a digit (their best digit is shown);
1 when any file was refused for another reason (not an image, no digit found...); 2 when the service
could not be reached. ``--best-guess`` asks for the best digit even where the model says "not a
digit". Built on ``requests`` (pinned in requirements.txt), the library a Python user of the service
reaches for: ``classify`` is the three-line example of the README.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import requests

DEFAULT_URL = os.environ.get("GOCLASSIFY_URL", "http://127.0.0.1:8000/classify")
TOP = 3  # probabilities shown per file
TIMEOUT = 60.0
NOT_A_DIGIT = "not a digit"
EXIT_NOT_A_DIGIT = 3


def classify(url: str, path: Path, best_guess: bool = False) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON answer) for one file; raises requests.ConnectionError if the service is unreachable."""
    params = {"best_guess": "1"} if best_guess else None
    with path.open("rb") as image:
        answer = requests.post(url, files={"image": (path.name, image)}, params=params, timeout=TIMEOUT)
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, {"error": answer.reason}


def is_not_a_digit(status: int, answer: dict[str, Any]) -> bool:
    return status == 422 and answer.get("error") == NOT_A_DIGIT


def table_row(name: str, status: int, answer: dict[str, Any]) -> str:
    if status != 200 and not is_not_a_digit(status, answer):
        return f"{name:<28} {'error':<6} HTTP {status}: {answer.get('error', '?')}"
    top = sorted(answer["probabilities"].items(), key=lambda item: item[1], reverse=True)[:TOP]
    shown = "  ".join(f"{digit} {100 * p:5.1f}%" for digit, p in top)
    if status != 200:
        return f"{name:<28} {'none':<6} not a digit (a digit needs {100 * answer['refuse_below']:.0f}%): {shown}"
    return f"{name:<28} {answer['predicted_digit']:<6} {shown}"


def exit_status(statuses: list[tuple[int, dict[str, Any]]]) -> int:
    if all(status == 200 for status, _ in statuses):
        return 0
    if all(status == 200 or is_not_a_digit(status, answer) for status, answer in statuses):
        return EXIT_NOT_A_DIGIT
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proxy.client", description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, GIF, BMP, WebP)")
    parser.add_argument("--url", default=DEFAULT_URL, help="the service's /classify (env GOCLASSIFY_URL)")
    parser.add_argument("--json", action="store_true", help="print the answers as JSON")
    parser.add_argument(
        "--best-guess", action="store_true", help="the best digit even for what the model says is not a digit"
    )
    args = parser.parse_args(argv)
    results = []
    for path in args.images:
        try:
            if path.is_file():
                status, answer = classify(args.url, path, args.best_guess)
            else:
                status, answer = 0, {"error": "no such file"}
        except requests.RequestException as exc:
            print(f"error: cannot reach {args.url}: {exc}", file=sys.stderr)
            return 2
        results.append((path, status, answer))
    if args.json:
        print(json.dumps([{"file": str(p), "status": s, "answer": a} for p, s, a in results], indent=2))
    else:
        print(f"{'file':<28} {'digit':<6} top probabilities")
        for path, status, answer in results:
            print(table_row(path.name, status, answer))
    return exit_status([(status, answer) for _, status, answer in results])


if __name__ == "__main__":
    sys.exit(main())
