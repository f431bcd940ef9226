"""The fast base64 codec means exactly what the standard library's strict decoder means,
once whitespace (the line breaks of ``encodebytes``) is dropped."""

import base64
import binascii
import os
import random

import pytest

from ngshare.exchange import codec

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
FOREIGN = b" \n\r\t*-_.\\\x00\xff"


def _stdlib(data):
    try:
        raw = data.encode("ascii") if isinstance(data, str) else data
        raw = bytes(b for b in raw if b not in b" \t\n\r\x0b\x0c")
        return "ok", binascii.a2b_base64(raw, strict_mode=True)
    except ValueError as e:
        return "error", ValueError if isinstance(e, UnicodeError) else type(e)


def _ours(data):
    try:
        return "ok", codec.decode(data)
    except ValueError as e:
        return "error", ValueError if isinstance(e, UnicodeError) else type(e)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "QQ==",
        "QR==",
        "QUI=",
        "QUJ=",
        "Q",
        "QQ",
        "QQ=",
        "====",
        "QQ==QQ==",
        "Q Q = =",
        "QUJD\nREVG",
        "QUJD\\nREVG",
        "é",
        "QUJD*",
        "!!!!",
        "QUJD=QUJD",
        "QQ=a",
        " QQ==\r\n",
    ],
)
def test_edge_cases_decode_as_the_stdlib_does(text):
    assert _ours(text) == _stdlib(text)
    assert _ours(text.encode("utf-8")) == _stdlib(text.encode("utf-8"))


def test_random_near_base64_decodes_as_the_stdlib_does():
    rng = random.Random(20261126)
    for _ in range(20000):
        if rng.random() < 0.5:
            pool = ALPHABET if rng.random() < 0.6 else ALPHABET + FOREIGN
            data = bytes(rng.choice(pool) for _ in range(rng.randrange(0, 24)))
        else:  # real base64, sometimes with one character changed
            data = bytearray(base64.b64encode(rng.randbytes(rng.randrange(0, 30))))
            if data and rng.random() < 0.5:
                data[rng.randrange(len(data))] = rng.choice(ALPHABET + FOREIGN)
            data = bytes(data)
        assert _ours(data) == _stdlib(data), data


def test_large_content_round_trips():
    data = os.urandom(3 * 1024 * 1024 + 1)
    encoded = codec.encode(data)
    assert encoded == base64.b64encode(data)
    assert codec.decode(encoded) == data
    assert codec.decode(bytearray(encoded)) == data
    assert codec.decode(encoded.decode("ascii")) == data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("QUJD\nREVG\n", b"ABCDEF"),  # encodebytes, as ngshare 0.6's clients send
        ("QUJD\r\nREVG", b"ABCDEF"),
        (" QQ== ", b"A"),
        ("", b""),
    ],
)
def test_whitespace_is_skipped(text, expected):
    assert codec.decode(text) == expected


@pytest.mark.parametrize("text", ["!!!!", "QQ==QQ==", "====", "QUJD*", "QUJD=QUJD", "QQ-_"])
def test_what_is_no_files_encoding_is_refused(text):
    """ngshare 0.6 skipped foreign characters: "!!!!" was an empty file."""
    with pytest.raises(ValueError):
        codec.decode(text)
