"""Large form bodies are indexed in their spool file and read back in pieces."""

import tempfile
from urllib.parse import parse_qs, urlencode

import pytest

from ngshare import forms


def spooled(body: bytes):
    f = tempfile.TemporaryFile()
    f.write(body)
    return f


@pytest.mark.parametrize("scan", [7, 64, 1 << 20])
def test_fields_match_the_standard_parser_at_any_chunk_size(monkeypatch, scan):
    monkeypatch.setattr(forms, "SCAN_BYTES", scan)
    monkeypatch.setattr(forms, "SMALL_VALUE_BYTES", 40)
    fields = [
        ("user", "kevin"),
        ("files", '[{"path": "a b/ü.txt", "content": "YQ==+/="}]' * 5),
        ("empty", ""),
        ("sp ace", "x&y=z%"),
        ("user", "second"),
    ]
    body = urlencode(fields).encode()
    form = forms.parse_spooled("application/x-www-form-urlencoded", spooled(body))
    expected = parse_qs(body.decode(), keep_blank_values=True)
    for name, values in expected.items():
        got = b"".join(form.chunks(name)).decode()
        assert got == values[-1], name
    assert "files" in form.ranges  # the long one stayed on disk
    form.close()


def test_an_escape_split_across_chunks_decodes(monkeypatch):
    monkeypatch.setattr(forms, "SCAN_BYTES", 5)
    body = b"a=" + b"%2B" * 20
    f = spooled(body)
    assert b"".join(forms.iter_value(f, 2, len(body))) == b"+" * 20


def test_multipart_bodies_are_parsed_whole():
    body = b'--XX\r\nContent-Disposition: form-data; name="user"\r\n\r\nkevin\r\n--XX--\r\n'
    form = forms.parse_spooled("multipart/form-data; boundary=XX", spooled(body))
    assert form.values["user"] == [b"kevin"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"plain",
        b"a+b%2Bc%2fd%3D",
        b"%",
        b"ab%4",
        b"a%zzb%4g",
        b"\\x41%41",
        b"\\%41",
        b"%5C%5Cx41",
        b"\\n%0a\\",
        b"%E2%82%AC%00%ff",
        bytes(range(256)).replace(b"%", b"%25"),
    ],
)
def test_percent_decoding_agrees_with_the_standard_library(raw):
    from urllib.parse import unquote_to_bytes

    assert forms._unquote_plus(raw) == unquote_to_bytes(raw.replace(b"+", b" "))


def test_percent_decoding_of_a_random_urlencoded_payload():
    import os
    import random
    from urllib.parse import quote_plus, unquote_to_bytes

    rng = random.Random(7)
    for _ in range(50):
        data = os.urandom(rng.randrange(0, 3000))
        raw = quote_plus(data).encode()
        # sprinkle malformed escapes and raw backslashes into some of them
        if rng.random() < 0.3:
            raw = raw.replace(b"A", b"%G\\", 1)
        expected = unquote_to_bytes(raw.replace(b"+", b" "))
        assert forms._unquote_plus(raw) == expected
