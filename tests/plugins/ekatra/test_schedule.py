"""When steps are due: local time of day per timezone, DST gaps and overlaps, shortened days."""

from __future__ import annotations

from datetime import date, datetime, time

from ngshare_ekatra.schedule import (
    anchor_date,
    compress,
    days_to_shift,
    due_at,
    exists_locally,
    zone,
)

NEW_YORK = zone("America/New_York")


def due(
    step,
    tz,
    start=datetime(2030, 3, 8, 14, 30),
    at=time(9, 30),
    total=5,
    day_seconds=86400,
    shift=0,
):
    return due_at(
        step,
        start=start,
        at=at,
        tz=tz,
        anchor=anchor_date(start, at, tz),
        shift_days=shift,
        total_days=total,
        day_seconds=day_seconds,
    )


def test_a_day_keeps_its_local_time_of_day_across_spring_forward():
    # 09:30 EST is 14:30 UTC; from 2030-03-10 09:30 EDT is 13:30 UTC
    assert [due(n, NEW_YORK) for n in (1, 2, 3, 4)] == [
        datetime(2030, 3, 8, 14, 30),
        datetime(2030, 3, 9, 14, 30),
        datetime(2030, 3, 10, 13, 30),
        datetime(2030, 3, 11, 13, 30),
    ]
    assert due(6, NEW_YORK) == due(5, NEW_YORK)  # the closing message comes with the last day


def test_a_time_in_the_gap_moves_forward_and_a_repeated_time_is_the_first():
    gap = due(1, NEW_YORK, start=datetime(2030, 3, 10, 5, 0), at=time(2, 30))
    assert gap == datetime(2030, 3, 10, 7, 30)  # 03:30 EDT
    assert not exists_locally(datetime(2030, 3, 10, 2, 30), NEW_YORK)
    overlap = due(1, NEW_YORK, start=datetime(2030, 11, 3, 4, 0), at=time(1, 30))
    assert overlap == datetime(2030, 11, 3, 5, 30)  # 01:30 EDT, the first of the two
    assert exists_locally(datetime(2030, 11, 3, 1, 30), NEW_YORK)


def test_day_one_is_the_first_local_time_not_before_the_start():
    start = datetime(2030, 3, 8, 14, 30)
    assert anchor_date(start, time(9, 30), NEW_YORK) == date(2030, 3, 8)
    # in Kolkata 09:30 of 8 March is long past at 14:30 UTC (20:00 IST)
    assert anchor_date(start, time(9, 30), zone("Asia/Kolkata")) == date(2030, 3, 9)


def test_a_shortened_day_compresses_around_the_start():
    start = datetime(2030, 1, 1, 12, 0)
    assert compress(datetime(2030, 1, 2, 12, 0), start, 60) == datetime(2030, 1, 1, 12, 1)
    assert compress(datetime(2030, 1, 1, 18, 0), start, 120) == datetime(2030, 1, 1, 12, 0, 30)
    assert compress(datetime(2030, 1, 5), start, 86400) == datetime(2030, 1, 5)
    assert due(0, NEW_YORK, day_seconds=60, shift=2) == datetime(2030, 3, 8, 14, 32)


def test_resuming_shifts_by_whole_days_just_enough():
    due_then = datetime(2030, 1, 2, 9, 0)
    assert days_to_shift(due_then, datetime(2030, 1, 2, 8, 0), 86400) == 0
    assert days_to_shift(due_then, datetime(2030, 1, 2, 9, 0), 86400) == 0
    assert days_to_shift(due_then, datetime(2030, 1, 2, 9, 1), 86400) == 1
    assert days_to_shift(due_then, datetime(2030, 1, 4, 9, 0), 86400) == 2
    assert days_to_shift(due_then, datetime(2030, 1, 2, 9, 3), 60) == 3


def test_timezone_names_are_checked():
    for bad in ("", "IST", "Mars/Olympus", "../etc/passwd", " UTC", None, "x" * 65):
        try:
            zone(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
    assert zone("Asia/Kolkata").key == "Asia/Kolkata"
