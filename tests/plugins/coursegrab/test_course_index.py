"""The course index's gram table finds exactly what scanning every key finds, and can be off."""

from __future__ import annotations

import random

import pytest
from ngshare_coursegrab.catalog import search_key
from ngshare_coursegrab.course_index import GRAM, CourseIndex, _Entry, _ranked, _snapshot

from .test_endpoints import keys, search


def entries(subjects: int = 30, per_subject: int = 30) -> tuple[_Entry, ...]:
    """Keys shaped like a roster's: subject, number, title (some short, some repetitive)."""
    rng = random.Random(7)
    words = ["INTRO", "TO", "DATA", "LINEAR", "ALGEBRA", "AAA", "X", "PHYSICS", "3110"]
    out, pk = [], 0
    for s in range(subjects):
        subject = "CS" if s == 0 else f"S{s:02d}"
        for n in range(per_subject):
            pk += 1
            title = " ".join(rng.choice(words) for _ in range(rng.randrange(0, 4)))
            out.append(_Entry(pk, subject, 1000 + n, search_key(subject, 1000 + n, title)))
    out.sort(key=lambda e: (e.subject_code, e.course_num, e.pk))
    return tuple(out)


def test_the_gram_table_matches_exactly_what_a_scan_matches():
    table = _snapshot(1, None, entries(), grams=True)  # type: ignore[arg-type]
    scan = _snapshot(1, None, entries(), grams=False)  # type: ignore[arg-type]
    assert table.grams is not None and scan.grams is None
    rng = random.Random(11)
    queries = {"CS", "CS1001", "S051020", "1001", "AAA", "AAAA", "ALGEBRA", "ZZZ", "X", "3110"}
    queries |= {"CS3110", "S01", "1", "10", "INTROTO", "DATALINEAR", "É", "ÉÉÉ", "S0"}
    for entry in rng.sample(table.entries, 40):  # pieces of real keys, every length
        start = rng.randrange(len(entry.search_key))
        queries.add(entry.search_key[start : start + rng.randrange(1, 12)])
        queries.add(entry.search_key)
    assert any(len(q) < GRAM for q in queries) and any(len(q) >= GRAM for q in queries)
    for query in sorted(queries):
        assert table.matching(query) == scan.scan(query), query
        assert _ranked(table, query, 20) == _ranked(scan, query, 20), query
    assert table.matching("CS1001") and not table.matching("ZZZ")


def test_keys_shorter_than_a_gram_are_still_found():
    short = (_Entry(1, "A", 1, "A1"), _Entry(2, "B", 22, "B22"), _Entry(3, "C", 3, "C3X"))
    table = _snapshot(1, None, short, grams=True)  # type: ignore[arg-type]
    for query in ("A", "A1", "B22", "22", "C3X", "3X", "A1B"):
        assert table.matching(query) == table.scan(query), query


@pytest.fixture(params=[True, False], ids=["grams", "scan"])
def provider_settings(request):
    """The server's ``c.CourseGrab.search_grams_enabled`` (merged by the ``server`` fixture)."""
    return {"CourseGrab": {"search_grams_enabled": request.param}}


@pytest.mark.gen_test
async def test_searches_answer_the_same_with_the_table_on_or_off(cg, server, provider_settings):
    on = provider_settings["CourseGrab"]["search_grams_enabled"]
    assert keys(await search(cg, "cs 3110"))[0] == ("CS", 3110)
    assert keys(await search(cg, "CS3110")) == [("CS", 3110)]
    assert keys(await search(cg, "3110")) == [("CS", 3110)]
    assert keys(await search(cg, "linear")) == [("MATH", 2940)]
    assert keys(await search(cg, "Data Structures")) == [("CS", 3110)]
    assert keys(await search(cg, "cs")) == [("CS", 2110), ("CS", 3110), ("PHYS", 1112)]
    assert keys(await search(cg, "ics")) == [("PHYS", 1112)]
    assert keys(await search(cg, "zzz")) == []
    snapshot = server.state(CourseIndex)._snapshot
    assert snapshot is not None and (snapshot.grams is not None) is on
