"""The CourseGrab benchmark still runs: a tiny poll and search run (not a performance test)."""

from __future__ import annotations

from benchmarks import coursegrab


def test_a_tiny_run_hands_every_notification_over():
    result = coursegrab.run(
        sections=100,
        users=20,
        pairs=80,
        searches=40,
        concurrency=4,
        per_subject=20,
        poll_interval=10,  # the poll comes within 10 s (60, the default, waits for its window)
    )
    assert result["messages_expected"] > 0
    assert result["messages_sent"] == result["messages_expected"]
    assert result["poll_to_handover_seconds"] >= 0
    assert result["search_ms"]["n"] == 40 and result["healthz_during_poll_ms"]["n"] > 0
