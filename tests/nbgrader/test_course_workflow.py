"""A whole course through the real ``nbgrader`` commands and the ngshare plugin.

kevin (instructor) generates and releases ps1; alice submits a correct
answer, bob a wrong one (and later a right one, after the due date), carol
nothing. kevin collects (plain, ``--update``, ``--before-duedate``),
autogrades, generates and releases feedback; the students fetch it. Each
step checks files, the server's state and the gradebook, not only exit codes.
The tests are the steps of one course: they run in file order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from tests.nbgrader.conftest import COURSE, run_together

pytestmark = pytest.mark.integration

SOLUTION = """\
def squares(n):
    ### BEGIN SOLUTION
    return [i * i for i in range(1, n + 1)]
    ### END SOLUTION"""
CORRECT = "def squares(n):\n    return [i * i for i in range(1, n + 1)]"
WRONG = "def squares(n):\n    return list(range(n))"


def nbgrader_cell(cell, **meta):
    cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "task": False, **meta}
    return cell


def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("Write `squares(n)`: the squares of 1..n."),
        nbgrader_cell(
            nbformat.v4.new_code_cell(SOLUTION), grade_id="squares", solution=True, grade=False
        ),
        nbgrader_cell(
            nbformat.v4.new_code_cell("assert squares(3) == [1, 4, 9]"),
            grade_id="test_squares",
            solution=False,
            grade=True,
            points=2,
            locked=True,
        ),
    ]
    return nb


def answer(notebook: Path, code: str) -> None:
    """What a student does: replace the solution cell's stub with their code."""
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    assert "raise NotImplementedError" in cell.source
    cell.source = code
    nbformat.write(nb, notebook)


def solution_of(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))


def listing(person, *args: str) -> list[dict]:
    """``nbgrader list --json ...`` as the plugin prints it."""
    return json.loads(person.run("list", "--json", *args).stdout)


def decoded(entry: dict) -> bytes:
    return base64.b64decode(entry["content"])


@pytest.fixture(scope="module")
def state():
    """What later steps need from earlier ones (timestamps, due date)."""
    return {}


def test_instructor_generates_and_releases(classroom):
    kevin = classroom["kevin"]
    source = kevin.cwd / "source" / "ps1"
    source.mkdir(parents=True)
    nbformat.write(source_notebook(), source / "problem1.ipynb")
    (source / "data.csv").write_text("n,square\n3,9\n")
    kevin.run("generate_assignment", "ps1")
    kevin.run("release_assignment", "ps1")

    files = classroom.client("kevin").get_assignment(COURSE, "ps1")
    assert sorted(f["path"] for f in files) == ["data.csv", "problem1.ipynb"]
    released = decoded(next(f for f in files if f["path"] == "problem1.ipynb")).decode()
    assert "raise NotImplementedError" in released
    assert "BEGIN SOLUTION" not in released


def test_release_of_an_existing_assignment_needs_force(classroom):
    kevin = classroom["kevin"]
    done = kevin.run("release_assignment", "ps1", ok=False)
    assert done.returncode != 0
    assert "Destination already exists, add --force to overwrite: course1 ps1" in done.stderr

    # --force deletes and re-releases (on a copy, ps2, to keep ps1's future submissions)
    shutil.copytree(kevin.cwd / "release" / "ps1", kevin.cwd / "release" / "ps2")
    kevin.run("release_assignment", "ps2")
    (kevin.cwd / "release" / "ps2" / "errata.txt").write_text("fixed")
    kevin.run("release_assignment", "ps2", "--force")
    paths = [f["path"] for f in classroom.client("kevin").get_assignment(COURSE, "ps2", True)]
    assert sorted(paths) == ["data.csv", "errata.txt", "problem1.ipynb"]

    # list --remove unreleases it
    kevin.run("list", "ps2", "--remove")
    assert classroom.client("alice").list_assignments(COURSE) == ["ps1"]


def test_student_lists_released_assignments_of_all_courses(classroom):
    assert listing(classroom["alice"]) == [
        {
            "course_id": COURSE,
            "assignment_id": "ps1",
            "status": "released",
            "notebooks": [{"notebook_id": "problem1"}],
        }
    ]


