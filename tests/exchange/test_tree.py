"""The streaming reader of encoded directory trees agrees with json.loads.

The reference below is the plain reading (json.loads, then per file path and
base64 checks); the streaming reader must give the same files or the same error
for every input, wherever the input is cut into chunks.
"""

import base64
import binascii
import json

import pytest

from ngshare.exchange import codec, tree
from ngshare.exchange.wire import is_legal_path, stage_files
from ngshare.storage import BlobStore
from ngshare.web import ApiError


def reference(text: bytes):
    try:
        entries = json.loads(text)
    except ValueError:
        return "Files cannot be JSON decoded"
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return "Files cannot be JSON decoded"
    out, files, dirs = [], set(), set()
    for e in entries:
        path = e.get("path")
        if not is_legal_path(path) or path in files or path in dirs:
            return "Illegal path"
        parents = {path.rsplit("/", k)[0] for k in range(1, path.count("/") + 1)}
        if parents & files:  # a file where this path needs a directory
            return "Illegal path"
        files.add(path)
        dirs |= parents
        content = e.get("content")
        if not isinstance(content, str):
            return "Content cannot be base64 decoded"
        try:
            raw = bytes(b for b in content.encode("ascii") if b not in b" \t\n\r\x0b\x0c")
            out.append((path, binascii.a2b_base64(raw, strict_mode=True)))
        except ValueError:
            return "Content cannot be base64 decoded"
    return out


def streamed(text: bytes, store, cut: int):
    chunks = (text[i : i + cut] for i in range(0, len(text), cut))
    try:
        staged = stage_files(chunks, store)
    except ApiError as e:
        return e.message
    result = [(f.path, open(f.blob.temp_path, "rb").read()) for f in staged]
    store.discard([f.blob for f in staged])
    return result


