"""The benchmark driver still works: a tiny run of every workload against our server.

Not a performance test. It keeps benchmarks/ from rotting as the API evolves:
every phase must complete with no errors, every download must match what was
uploaded, and the server's CPU and peak RSS must have been read. The ``auth``
workload runs our server in hub mode against the hub stand-in, as run.py does.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from benchmarks import auth, hub_standin, servers
from benchmarks.deadline import DeadlineConfig
from benchmarks.driver import drive
from benchmarks.metrics import pid_listening_on
from tests.servers import running_server

DEADLINE_PHASES = [
    "create_course",
    "enrol_bulk",
    "release",
    "fetch",
    "submit",
    "list_submissions",
    "collect",
    "release_feedback",
    "fetch_feedback",
]
#: The tiny workload's files, as the benchmark commands take them.
TINY_FILES_ARGS = ["--notebooks", "2", "--notebook-kb", "5", "--data-mb", "0.02"]
#: The tiny deadline workload for run.py and ab.py.
TINY_ARGS = ["--students", "3", "--concurrency", "2", *TINY_FILES_ARGS, "--feedback-kb", "2"]
TINY = DeadlineConfig(
    students=3,
    concurrency=2,
    notebooks=2,
    notebook_bytes=5_000,
    data_bytes=20_000,
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
    _check_deadline(_run(server, "deadline"))


def _check_deadline(results) -> None:
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


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_auth_workload_with_hub_standin():
    tokens = hub_standin.make_tokens(auth.users_for(TINY))
    with (
        hub_standin.running(tokens) as hub,
        servers.running("ours", hub_env=hub.service_env()) as server,
    ):
        results = asyncio.run(
            auth.drive_token(server.base_url, TINY, tokens, hub, server_pid=server.pid)
        )
        stats = hub.stats()
        # a token the hub does not know: refused by the hub, and by our server
        status, body = _get(server.base_url + "/api/courses", "not-a-hub-token")
        assert (status, body["success"]) == (401, False)
        assert hub.stats()["refused"] == 1
    _check_deadline(results)
    # the server asked the hub nothing at start-up nor between phases, only lookups
    assert sum(r.notes["hub_requests"] for r in results) == stats["requests"]
    assert sum(r.notes["hub_lookups"] for r in results) == stats["lookups"]
    assert stats["requests"] == stats["lookups"]
    # cached per token: at most one lookup per user, far fewer than requests
    assert 1 <= stats["lookups"] <= len(tokens) < sum(r.ops for r in results)


def test_hub_standin_answers_like_the_hub():
    with hub_standin.running({"alice": "a" * 64, "bob": "b" * 64}) as hub:
        api = hub.api_url
        assert _get(api + "/user", "wrong") == (403, {"status": 403, "message": "Forbidden"})
        assert _get(api + "/user")[0] == 403
        status, model = _get(api + "/user", "a" * 64)
        assert status == 200 and (model["kind"], model["name"]) == ("user", "alice")
        status, model = _get(api + "/user", hub.service_token)
        assert status == 200 and (model["kind"], model["name"]) == ("service", "ngshare")
        assert _get(api + "/users/bob", "a" * 64)[0] == 403  # a user reads only itself
        assert _get(api + "/users/bob", hub.service_token)[1]["name"] == "bob"
        assert _get(api + "/users/carol", hub.service_token)[0] == 404
        assert _get(api + "/groups", hub.service_token) == (
            404,
            {"status": 404, "message": "Not Found"},
        )
        stats = hub.stats()
        assert (stats["lookups"], stats["refused"], stats["requests"]) == (2, 2, 8)


def test_hub_standin_keeps_connections_alive_and_refuses_other_methods():
    """HubAuth's curl client reuses connections: answers arrive in order on one socket."""
    import http.client

    with hub_standin.running({"alice": "a" * 64}) as hub:
        conn = http.client.HTTPConnection(hub.url.removeprefix("http://"), timeout=10)
        try:
            answers = [
                ("a" * 64, 200, "name", "alice"),
                ("nope", 403, "status", 403),
                ("a" * 64, 200, "name", "alice"),
            ]
            for token, status, key, value in answers:
                conn.request("GET", "/hub/api/user", headers={"Authorization": "Bearer " + token})
                resp = conn.getresponse()
                body = json.loads(resp.read())
                assert resp.status == status and resp.getheader("Connection") is None
                assert body[key] == value
            conn.request(
                "POST", "/hub/api/user", body=b"{}", headers={"Authorization": "token " + "a" * 64}
            )
            resp = conn.getresponse()
            assert (resp.status, json.loads(resp.read())) == (
                405,
                {"status": 405, "message": "Method Not Allowed"},
            )
        finally:
            conn.close()
        assert hub.stats()["lookups"] == 2


