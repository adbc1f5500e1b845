"""What the proxy accepts as multipart/form-data (proxy/multipart.py, python-multipart underneath):
the bodies that clients send, and the malformed ones a review found, each pinned."""

from __future__ import annotations

import random

import pytest
import requests

from proxy.multipart import MultipartError, Part, boundary_of, encode_files, parse_parts

FORM = 'Content-Disposition: form-data; name="image"; filename="d.png"\r\nContent-Type: image/png\r\n\r\n'


def body(*parts: str | bytes, boundary: str = "abc", closing: str = "--\r\n") -> bytes:
    chunks = [f"--{boundary}\r\n".encode() + (p.encode() if isinstance(p, str) else p) + b"\r\n" for p in parts]
    return b"".join(chunks) + f"--{boundary}{closing}".encode()


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ("multipart/form-data; boundary=abc", b"abc"),
        ('multipart/form-data; boundary="a b;c"', b"a b;c"),  # quoted: spaces and semicolons allowed
        ("Multipart/Form-Data; Boundary=abc", b"abc"),  # names are case-insensitive
        ("multipart/form-data; charset=utf-8; boundary=abc", b"abc"),
    ],
)
def test_boundaries_that_clients_send(content_type: str, boundary: bytes):
    assert boundary_of(content_type) == boundary


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-datax; boundary=abc",  # another type that starts the same
        "multipart/form-data; fooboundary=abc",  # another parameter that ends the same
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + "x" * 71,  # RFC 2046: at most 70 characters
        "multipart/mixed; boundary=abc",
        "image/png",
        "",
    ],
)
def test_content_types_that_are_refused(content_type: str):
    with pytest.raises(MultipartError):
        boundary_of(content_type)


def test_what_requests_encodes_comes_back_part_by_part():
    files = [("image", ("a.png", b"\x89PNG first\r\n--not-a-boundary")), ("note", (None, b"hi")), ("image", ("b", b""))]
    prepared = requests.Request("POST", "http://x/", files=files).prepare()
    parts = parse_parts(prepared.body, boundary_of(prepared.headers["Content-Type"]), 16)
    assert parts == [Part("image", b"\x89PNG first\r\n--not-a-boundary"), Part("note", b"hi"), Part("image", b"")]


def test_field_names_quoted_unquoted_and_escaped():
    named = [
        'Content-Disposition: form-data; name="image"\r\n\r\nA',
        "Content-Disposition: form-data; name=image\r\n\r\nB",
        'Content-Disposition: form-data; filename="image"; name="im\\"age"\r\n\r\nC',  # name, not filename
        "content-disposition: FORM-DATA; NAME=image\r\n\r\nD",
    ]
    parts = parse_parts(body(*named), b"abc", 16)
    assert [(part.name, part.data) for part in parts] == [
        ("image", b"A"),
        ("image", b"B"),
        ('im"age', b"C"),
        ("image", b"D"),
    ]


def test_a_part_without_a_usable_name_has_none():
    """RFC 7578 defines no ``name*=``; a part without headers has no name either. The proxy then
    answers 400 "missing file field 'image'" (tests/malformed.py)."""
    parts = parse_parts(body("Content-Disposition: form-data; name*=UTF-8''image\r\n\r\nA", "\r\nB"), b"abc", 16)
    assert parts == [Part(None, b"A"), Part(None, b"B")]


def test_an_epilogue_is_ignored_and_an_empty_form_has_no_parts():
    assert parse_parts(body(FORM + "X", closing="--\r\nepilogue"), b"abc", 16) == [Part("image", b"X")]
    assert parse_parts(b"--abc--\r\n", b"abc", 16) == []


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("truncated in a part", body(FORM + "data")[:-12]),
        ("no closing boundary", b"--abc\r\n" + FORM.encode() + b"data"),
        ("empty body", b""),
        ("another boundary", body(FORM + "data", boundary="xyz")),
        ("a preamble (RFC 2046 allows one; no browser, curl or requests sends it)", b"hello\r\n" + body(FORM + "x")),
        (
            "a folded header line (obsolete since RFC 7230)",
            body('Content-Disposition: form-data;\r\n name="image"\r\n\r\nA'),
        ),
        ("a header line without a colon", body("not a header\r\n\r\nA")),
        ("over the part limit", body(*[FORM + "x"] * 17)),
    ],
)
def test_malformed_bodies_are_refused(name: str, raw: bytes):
    with pytest.raises(MultipartError):
        parse_parts(raw, b"abc", 16)


def test_encode_files_round_trips_any_bytes():
    """What the load generator and the tests send: 1,000 random forms, binary data that may hold
    CRLF and dashes, through the encoder and back."""
    rng = random.Random(0)
    alphabet = b"\r\n-abc\x00\xff"
    for _ in range(1000):
        fields = [
            (rng.choice(["image", "note", "x y"]), bytes(rng.choice(alphabet) for _ in range(rng.randrange(40))))
            for _ in range(rng.randrange(1, 5))
        ]
        raw, content_type = encode_files(fields, "d.png", "image/png")
        assert parse_parts(raw, boundary_of(content_type), 16) == [Part(name, data) for name, data in fields]


def test_a_part_is_a_view_of_the_body_not_a_copy():
    """The proxy holds each upload once (proxy/budget.py): the image part lies in the body it came in."""
    image = bytes(range(256)) * 400
    raw, content_type = encode_files([("image", image)], "d.png", "image/png")
    body = bytearray(raw)
    [part] = parse_parts(body, boundary_of(content_type), 16)
    assert isinstance(part.data, memoryview) and part.data.obj is body and part.data == image
