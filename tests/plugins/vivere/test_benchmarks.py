"""The Vivere benchmarks still run: a tiny fan-out and a tiny queue run (not performance tests)."""

from __future__ import annotations

from benchmarks import vivere_fanout, vivere_queue


def test_a_tiny_fanout_delivers_every_announcement_to_every_subscriber():
    result = vivere_fanout.run(subscribers=6, announcements=3, interval=0.01, workers=2)
    assert (result["connected"], result["delivered"], result["expected"]) == (6, 18, 18)
    assert result["latency_ms"]["p50"] > 0
    assert result["server_rss_mib"]["peak"] >= result["server_rss_mib"]["idle"] > 0


def test_a_tiny_queue_run_handles_every_ticket():
    result = vivere_queue.run(tickets=12, concurrency=4, auth="token", postgresql=None)
    assert result["tickets"] == 12
    assert set(result["latency_ms"]) == {"create", "claim", "close"}