def test_rounds_report_the_median_run_per_phase(tmp_path, capsys):
    from benchmarks import run

    out = tmp_path / "results.json"
    assert (
        run.main(["--workloads", "deadline", "--rounds", "3", "--json", str(out), *TINY_ARGS]) == 0
    )
    phases = json.loads(out.read_text())["results"]["ours"]["deadline"]
    assert [p["name"] for p in phases] == DEADLINE_PHASES
    for p in phases:
        rounds = p["notes"]["rounds_ops_per_s"]
        assert len(rounds) == 3 and p["errors"] == 0
        assert sorted(rounds)[1] == round(p["ops_per_s"], 1)  # the median of the three
    assert "== round 3/3" in capsys.readouterr().err


def test_ab_compares_two_revisions_of_our_server(capsys):
    from benchmarks import ab

    assert ab.main(["--base", "HEAD", "--rounds", "2", *TINY_ARGS]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert set(DEADLINE_PHASES) <= set(rows)
    for phase in DEADLINE_PHASES:
        cells = [c.strip() for c in rows[phase].split("|")[1:-1]]
        assert cells[-1] == "0" and cells[4].endswith("/2")  # no errors, 2 paired rounds


def test_file_create_cost_reports_each_folder(tmp_path, capsys):
    from benchmarks import file_create_cost

    assert file_create_cost.main([str(tmp_path), "--count", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path}: median ") and out.rstrip().endswith("ms per file creation")
    assert list(tmp_path.iterdir()) == []  # its folder is removed again


def test_collect_counts_a_wrong_answer_checked_after_the_phase():
    """Collect's answers are checked after the phase; a wrong one is still an error."""
    from benchmarks.deadline import Deadline
    from benchmarks.httpclient import Response
    from benchmarks.payloads import Blob

    good, bad = Blob("a.ipynb", b"answer one"), Blob("a.ipynb", b"answer two")

    class Api:
        async def get(self, path, user, **query):
            blob = bad if path.endswith("student0002") else good
            doc = {
                "success": True,
                "timestamp": query["timestamp"],
                "files": [{"path": blob.path, "content": blob.b64, "checksum": blob.md5}],
            }
            return Response(200, json.dumps(doc).encode(), seconds=0.001)

    run = Deadline(Api(), DeadlineConfig(students=3, concurrency=1), None)
    run.listed_ts = {s: f"ts-{s}" for s in run.cfg.student_names}
    run.submitted = {s: [good] for s in run.cfg.student_names}
    asyncio.run(run.collect())
    (result,) = run.results
    assert result.ops == 3 and result.verified_files == 2
    assert result.errors == 1 and "student0002" in result.error_texts[0]
    assert run.collected_ts == {s: f"ts-{s}" for s in run.cfg.student_names}


def _fetch_with(answer_for):
    """The fetch phase against a stand-in API whose answer per student is ``answer_for``."""
    from benchmarks.deadline import Deadline
    from benchmarks.httpclient import Response

    class Api:
        async def get(self, path, user, **query):
            return Response(200, answer_for(user, run.release), seconds=0.001)

    cfg = DeadlineConfig(
        students=3, concurrency=2, notebooks=1, notebook_bytes=2000, data_bytes=3000
    )
    run = Deadline(Api(), cfg, None)
    asyncio.run(run.fetch())
    return run.results[0]


def _release_answer(blobs, break_path=None) -> bytes:
    files = [
        {
            "path": b.path,
            "checksum": b.md5,
            "content": b.b64 if b.path != break_path else b.b64[::-1],
        }
        for b in blobs
    ]
    return json.dumps({"success": True, "files": files}).encode()


def test_fetch_checks_the_reference_answer_and_each_differing_one():
    """Copies of the first answer share its check (after the phase); others are checked alone."""
    ok = _fetch_with(
        lambda user, release: _release_answer(
            release, "problem1.ipynb" if user == "student0002" else None
        )
    )
    assert ok.ops == 3 and ok.verified_files == 2 * 2 + 1  # its data file is right
    assert ok.errors == 1 and "student0002" in ok.error_texts[0]


def test_fetch_counts_every_copy_of_a_wrong_reference_answer():
    wrong = _fetch_with(lambda user, release: _release_answer(release, "problem1.ipynb"))
    assert wrong.ops == 3 and wrong.verified_files == 0 and wrong.errors == 3
    assert "3 identical answers" in wrong.error_texts[0]


def test_ab_paired_measures_both_sequential_phases_in_two_passes(capsys):
    from benchmarks import ab_paired

    tiny = [
        *("--students", "4", "--block", "2", "--concurrency", "2"),
        *TINY_FILES_ARGS,
        *("--feedback-kb", "2"),
    ]
    assert ab_paired.main(["--base", "HEAD", *tiny]) == 0
    captured = capsys.readouterr()
    assert "== pass 2/2: set up head, then base" in captured.err
    rows = {
        line.split("|")[1].strip(): line
        for line in captured.out.splitlines()
        if line.startswith("| ")
    }
    for phase in ab_paired.PHASES:
        cells = [c.strip() for c in rows[phase].split("|")[1:-1]]
        assert float(cells[1]) > 0 and float(cells[2]) > 0
        assert len(cells[4].split(" / ")) == 2  # one paired median per pass
        assert cells[5].endswith("/4")  # 2 blocks per pass, 2 passes


def test_ab_paired_puts_ngshare06_on_the_base_side_only_when_asked(capsys):
    """The ngshare 0.6.0 side itself needs its venv from PyPI, so CI checks the wiring."""
    from benchmarks import ab_paired

    assert ab_paired.side_kinds(False) == {"base": "ours", "head": "ours"}
    assert ab_paired.side_kinds(True) == {"base": "ngshare06", "head": "ours"}
    for argv in ([], ["--base", "HEAD", "--against-ngshare06"]):
        with pytest.raises(SystemExit):  # exactly one of the two is required
            ab_paired.main(argv)
    assert "--against-ngshare06" in capsys.readouterr().err


def test_auth_paired_measures_fetch_blocks_on_both_identities_in_two_passes(capsys):
    from benchmarks import auth_paired

    tiny = ["--students", "6", "--block", "2", "--concurrency", "2", *TINY_FILES_ARGS]
    assert auth_paired.main(tiny) == 0
    captured = capsys.readouterr()
    assert "== pass 2/2: set up dev, then token" in captured.err
    row = next(line for line in captured.out.splitlines() if line.startswith("| fetch"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert float(cells[1]) > 0 and float(cells[2]) > 0 and float(cells[3]) > 0
    assert len(cells[4].split(" / ")) == 2  # one paired median per pass
    assert cells[5].endswith("/4")  # 2 measured blocks per pass (the first is a warm-up)
    assert cells[10] == "2"  # every token-side student cost one hub lookup


@pytest.mark.parametrize("client", ["fast", "hubauth"])
def test_standin_cost_asks_as_the_server_does_and_reports_both_sides(client):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "standin_cost.py"
    # its own process: it configures Tornado's HTTP client process-wide, as the server does
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--rounds",
            "2",
            "--lookups",
            "5",
            "--concurrency",
            "2",
            "--client",
            client,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["round 1", "round 2"]
    assert "5 lookups" in lines[0] and "asking side CPU" in lines[0]
    assert lines[-1].startswith("median CPU per 5 lookups: stand-in ")