def test_students_fetch_and_fetch_does_not_overwrite(classroom):
    alice, bob, carol = classroom["alice"], classroom["bob"], classroom["carol"]
    fetch = ("fetch_assignment", "ps1", "--course", COURSE)
    run_together((alice, fetch), (bob, fetch), (carol, fetch))
    for person in (alice, bob, carol):
        assert (person.cwd / "ps1" / "data.csv").read_text() == "n,square\n3,9\n"

    [info] = listing(alice, "--course", COURSE)
    assert info["status"] == "fetched"
    assert info["path"] == str(alice.cwd / "ps1")
    assert info["notebooks"] == [
        {"notebook_id": "problem1", "path": str(alice.cwd / "ps1" / "problem1.ipynb")}
    ]

    again = alice.run(*fetch, ok=False)
    assert again.returncode != 0
    assert "You already have a copy of the assignment in this directory: ps1" in again.stderr

    answer(alice.cwd / "ps1" / "problem1.ipynb", CORRECT)
    (alice.cwd / "ps1" / "data.csv").unlink()
    alice.run(*fetch, "--replace")
    assert (alice.cwd / "ps1" / "data.csv").exists()
    assert solution_of(alice.cwd / "ps1" / "problem1.ipynb") == CORRECT


def test_failures_exit_non_zero_with_the_servers_message(classroom):
    alice = classroom["alice"]
    release = alice.cwd / "release" / "ps9"
    release.mkdir(parents=True)
    (release / "x.txt").write_text("x")
    attempt = alice.start("release_assignment", "ps9", "--course", COURSE)
    missing = alice.start("fetch_assignment", "nope", "--course", COURSE)
    attempt, missing = attempt.result(), missing.result()
    assert attempt.returncode != 0
    assert "Permission denied (not course instructor)" in attempt.stderr
    assert missing.returncode != 0
    assert "Assignment not found" in missing.stderr
    assert not (alice.cwd / "nope").exists()
    assert classroom.client("alice").list_assignments(COURSE) == ["ps1"]


def test_students_submit(classroom, state):
    alice, bob, carol = classroom["alice"], classroom["bob"], classroom["carol"]
    checkpoints = alice.cwd / "ps1" / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "problem1-checkpoint.ipynb").write_text("{}")
    answer(bob.cwd / "ps1" / "problem1.ipynb", WRONG)
    (carol.cwd / "ps1" / "problem1.ipynb").unlink()  # carol never submits
    submit = ("submit", "ps1", "--course", COURSE)
    alice_done = alice.start(*submit)
    bob_done = bob.start(*submit)
    carol_done = carol.start(*submit, "--strict")
    for done in (alice_done.result(), bob_done.result()):
        assert done.returncode == 0, done.stderr
    carol_done = carol_done.result()
    assert carol_done.returncode != 0
    assert "There are missing notebooks for the submission" in carol_done.stderr

    kevin = classroom.client("kevin")
    entries = kevin.list_submissions(COURSE, "ps1")
    assert sorted(e["student_id"] for e in entries) == ["alice", "bob"]
    for e in entries:
        state[e["student_id"]] = e["timestamp"]
    submitted = kevin.get_submission(COURSE, "ps1", "alice")
    assert sorted(f["path"] for f in submitted["files"]) == ["data.csv", "problem1.ipynb"]

    [cached] = list((alice.home / ".local/share/jupyter/nbgrader_cache" / COURSE).iterdir())
    assert cached.name == f"alice+ps1+{state['alice']}"
    assert (cached / "timestamp.txt").read_text() == state["alice"]
    assert solution_of(cached / "problem1.ipynb") == CORRECT


def test_instructor_lists_inbound(classroom, state):
    groups = listing(classroom["kevin"], "--inbound")
    assert [(g["student_id"], len(g["submissions"])) for g in groups] == [("alice", 1), ("bob", 1)]
    first = groups[0]["submissions"][0]
    assert first["timestamp"] == state["alice"]
    assert [n["notebook_id"] for n in first["notebooks"]] == ["problem1"]
    assert (first["has_exchange_feedback"], first["has_local_feedback"]) == (False, False)


