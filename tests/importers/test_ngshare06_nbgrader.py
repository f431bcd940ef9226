"""After the move, ngshare 0.6's own nbgrader client works on the imported course.

A course is made on the real ngshare 0.6.0 (kevin teaches, s1 and s2 submit
twice, s1 gets feedback), imported with ``ngshare import ngshare06``, and a
real JupyterHub then runs this server as its ``ngshare`` service on the
imported data. The stock client ``ngshare_exchange`` 0.5.3 with nbgrader 0.9
lists and collects the imported submissions (kevin), lists and fetches the
imported release (s2) and fetches feedback on a submission made on the old
server (s1), through the hub with real tokens: what an instructor and a
student do the morning after the switch.
"""

from __future__ import annotations

import json

import pytest

from tests.importers import scenario as sc
from tests.importers.command_line import run_import
from tests.importers.old_server import running_ngshare06
from tests.integration import stock_client
from tests.integration.hub import running_hub
from tests.integration.test_nbgrader_hub import STOCK_CONFIG, Course, released, run, submissions
from tests.nbgrader.conftest import make_person

pytestmark = pytest.mark.integration

COURSE = "hub_import"
RELEASE = {"problem1.ipynb": b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'}


@pytest.fixture(scope="module")
def stock_client_bin():
    """nbgrader 0.9 with ngshare_exchange 0.5.3 (the integration tests' cached venv)."""
    return stock_client.stock_client_bin()


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The course made on ngshare 0.6.0, imported into a fresh data folder."""
    data = tmp_path_factory.mktemp("ngshare06-course")
    latest = {}
    with running_ngshare06(data) as old:
        client = sc.Client(old.api)
        client.ok("POST", f"course/{COURSE}", "root", instructors='["kevin"]')
        people = [
            dict(zip(sc.FIELDS, (s, s.upper(), "S", f"{s}@x.org"), strict=True))
            for s in ("s1", "s2")
        ]
        client.ok("POST", f"students/{COURSE}", "kevin", students=json.dumps(people))
        client.ok("POST", f"assignment/{COURSE}/ps1", "kevin", files=sc.files_field(RELEASE))
        for student in ("s1", "s2"):
            for attempt in ("first", "second"):
                files = {"problem1.ipynb": f"{student} {attempt}".encode(), "data.csv": b"n\n3\n"}
                body = client.ok(
                    "POST", f"submission/{COURSE}/ps1", student, files=sc.files_field(files)
                )
                latest[student] = (body["timestamp"], files)
        client.ok("POST", f"feedback/{COURSE}/ps1/s1", "kevin", timestamp=latest["s1"][0],
                  files=sc.files_field({"problem1.html": b"<p>well done</p>"}))  # fmt: skip
        target = {"url": f"sqlite:///{data / 'new.db'}", "storage": data / "new-files"}
        source = ["--from-database", old.database_url, "--from-storage", str(old.storage)]
        status, report, err = run_import(target, *source)
    assert status == 0, err
    assert report["courses"][0]["added"]["submissions"] == 4
    return target, latest


@pytest.fixture(scope="module")
def course(imported, tmp_path_factory, stock_client_bin):
    target, latest = imported
    serve = [f"--database={target['url']}", f"--storage={target['storage']}"]
    with running_hub(tmp_path_factory.mktemp("hub"), extra_args=serve) as hub:
        tokens = {name: hub.create_user(name) for name in ("kevin", "s1", "s2")}
        config = STOCK_CONFIG.format(url=hub.service_url.rstrip("/"))
        homes = tmp_path_factory.mktemp("homes")
        people = {
            name: make_person(
                homes,
                name,
                hub.service_url,
                COURSE if name == "kevin" else "",
                config=config,
                env={"JUPYTERHUB_API_TOKEN": tokens[name], "JUPYTERHUB_USER": name},
                bin_dir=str(stock_client_bin),
            )  # fmt: skip
            for name in tokens
        }
        with open(people["kevin"].cwd / "nbgrader_config.py", "a") as fh:
            fh.write(f"c.CourseDirectory.course_id = {COURSE!r}\n")
        yield Course("stock", COURSE, hub, tokens, people, state={"latest": latest})


def utc(timestamp: str) -> str:
    """ngshare 0.6.0 on SQLite sent timestamps without " UTC"; this server always adds it.

    Both name the same instant: nbgrader parses either as UTC, and this server
    looks a submission up by either form.
    """
    assert not timestamp.endswith(" UTC")
    return timestamp + " UTC"


def test_the_instructor_lists_and_collects_the_imported_submissions(course):
    latest = course.state["latest"]
    kevin = course["kevin"]
    [done] = run((kevin, ("list", "--inbound")))
    listed = submissions(course, done)
    # both attempts of both students, at ngshare 0.6's timestamps (with " UTC" here: see utc())
    assert len(listed) == 4
    assert {(s, ts) for s, ts, _ in listed} >= {(s, utc(latest[s][0])) for s in ("s1", "s2")}
    run((kevin, ("collect", "ps1")))
    for student in ("s1", "s2"):
        folder = kevin.cwd / "submitted" / student / "ps1"
        timestamp, files = latest[student]
        assert (folder / "timestamp.txt").read_text() == utc(timestamp)
        for path, content in files.items():
            assert (folder / path).read_bytes() == content


def test_a_student_lists_and_fetches_the_imported_release(course):
    s2 = course["s2"]
    [done] = run((s2, ("list", "--course", COURSE)))
    assert released(course, done) == {"ps1": "released"}
    run((s2, ("fetch_assignment", "ps1", "--course", COURSE)))
    fetched = s2.cwd / "ps1" / "problem1.ipynb"
    assert fetched.read_bytes() == RELEASE["problem1.ipynb"]


def test_a_student_fetches_feedback_for_a_submission_made_on_ngshare06(course):
    """The client's cache names the submission by ngshare 0.6.0's timestamp; that still works.

    ngshare_exchange's ``submit`` keeps a copy of each submission in the
    nbgrader cache, in a folder named ``<student>+<assignment>+<timestamp>``
    holding ``timestamp.txt`` - the timestamp ngshare 0.6.0 answered. That
    folder is made here as the client made it on the old server;
    ``fetch_feedback`` then asks this server for the feedback by that timestamp.
    """
    s1 = course["s1"]
    timestamp, files = course.state["latest"]["s1"]
    cached = s1.home / ".local/share/jupyter/nbgrader_cache" / COURSE / f"s1+ps1+{timestamp}"
    cached.mkdir(parents=True)
    for path, content in files.items():
        (cached / path).write_bytes(content)
    (cached / "timestamp.txt").write_text(timestamp)
    run((s1, ("fetch_feedback", "ps1", "--course", COURSE)))
    fetched = s1.cwd / "ps1" / "feedback" / timestamp / "problem1.html"
    assert fetched.read_bytes() == b"<p>well done</p>"
