"""The benchmark driver still works: a tiny run of every workload against our server.

Not a performance test. It keeps benchmarks/ from rotting as the API evolves:
every phase must complete with no errors, every download must match what was
uploaded, and the server's CPU and peak RSS must have been read.
"""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.deadline import DeadlineConfig
from benchmarks.driver import NotBuilt, drive
from benchmarks.metrics import pid_listening_on
from tests.servers import running_server

DEADLINE_PHASES = [
    "create_course", "enrol_bulk", "release", "fetch", "submit", "list_submissions",
    "collect", "release_feedback", "fetch_feedback",
]
TINY = DeadlineConfig(
    students=3, concurrency=2, notebooks=2, notebook_bytes=5_000, data_bytes=20_000,
    feedback_bytes=2_000,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("bench"), "--NgShare.max_body_bytes=200000") as url:
        yield url


def _run(url: str, workload: str, **kw):
    pid = pid_listening_on(int(url.rsplit(":", 1)[1]))
    return asyncio.run(drive(url, workload, server_pid=pid, deadline=TINY, **kw))


def test_deadline_workload(server):
    results = _run(server, "deadline")
    assert [r.name for r in results] == DEADLINE_PHASES
    for r in results:
        assert r.ops > 0 and r.errors == 0, (r.name, r.error_texts)
        assert r.server_cpu is not None and r.server_peak_rss_mib > 0
    by_name = {r.name: r for r in results}
    # 2 notebooks + the data file per fetch; 2 notebooks per collect and feedback
    assert by_name["fetch"].verified_files == 3 * 3
    assert by_name["collect"].verified_files == 3 * 2
    assert by_name["fetch_feedback"].verified_files == 3 * 2
    assert by_name["list_submissions"].notes["listed"] == 3


def test_bigfile_workload(server):
    results = _run(server, "bigfile", sizes=[50_000])
    assert [r.name for r in results] == ["release_50000B", "fetch_50000B"]
    assert all(r.errors == 0 for r in results), [r.error_texts for r in results]
    assert results[1].verified_files == 1


def test_limit_probe_gets_json_413(server):
    (result,) = _run(server, "limit", limit_probe_bytes=300_000, server_limit=200_000)
    assert result.errors == 0, result.error_texts
    assert result.notes["status"] == 413 and result.notes["json"]


def test_auth_workload_is_a_clear_hook():
    with pytest.raises(NotBuilt, match="JupyterHub"):
        asyncio.run(drive("http://127.0.0.1:9", "auth"))