def test_collect_update_and_before_duedate(classroom, state):
    kevin, bob = classroom["kevin"], classroom["bob"]
    kevin.run("collect", "ps1")
    submitted = kevin.cwd / "submitted"
    assert sorted(os.listdir(submitted)) == ["alice", "bob"]
    assert (submitted / "alice" / "ps1" / "timestamp.txt").read_text() == state["alice"]
    assert not (submitted / "alice" / "ps1" / ".ipynb_checkpoints").exists()
    assert (submitted / "bob" / "ps1" / "timestamp.txt").read_text() == state["bob"]

    # the due date passes, then bob submits a fixed answer: late
    duedate = datetime.now(timezone.utc).replace(tzinfo=None)
    with Gradebook(f"sqlite:///{kevin.cwd / 'gradebook.db'}", COURSE) as gb:
        gb.update_or_create_assignment("ps1", duedate=duedate)
    answer_fixed = bob.cwd / "ps1" / "problem1.ipynb"
    nb = nbformat.read(answer_fixed, as_version=4)
    nb.cells[1].source = CORRECT
    nbformat.write(nb, answer_fixed)
    bob.run("submit", "ps1", "--course", COURSE)
    late = classroom.client("bob").list_submissions(COURSE, "ps1", "bob")[-1]["timestamp"]
    assert late > state["bob"]

    kevin.run("collect", "ps1", "--update")
    assert (submitted / "bob" / "ps1" / "timestamp.txt").read_text() == late
    assert solution_of(submitted / "bob" / "ps1" / "problem1.ipynb") == CORRECT

    kevin.run("collect", "ps1", "--before-duedate")
    assert (submitted / "bob" / "ps1" / "timestamp.txt").read_text() == state["bob"]
    assert solution_of(submitted / "bob" / "ps1" / "problem1.ipynb") == WRONG
    assert (submitted / "alice" / "ps1" / "timestamp.txt").read_text() == state["alice"]
    state["bob_late"] = late


def test_autograde_scores_in_the_gradebook(classroom):
    kevin = classroom["kevin"]
    kevin.run("autograde", "ps1")
    with Gradebook(f"sqlite:///{kevin.cwd / 'gradebook.db'}", COURSE) as gb:
        assert gb.find_submission("ps1", "alice").score == 2
        assert gb.find_submission("ps1", "bob").score == 0
        with pytest.raises(MissingEntry):
            gb.find_submission("ps1", "carol")


def test_feedback_is_generated_and_released(classroom, state):
    kevin = classroom["kevin"]
    kevin.run("generate_feedback", "ps1")
    html = kevin.cwd / "feedback" / "alice" / "ps1" / "problem1.html"
    assert html.exists()
    kevin.run("release_feedback", "ps1")
    client = classroom.client("kevin")
    feedback = client.get_feedback(COURSE, "ps1", "alice", state["alice"])
    assert [(f["path"], decoded(f)) for f in feedback["files"]] == [
        ("problem1.html", html.read_bytes())
    ]
    assert [
        f["path"] for f in client.get_feedback(COURSE, "ps1", "bob", state["bob"])["files"]
    ] == ["problem1.html"]
    assert client.get_feedback(COURSE, "ps1", "bob", state["bob_late"])["files"] == []


def test_students_fetch_feedback_and_list_its_flags(classroom, state):
    alice, bob, kevin = classroom["alice"], classroom["bob"], classroom["kevin"]
    [group] = listing(alice, "--cached")
    [sub] = group["submissions"]
    assert (sub["timestamp"], sub["status"]) == (state["alice"], "submitted")
    assert (sub["has_exchange_feedback"], sub["has_local_feedback"], sub["feedback_updated"]) == (
        True,
        False,
        False,
    )
    fetch = ("fetch_feedback", "ps1", "--course", COURSE)
    run_together((alice, fetch), (bob, fetch))

    instructor_html = (kevin.cwd / "feedback" / "alice" / "ps1" / "problem1.html").read_bytes()
    local = alice.cwd / "ps1" / "feedback" / state["alice"] / "problem1.html"
    assert local.read_bytes() == instructor_html
    assert sorted(os.listdir(bob.cwd / "ps1" / "feedback")) == [state["bob"]]

    [group] = listing(alice, "--cached")
    [sub] = group["submissions"]
    assert (sub["has_exchange_feedback"], sub["has_local_feedback"], sub["feedback_updated"]) == (
        True,
        True,
        False,
    )
    assert sub["local_feedback_path"] == str(local.parent)
    # per notebook, relative to assignment_dir as with nbgrader's own exchange
    assert alice.cwd / sub["notebooks"][0]["local_feedback_path"] == local

    # the instructor revises alice's feedback: her listing shows it as updated
    revised = kevin.cwd / "feedback" / "alice" / "ps1" / "problem1.html"
    revised.write_bytes(revised.read_bytes() + b"<p>See me.</p>")
    kevin.run("release_feedback", "ps1", "--student", "alice")
    [group] = listing(alice, "--cached")
    assert group["submissions"][0]["feedback_updated"] is True
    server = classroom.client("alice").get_feedback(COURSE, "ps1", "alice", state["alice"], True)
    assert server["files"][0]["checksum"] == hashlib.md5(revised.read_bytes()).hexdigest()
