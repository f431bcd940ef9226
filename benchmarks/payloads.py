"""What the benchmark uploads: realistic notebooks, data and feedback, pre-encoded.

nbgrader's exchange clients send files as base64 inside a JSON list inside a
``application/x-www-form-urlencoded`` body (``requests`` with ``data=``), so
that is what we send. Bodies are built *before* a phase starts: the driver
shares two cores with the server, and percent-encoding megabytes in Python
inside the timed window would measure the client, not the server.

Everything is deterministic (seeded), so two servers get byte-identical input.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import zlib
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote_plus

#: Characters ``quote_plus`` leaves alone.
_SAFE = frozenset(string.ascii_letters + string.digits + "_.-~")
#: What a solution cell says before a student answers it.
ANSWER_MARK = "# YOUR CODE HERE\\nraise NotImplementedError()"


@dataclass
class Blob:
    """One file as uploaded: path, content and the md5 the server should report."""

    path: str
    data: bytes

    @cached_property
    def md5(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()

    @cached_property
    def b64(self) -> str:
        """The canonical base64 text (no newlines): what a download is compared with."""
        return base64.b64encode(self.data).decode("ascii")


def pct(text: str) -> str:
    """``quote_plus`` for ASCII text, ~10x faster on base64 (a few ``str.replace``).

    ``quote_plus`` walks the string byte by byte in Python (~30 MB/s); base64
    only ever needs ``+ / =`` escaped, so replacing the few distinct unsafe
    characters is much cheaper. Non-ASCII text falls back to ``quote_plus``.
    """
    if not text.isascii():
        return quote_plus(text)
    unsafe = set(text) - _SAFE
    if "%" in unsafe:
        text = text.replace("%", "%25")
    for ch in sorted(unsafe - {"%", " "}):
        text = text.replace(ch, f"%{ord(ch):02X}")
    if " " in unsafe:
        text = text.replace(" ", "+")
    return text


def files_field(blobs: list[Blob], *, line_wrapped: bool = False) -> bytes:
    """The percent-encoded value of a ``files`` form field.

    ``line_wrapped`` uses ``base64.encodebytes`` (newline every 76 chars), as
    nbgrader's release_feedback does; otherwise ``b64encode`` as submit does.
    """
    pieces = ["["]
    for i, b in enumerate(blobs):
        b.md5  # noqa: B018 - computed now, outside any timed phase, for checking later
        if line_wrapped:
            content = base64.encodebytes(b.data).decode("ascii").replace("\n", "\\n")
        else:
            content = b.b64
        pieces.append((", " if i else "") + '{"path": ' + json.dumps(b.path) + ', "content": "')
        pieces.append(content)
        pieces.append('"}')
    pieces.append("]")
    return "".join(pct(p) for p in pieces).encode("ascii")


def form(fields: dict[str, str], raw: dict[str, bytes] | None = None) -> bytes:
    """A urlencoded body from plain fields plus already-encoded ones (``raw``)."""
    return b"".join(form_pieces(fields, raw))


def form_pieces(fields: dict[str, str], raw: dict[str, bytes] | None = None) -> list[bytes]:
    """:func:`form`'s body in pieces, the ``raw`` values among them as they are.

    A transport that writes pieces one after the other sends an 800 KB
    submission without joining it into a new buffer twice per request.
    """
    head = "&".join(f"{pct(k)}={pct(v)}" for k, v in fields.items())
    pieces = [head.encode()] if head else []
    for k, v in (raw or {}).items():
        pieces.append(f"{'&' if pieces else ''}{pct(k)}=".encode())
        pieces.append(v)
    return pieces


# -- content ---------------------------------------------------------------


def random_bytes(size: int, seed: int) -> bytes:
    """Incompressible content of a data file (seeded, so identical on every run)."""
    rng = random.Random(seed)
    chunk = 64 << 20  # randbytes() is limited to 2**31 bits per call
    return b"".join(rng.randbytes(min(chunk, size - i)) for i in range(0, size, chunk))


def _words(rng: random.Random, n: int) -> str:
    vocab = (
        "the data model error sample mean variance function value plot compute "
        "array matrix student answer result test cell input output figure loss"
    ).split()
    return " ".join(rng.choice(vocab) for _ in range(n))


def _nbgrader_meta(grade_id: str, *, solution: bool, grade: bool, points: int = 0) -> dict:
    return {
        "nbgrader": {
            "cell_type": "code",
            "checksum": hashlib.md5(grade_id.encode()).hexdigest(),
            "grade": grade,
            "grade_id": grade_id,
            "locked": not solution,
            "points": points,
            "schema_version": 3,
            "solution": solution,
            "task": False,
        }
    }


def notebook_template(index: int, target_bytes: int, seed: int = 1) -> str:
    """An nbgrader-style notebook (``nbformat`` 4.5, indent 1) of about ``target_bytes``.

    Markdown, code with stream and ``image/png`` outputs, solution cells
    holding :data:`ANSWER_MARK` (students replace it) and autograder tests.
    """
    rng = random.Random(seed * 1000 + index)
    cells: list[dict] = []
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    q = 0
    while len(json.dumps(nb, indent=1)) < target_bytes:
        q += 1
        cells.append(
            {
                "cell_type": "markdown",
                "id": f"md-{index}-{q}",
                "metadata": {},
                "source": [f"## Question {q}\n", "\n", _words(rng, 80) + "\n"],
            }
        )
        png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(4000, 9000)))
        cells.append(
            {
                "cell_type": "code",
                "execution_count": q,
                "id": f"demo-{index}-{q}",
                "metadata": {},
                "outputs": [
                    {"name": "stdout", "output_type": "stream", "text": [_words(rng, 40) + "\n"]},
                    {
                        "data": {
                            "image/png": png.decode(),
                            "text/plain": ["<Figure size 640x480 with 1 Axes>"],
                        },
                        "metadata": {},
                        "output_type": "display_data",
                    },
                ],
                "source": [f"x = np.linspace(0, {q}, 100)\n", "plt.plot(x, np.sin(x))\n"],
            }
        )
        cells.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"sol-{index}-{q}",
                "metadata": _nbgrader_meta(f"q{q}-solution", solution=True, grade=False),
                "outputs": [],
                "source": [f"def answer_{q}(data):\n", "    " + "ANSWER_MARK"],
            }
        )
        cells.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"test-{index}-{q}",
                "metadata": _nbgrader_meta(f"q{q}-test", solution=False, grade=True, points=2),
                "outputs": [],
                "source": [f"assert answer_{q}([1, 2, 3]) == {q}\n"],
            }
        )
    return json.dumps(nb, indent=1).replace('"    ANSWER_MARK"', '"    ' + ANSWER_MARK + '"')


def answered(template: str, student: str) -> bytes:
    """The notebook as ``student`` submits it: every solution cell filled in."""
    answer = f"result = sum(data)  # by {student}\\n    return result"
    return template.replace(ANSWER_MARK, answer).encode()


def feedback_html(student: str, notebook: str, target_bytes: int) -> bytes:
    """An nbconvert-like feedback page of about ``target_bytes`` for one student."""
    head = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{notebook}</title><style>body{{font-family:sans-serif}}</style></head><body>\n"
        f"<h1>Feedback for {student}: {notebook}</h1>\n"
    )
    rng = random.Random(zlib.crc32(f"{student}/{notebook}".encode()))
    rows = []
    size = len(head)
    i = 0
    while size < target_bytes:
        i += 1
        row = (
            f"<div class='cell'><pre>In [{i}]: {_words(rng, 12)}</pre>"
            f"<p class='score'>{rng.randint(0, 2)} / 2 points</p></div>\n"
        )
        rows.append(row)
        size += len(row)
    return (head + "".join(rows) + "</body></html>\n").encode()