BIG = base64.b64encode(bytes(range(256)) * 600).decode()  # > LONG_STRING_BYTES
CASES = [
    json.dumps([{"path": "a.txt", "content": "aGVsbG8="}]),
    json.dumps([{"path": "a.txt", "content": BIG}, {"path": "d/b", "content": ""}]),
    json.dumps([{"content": BIG, "path": "late/path.bin"}]),
    json.dumps([{"path": "a", "content": base64.encodebytes(b"x" * 70000).decode()}]),
    json.dumps([{"path": "a", "content": base64.encodebytes(bytes(range(256)) * 300).decode()}]),
    json.dumps([{"path": "a", "content": base64.encodebytes(b"y" * 70000).decode()[:-3]}]),
    json.dumps([{"path": "a", "content": base64.encodebytes(b"z" * 70000).decode() + "\\n"}]),
    json.dumps([{"path": "a", "content": base64.encodebytes(b"w" * 70000).decode() + "\t"}]),
    json.dumps([{"path": "a", "content": BIG[:-1]}]),  # broken padding
    json.dumps([{"path": "a", "content": BIG + "=="}]),
    json.dumps([{"path": "a", "content": BIG[:1000] + "==" + BIG[1000:]}]),
    json.dumps([{"path": "../x", "content": BIG}]),
    json.dumps([{"path": "x" * 70000, "content": "YQ=="}]),
    json.dumps([{"path": "a", "content": BIG}, {"path": "a", "content": "YQ=="}]),
    json.dumps([{"path": "a", "content": BIG}, {"path": "a/b", "content": "YQ=="}]),
    json.dumps([{"path": "d/e/f", "content": BIG}, {"path": "d/e", "content": "YQ=="}]),
    json.dumps([{"path": "d/e/f", "content": "YQ=="}, {"path": "d/g", "content": "YQ=="}]),
    json.dumps([{"path": "a", "content": "!!!!"}]),
    json.dumps([{"path": "a", "content": BIG + "!"}]),
    json.dumps([{"path": "a\\b", "content": "YQ=="}]),
    json.dumps([{"path": "\ud800", "content": "YQ=="}]),
    json.dumps([{"path": "n" * 256, "content": "YQ=="}]),
    json.dumps([{"path": "d/" + "\u00e9" * 128, "content": "YQ=="}]),
    json.dumps([{"path": "a", "content": "\u00e9" * 40000}]),
    json.dumps([{"path": "a", "content": "YQ==", "checksum": "whatever", "x": [1, {"y": BIG}]}]),
    json.dumps({"path": "a", "content": "YQ=="}),
    '[{"path": "a", "content": "' + BIG + '"',  # unterminated
    '[{"path": "a", "content": "' + BIG[:5000] + "\n" + BIG[5000:] + '"}]',  # raw newline
    '[{"path": "a", "content": "' + BIG.replace("A", "\\u0041", 3) + '"}]',
    '[{"path": "a", "content": "' + BIG + '\\"}]',
    "",
    "   ",
    "[]",
    # several files are staged side by side: errors must still come in file order
    json.dumps([{"path": "a", "content": "!!"}, {"path": "../x", "content": "YQ=="}]),
    json.dumps([{"path": "a", "content": BIG}, {"path": "../x", "content": BIG}]),
    json.dumps(
        [
            {"path": "a", "content": BIG},
            {"path": "b", "content": BIG[:-1]},
            {"path": "../c", "content": BIG},
        ]
    ),
    json.dumps([{"path": "a", "content": BIG}, {"path": "b", "content": 5}, {"path": "c"}]),
    json.dumps([{"path": f"f{i}", "content": BIG[: 4 * (i + 1) * 1000]} for i in range(7)]),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("cut", [1 << 20, 4096, 777])
@pytest.mark.parametrize("memory_bytes", [8 << 20, 100_000], ids=["in-memory", "spilled"])
def test_streamed_reading_agrees_with_the_reference(tmp_path, monkeypatch, case, cut, memory_bytes):
    monkeypatch.setattr(tree, "MEMORY_BYTES", memory_bytes)
    text = CASES[case].encode()
    store = BlobStore(tmp_path / "store")
    assert streamed(text, store, cut) == reference(text)
    assert list(store.tmp.iterdir()) == []  # nothing left behind either way


def test_long_strings_are_spooled_not_held(tmp_path, monkeypatch):
    monkeypatch.setattr(tree, "MEMORY_BYTES", 100_000)
    text = json.dumps([{"path": "a", "content": BIG}]).encode()
    skeleton = tree.split_long_strings([text], str(tmp_path))
    assert len(skeleton.text) < 200 and len(skeleton.longs) == 1
    assert skeleton.longs[0].memory is None and skeleton.longs[0].path  # spilled to disk
    assert skeleton.longs[0].raw() == BIG.encode()
    skeleton.close()
    assert list(tmp_path.iterdir()) == []


def test_canonical_content_in_memory_is_decoded_once_when_complete(tmp_path):
    data = bytes(range(256)) * 300
    wrapped = base64.encodebytes(data).decode()
    other_escape = wrapped.replace("/", "\\/", 1)  # JSON's \/ is a slash too: inspected
    text = (
        json.dumps([{"path": "a", "content": BIG}, {"path": "b", "content": wrapped}])[:-1]
        + ', {"path": "c", "content": "'
        + other_escape.replace("\n", "\\n")
        + '"}]'
    )
    assert [e["content"] for e in json.loads(text)][1:] == [wrapped, wrapped]
    skeleton = tree.split_long_strings([text.encode()], str(tmp_path))
    canonical, line_wrapped, escaped = skeleton.longs
    assert canonical.decoded == base64.b64decode(BIG)  # checked and decoded in one step
    assert list(canonical.base64_chunks()) == [canonical.decoded]
    assert line_wrapped.decoded == data and line_wrapped.has_escape  # \n escapes dropped
    assert escaped.decoded is None and escaped.has_escape and escaped.valid  # inspected
    assert b"".join(escaped.base64_chunks() or [codec.decode(escaped.text())]) == data
    skeleton.close()


TRICKY = [
    r'[{"path": "a\\\\b", "content": "YW\nJj\/ZA=="}]',  # escaped backslash (illegal), \n, \/
    r'[{"path": "a\/b", "content": "YW\nJj\/ZA=="}]',
    r'[{"path": "q\"uote", "content": "YQ=="}]',
    r'[{"path": "x", "content": "YWJjYWJj\\"}]',  # an escaped backslash right before the quote
    r'[{"path": "x", "content": "YWJjYWJj\\\"}]',  # ... then an escaped quote: unterminated
    r'[{"path": "x", "content": "YWJj\u0059\u0051=="}]',
    r'[{"path": "\u0078", "content": "\u0059\u0051=="}]',
]


@pytest.mark.parametrize("case", range(len(TRICKY)))
def test_escapes_across_every_chunk_boundary(tmp_path, monkeypatch, case):
    monkeypatch.setattr(tree, "LONG_STRING_BYTES", 7)  # values are long, keys ("content") not
    text = TRICKY[case].encode()
    expected = reference(text)
    for cut in range(1, len(text) + 1):
        store = BlobStore(tmp_path / f"s{cut}")
        assert streamed(text, store, cut) == expected, cut


def test_a_refused_multi_file_upload_leaves_no_staged_files(tmp_path):
    store = BlobStore(tmp_path / "blobs")
    text = json.dumps(
        [{"path": "a", "content": BIG}, {"path": "b", "content": BIG}, {"path": "c", "content": 5}]
    ).encode()
    with pytest.raises(ApiError, match="base64"):
        stage_files(iter([text]), store)
    assert list(store.tmp.iterdir()) == []


@pytest.mark.parametrize(
    "ts",
    [
        "2026-01-02 03:04:05",
        "2026-11-26 23:59:59.999999",
        "2000-02-29 12:00:00.000001",
        "0999-01-01 01:01:01.000005",
    ],
)
def test_timestamps_are_formatted_like_strftime(ts):
    from datetime import datetime

    from ngshare.exchange.wire import TIMESTAMP_FORMAT, format_timestamp

    when = datetime.fromisoformat(ts)
    assert format_timestamp(when) == when.strftime(TIMESTAMP_FORMAT) + " UTC"


def _regex_reference(raw: bytes) -> bytes | None:
    text = raw.replace(b"\\n", b"")  # what the regex does, written the plain way
    return None if b"\\" in text else text


@pytest.mark.parametrize("seed", range(4))
def test_line_break_fast_path_agrees_with_plain_removal(seed):
    """Fixed-width lines lose their breaks by slicing; any other text goes the general way.

    Wrapped base64 of every length (64- and 76-wide lines), the same with one
    byte changed, and short strings of backslashes and n's: the result is the
    one removing every ``\\n`` gives, and the fast path does take the wrapped ones.
    """
    import random

    rng = random.Random(seed)
    alphabet = [b"A", b"b", b"\\", b"n", b"=", b"\\n"]
    taken = 0
    for i in range(3000):
        if i % 2:
            data = rng.randbytes(rng.randint(0, 400))
            if rng.random() < 0.3:  # PEM-style 64-character lines
                flat = base64.b64encode(data)
                wrapped = b"".join(flat[k : k + 64] + b"\n" for k in range(0, len(flat), 64))
            else:
                wrapped = base64.encodebytes(data)
            raw = wrapped.replace(b"\n", b"\\n")
            if raw and rng.random() < 0.5:
                k = rng.randrange(len(raw))
                raw = raw[:k] + rng.choice(alphabet) + raw[k + 1 :]
        else:
            raw = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        got = tree._without_newline_escapes(raw)
        assert (None if got is None else bytes(got)) == _regex_reference(raw), raw
        taken += tree._without_line_breaks(raw) is not None
    assert taken > 1000  # the wrapped inputs went the fast way


def test_line_break_fast_path_leaves_escaped_backslashes_to_the_general_way():
    # "\\n" is an escaped backslash then n: not a line break, whatever the spacing
    raw = b"AAAA\\nAAAA\\\\n"
    assert tree._without_newline_escapes(raw) is None
    assert tree._without_newline_escapes(b"AAAA\\nBBBB\\nCC\\n") == b"AAAABBBBCC"
