"""Wire timestamps: the fast parse of our own form agrees with strptime on everything."""

import random
from datetime import datetime

import pytest

from ngshare.exchange.wire import TIMESTAMP_FORMAT, format_timestamp, parse_timestamp


def _strptime(text: str) -> datetime | None:
    text = text.strip().removesuffix(" UTC")
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26 23:49:06.123456",
        "2026-11-26 23:49:06.123456 UTC",
        "  2026-11-26 23:49:06.000001 UTC ",
        "2026-11-26 23:49:06.1",  # strptime takes 1-6 fraction digits
        "2026-11-26T23:49:06.123456",  # fromisoformat would take these; strptime does not
        "2026-W48-4 23:49:06.123456",
        "2026-11-26 23:49:06,123456",
        "2026-11-26 24:00:00.000000",
        "2026-02-30 12:00:00.000000",
        "2026-11-26 23:59:60.000000",
        "２０２６-11-26 23:49:06.123456",  # non-ASCII digits
        "2026-11-26 23:49:06.123456+00:00",
        "",
        "garbage",
    ],
)
def test_parse_agrees_with_strptime(text):
    assert parse_timestamp(text) == _strptime(text)


def test_parse_agrees_with_strptime_on_random_canonical_shapes():
    rng = random.Random(5)
    for _ in range(5000):
        digits = [str(rng.randrange(10)) for _ in range(20)]
        d = "".join(digits)
        text = f"{d[0:4]}-{d[4:6]}-{d[6:8]} {d[8:10]}:{d[10:12]}:{d[12:14]}.{d[14:20]}"
        assert parse_timestamp(text) == _strptime(text), text
    for _ in range(2000):  # and on real dates
        when = datetime(2000, 1, 1) + (datetime(2100, 1, 1) - datetime(2000, 1, 1)) * rng.random()
        text = when.isoformat(" ", "microseconds")
        assert parse_timestamp(text) == _strptime(text) == when


def test_what_we_write_reads_back():
    now = datetime(2026, 11, 26, 23, 49, 6, 120)
    assert parse_timestamp(format_timestamp(now)) == now
